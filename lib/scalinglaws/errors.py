r"""Exceptions and the input-validation layer shared by the library, the CLI and the chapter runner.

Every bad input is rejected *before any work* with an error that names the parameter, its value
and the allowed range::

    K=2.5 is invalid: an integer >= 1 (got float)

Wrong values raise ``ValueError``; a wrong *type* (a string where a number is expected, ``True``
or ``2.5`` for a count) raises :class:`ParameterTypeError`, which is both a ``TypeError`` and a
``ValueError`` (so ``except ValueError`` still catches every bad input).

The checks
----------
* :func:`check_int` -- strict counts: Python or NumPy integers only (``2.5``, ``"2"``, ``True``
  are rejected; ``numpy.int64(2)`` is accepted).
* :func:`check_real` -- real numbers (Python/NumPy ints and floats, not ``bool``, not strings),
  finite unless told otherwise, with an optional range.
* :func:`check_array` -- array inputs converted to float, with shape/ndim and finiteness checks
  (like scipy's ``check_finite``).
* :func:`check_choice`, :func:`check_bool`, :func:`check_output_path`,
  :func:`check_parameter_type` (chapter parameters against their defaults).

Cost limits
-----------
Long runs are estimated from their inputs and refused beyond a documented limit unless the caller
raises it explicitly (:func:`check_cost`, :class:`CostLimitError`): ``max_steps`` (default
:data:`DEFAULT_MAX_STEPS` for SGD sample updates summed over seeds, :data:`DEFAULT_MAX_ODE_STEPS`
for ODE steps / right-hand-side evaluations) and ``max_memory`` in bytes (default
:data:`DEFAULT_MAX_MEMORY`).

One divergence rule
-------------------
The ODE and SGD judge divergence alike (:func:`diverged`): some physical student overlap
:math:`|Q_{ik}|` exceeds :data:`DIVERGENCE_LIMIT` (or is NaN/inf).  The message
(:func:`divergence_message`) quotes the linear-network stability bound
:math:`\eta_c = 2/(K c_s^2\,(1/N)\mathrm{tr}\,\Sigma)` in the setup's conventions
(:func:`stability_bound`).
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DivergenceError", "ParameterTypeError", "CostLimitError", "require", "is_int", "is_real",
           "check_int",
           "check_real", "check_array", "check_choice", "check_bool", "check_output_path",
           "check_cost", "check_parameter_type", "DIVERGENCE_LIMIT", "DEFAULT_MAX_STEPS",
           "DEFAULT_MAX_ODE_STEPS", "DEFAULT_MAX_MEMORY", "stability_bound", "diverged",
           "divergence_message", "format_bytes"]

#: Physical overlaps above this (in absolute value) count as diverged, for the ODE and SGD alike.
DIVERGENCE_LIMIT = 1e6
#: Default cost limit of :func:`scalinglaws.committee.sgd.simulate`: SGD sample updates summed over seeds
#: (``n_seeds * rint(t_max * N)``); about 10 minutes to an hour on one core at N ~ 1000.
DEFAULT_MAX_STEPS = 10 ** 9
#: Default cost limit of :func:`scalinglaws.committee.ode.integrate`: Euler steps (``t_max / dt``), or
#: right-hand-side evaluations of an adaptive method (checked while it runs).
DEFAULT_MAX_ODE_STEPS = 10 ** 7
#: Default memory limit (bytes) of one call of ``integrate``/``simulate``: 4 GiB.
DEFAULT_MAX_MEMORY = 4 * 2 ** 30


class DivergenceError(RuntimeError):
    """A dynamics (ODE, SGD, GD) blew up: NaN/inf or runaway error.  The message names the likely
    cause, typically a learning rate above the stability bound."""


class ParameterTypeError(TypeError, ValueError):
    """A parameter of the wrong type (a string for a number, ``True`` or ``2.5`` for a count).

    Both a ``TypeError`` and a ``ValueError``: ``except ValueError`` catches every bad input."""


class CostLimitError(ValueError):
    """A run whose estimated steps or memory exceed the limit the caller allowed (``max_steps``,
    ``max_memory``; ``--max-steps``, ``--max-memory`` on the command line)."""


def require(ok: bool, name: str, value, allowed: str) -> None:
    """Raise ``ValueError`` naming the parameter, its value and the allowed range unless ``ok``."""
    if not ok:
        raise ValueError(f"{name}={value!r} is invalid: {allowed}")


def _fail(name: str, value, allowed: str, type_error: bool = False):
    if type_error:
        raise ParameterTypeError(f"{name}={value!r} is invalid: {allowed} "
                                 f"(got {type(value).__name__})")
    raise ValueError(f"{name}={value!r} is invalid: {allowed}")


def _range_text(lo, hi, lo_open: bool, hi_open: bool) -> str:
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {lo:g}" if isinstance(lo, float) else
                     f"{'>' if lo_open else '>='} {lo}")
    if hi is not None:
        parts.append(f"{'<' if hi_open else '<='} {hi:g}" if isinstance(hi, float) else
                     f"{'<' if hi_open else '<='} {hi}")
    return " and ".join(parts)


def is_int(value) -> bool:
    """True for Python and NumPy integers (not ``bool``, not floats such as 2.0)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value) -> bool:
    """True for Python/NumPy ints and floats (not ``bool``, not complex, not strings)."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and value.dtype.kind in "iuf"
    return isinstance(value, numbers.Real)


def check_int(name: str, value, lo: int | None = None, hi: int | None = None, *,
              allow_none: bool = False) -> int | None:
    """Return ``int(value)`` if it is an integer in ``[lo, hi]``.

    Raises :class:`ParameterTypeError` for non-integers (``2.5``, ``2.0``, ``"2"``, ``True``) and
    ``ValueError`` outside the range; the message names ``name``, the value and the range.
    """
    rng = _range_text(lo, hi, False, False)
    allowed = "an integer" + (f" {rng}" if rng else "") + (" or None" if allow_none else "")
    if value is None and allow_none:
        return None
    if not is_int(value):
        _fail(name, value, allowed, type_error=True)
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        _fail(name, value, allowed)
    return v


def check_real(name: str, value, lo: float | None = None, hi: float | None = None, *,
               lo_open: bool = False, hi_open: bool = False, finite: bool = True,
               allow_none: bool = False) -> float | None:
    """Return ``float(value)`` if it is a real number (finite unless ``finite=False``) in the range.

    ``lo_open``/``hi_open`` make the bounds strict.  Strings (``"0.5"``), ``bool`` and complex
    numbers raise :class:`ParameterTypeError`; NaN/inf and out-of-range values ``ValueError``.
    """
    rng = _range_text(lo, hi, lo_open, hi_open)
    allowed = ("a finite number" if finite else "a number") + (f" {rng}" if rng else "") + \
        (" or None" if allow_none else "")
    if value is None and allow_none:
        return None
    if not is_real(value):
        _fail(name, value, allowed, type_error=True)
    v = float(value)
    if math.isnan(v) or (finite and math.isinf(v)):
        _fail(name, value, allowed)
    if lo is not None and (v < lo or (lo_open and v == lo)):
        _fail(name, value, allowed)
    if hi is not None and (v > hi or (hi_open and v == hi)):
        _fail(name, value, allowed)
    return v


def check_array(name: str, value, *, ndim: int | tuple[int, ...] | None = None,
                shape: tuple | None = None, finite: bool = True, min_size: int = 0,
                dtype=float) -> np.ndarray:
    """``np.asarray(value, dtype)`` with clear errors: non-numeric entries (strings, objects)
    raise :class:`ParameterTypeError`; wrong ``ndim``/``shape`` (``None`` entries in ``shape``
    match any length), too few entries or NaN/inf (with ``finite``) raise ``ValueError``."""
    if isinstance(value, (str, bytes)):
        _fail(name, value, "an array of numbers", type_error=True)
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as e:     # ragged nested lists
        raise ParameterTypeError(f"{name} is invalid: an array of numbers ({e})") from None
    if arr.dtype.kind == "O" and arr.size and all(is_real(x) for x in arr.flat):
        arr = arr.astype(float)              # e.g. an object array of Python numbers
    if arr.dtype.kind not in "iuf":          # bool, object (None, mixed), strings, complex, ...
        _fail(name, _short(value), "an array of real numbers", type_error=True)
    arr = arr.astype(dtype, copy=False)
    if ndim is not None:
        nd = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in nd:
            _fail(name, f"shape {arr.shape}", f"a {' or '.join(map(str, nd))}-d array")
    if shape is not None:
        ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
        if not ok:
            want = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ")"
            _fail(name, f"shape {arr.shape}", f"shape {want}")
    if arr.size < min_size:
        _fail(name, f"size {arr.size}", f"at least {min_size} entries")
    if finite and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        _fail(name, "contains NaN/inf", "finite entries")
    return arr


def _short(value) -> Any:
    r = repr(value)
    return value if len(r) <= 80 else r[:77] + "..."


def check_choice(name: str, value, choices) -> Any:
    """Return ``value`` if it is one of ``choices`` (compared with ``==``; unhashable is fine)."""
    choices = tuple(choices)
    ok = any(isinstance(value, type(c)) and value == c for c in choices)
    if not ok:
        _fail(name, value, f"one of {list(choices)}",
              type_error=not any(isinstance(value, type(c)) for c in choices))
    return value


def check_bool(name: str, value) -> bool:
    """Return ``bool(value)`` if it is a ``bool`` (or ``numpy.bool_``)."""
    if not isinstance(value, (bool, np.bool_)):
        _fail(name, value, "True or False", type_error=True)
    return bool(value)


def check_output_path(name: str, path) -> Path:
    """Check *before the work* that a file can be written at ``path``: its folder exists and is
    writable, and ``path`` is not a folder."""
    if not isinstance(path, (str, os.PathLike)):
        _fail(name, path, "a file path", type_error=True)
    p = Path(path)
    if p.is_dir():
        _fail(name, str(p), "a file path, not an existing folder")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        _fail(name, str(p), f"a file in an existing folder (folder {str(parent)!r} does not exist)")
    if not os.access(parent, os.W_OK):
        _fail(name, str(p), f"a file in a writable folder (no write permission on {str(parent)!r})")
    if p.exists() and not os.access(p, os.W_OK):
        _fail(name, str(p), "a writable file (the existing file is read-only)")
    return p


def format_bytes(n: float) -> str:
    for unit, size in (("TiB", 2 ** 40), ("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


def check_cost(name: str, value, estimate: float, limit: float, *, what: str, limit_name: str,
               cli_option: str | None = None, memory: bool = False) -> None:
    """Raise :class:`CostLimitError` if ``estimate`` exceeds ``limit``.

    ``name=value`` is the input that drives the cost (e.g. ``t_max=1e12``), ``what`` describes the
    estimate (e.g. ``"SGD sample updates (seeds x t_max x N)"``) and ``limit_name`` the keyword
    that raises the limit (``max_steps``, ``max_memory``; ``cli_option`` its command-line form).
    """
    if not (estimate > limit):
        return
    fmt = format_bytes if memory else (lambda x: f"{x:.3g}")
    how = f"pass {limit_name}=" + (f" (command line: {cli_option})" if cli_option else "")
    raise CostLimitError(
        f"{name}={value!r} is invalid: the run needs about {fmt(estimate)} {what}, above the "
        f"limit {limit_name}={fmt(limit)}; reduce {name} (or the other sizes), or {how} with a "
        "larger value to allow it")


# ----------------------------------------------------------------------------------------------
# chapter parameters
# ----------------------------------------------------------------------------------------------
def _kind(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if is_int(value):
        return "int"
    if is_real(value):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "dict"
    return "other"


_TYPE_TEXT = {"bool": "a bool (True/False)", "int": "an int", "float": "a number (int or float)",
              "str": "a str", "list": "a list", "dict": "a dict"}


def _matches(kind: str | None, value) -> bool:
    got = _kind(value)
    if kind is None or kind == "other":
        return True
    if kind == "float":
        return got in ("int", "float")
    return got == kind


def check_parameter_type(name: str, value, default) -> None:
    """Check a chapter parameter against the default of the chapter's ``parameters`` cell.

    int default: an int; float default: an int or a float; list (or tuple) default: a list whose
    elements have the type of the default's elements (when those agree; an int/float mix counts
    as float); bool: a bool; str: a str; dict: a dict; ``None`` or any other default: anything.
    Raises :class:`ParameterTypeError` naming the parameter, the value and the expected type.
    """
    kind = _kind(default)
    if not _matches(kind, value):
        hint = ""
        if kind == "list" and isinstance(value, str):
            hint = (f"; a list given on the command line arrives as a string -- pass it as YAML, "
                    f"e.g. -y '{name}: {value}'")
        raise ParameterTypeError(f"{name}={value!r} is invalid: expected {_TYPE_TEXT[kind]} like "
                                 f"the default {default!r} (got {type(value).__name__}){hint}")
    if kind == "list" and len(default) > 0:
        kinds = {_kind(x) for x in default}
        if kinds <= {"int", "float"} and len(kinds) == 2:
            kinds = {"float"}
        if len(kinds) == 1:
            ek = kinds.pop()
            for i, x in enumerate(value):
                if not _matches(ek, x):
                    raise ParameterTypeError(
                        f"{name}={value!r} is invalid: expected a list of "
                        f"{_TYPE_TEXT.get(ek, ek)} elements like the default {default!r} "
                        f"(element {i} is {x!r}, a {type(x).__name__})")


# ----------------------------------------------------------------------------------------------
# divergence: one rule for the ODE and SGD
# ----------------------------------------------------------------------------------------------
def stability_bound(setup) -> float:
    r"""Linear-network stability bound of online SGD in the setup's conventions:
    :math:`\eta_c = 2/(K c_s^2\,(1/N)\mathrm{tr}\,\Sigma)` (``setup`` a
    :class:`~scalinglaws.committee.setup.Setup`; = 2 for 1/sqrt K outputs and mean eigenvalue one, = 2/K
    for Saad--Solla outputs)."""
    return 2.0 / (setup.K * setup.c_s ** 2 * setup.spectrum.moment(1))


def diverged(Q, limit: float = DIVERGENCE_LIMIT) -> bool:
    """The shared divergence verdict: any entry of the physical overlaps ``Q`` non-finite or
    larger than ``limit`` in absolute value."""
    Q = np.asarray(Q)
    if Q.size == 0:
        return False
    return not bool(np.all(np.isfinite(Q))) or float(np.max(np.abs(Q))) > limit


def divergence_message(setup, alpha: float, what: str, source: str) -> str:
    """The message of a :class:`DivergenceError` of the ODE (``source="ODE"``) or SGD."""
    conv = getattr(setup.conventions, "name", str(setup.conventions))
    return (f"{source} diverged at alpha={alpha:.4g} ({what}). Likely cause: learning rate "
            f"eta={setup.eta} above the stability bound (for linear units eta_c = "
            f"2/(K c_s^2 (1/N) tr Sigma) = {stability_bound(setup):.4g} in these conventions, "
            f"{conv}, K={setup.K}); reduce eta.")
