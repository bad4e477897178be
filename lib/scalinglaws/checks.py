"""Reproduction checks: assert a claim, print one line, record it for the reproduction table.

Every chapter creates one :class:`Checker` and calls :meth:`Checker.check` for each claim it
reproduces.  A check prints ``claim | paper | ours | tol | PASS/FAIL``, appends a record to
``<checks dir>/<chapter>.json`` and raises :class:`CheckFailed` (an ``AssertionError``) when it
fails, so papermill and the test suite fail on a broken claim.

The checks directory is ``$SCALINGLAWS_CHECKS_DIR`` if set, otherwise ``_build/checks`` under the
book root (the first parent directory of the current working directory that holds ``_toc.yml``),
otherwise ``./_build/checks``.

Comparison kinds
----------------
``"abs"``   ``|ours - paper| <= tol``
``"rel"``   ``|ours - paper| <= tol * |paper|``
``"range"`` ``paper = (lo, hi)``, passes when ``lo <= ours <= hi`` (``tol`` is ignored, may be None)
``"le"``    ``ours <= paper + tol``   (an upper bound)
``"ge"``    ``ours >= paper - tol``   (a lower bound)

Enforced and measured-only claims
---------------------------------
A check is *enforced* by default: failing it stops the chapter.  A claim that a chapter measures
but cannot establish at the sizes the book can afford (the text must say why) is recorded with
``enforce=False``: it is compared and printed exactly the same way, the record says
``enforced: false``, the reproduction table marks it "not enforced", and a failure does not stop
the run.  Such a record is a measurement, not a test, and is never counted as a reproduced claim.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CheckFailed", "CheckRecord", "Checker", "checks_dir", "load_all_checks"]

_KINDS = ("abs", "rel", "range", "le", "ge")


class CheckFailed(AssertionError):
    """A reproduced claim did not hold within its tolerance."""


@dataclass
class CheckRecord:
    chapter: str
    claim: str
    paper: Any
    ours: float
    tol: float | None
    kind: str
    passed: bool
    source: str = ""
    note: str = ""
    enforced: bool = True
    extra: dict = field(default_factory=dict)


def _book_root(start: Path | None = None) -> Path | None:
    p = (start or Path.cwd()).resolve()
    for q in (p, *p.parents):
        if (q / "_toc.yml").exists():
            return q
    return None


def checks_dir() -> Path:
    """Directory where chapter check records are written (see module docstring)."""
    env = os.environ.get("SCALINGLAWS_CHECKS_DIR")
    if env:
        return Path(env)
    root = _book_root()
    return (root if root is not None else Path.cwd()) / "_build" / "checks"


def _fmt(x: Any) -> str:
    if isinstance(x, (tuple, list)):
        return "[" + ", ".join(_fmt(v) for v in x) + "]"
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        if x == 0 or 1e-3 <= abs(x) < 1e4:
            return f"{x:.5g}"
        return f"{x:.4e}"
    return str(x)


def _as_float(x: Any, name: str) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError) as exc:  # arrays etc.
        raise TypeError(f"check(): {name} must be a scalar number, got {type(x).__name__}; "
                        "reduce arrays first (e.g. max |z-score|)") from exc
    return v


class Checker:
    """Collects the checks of one chapter.

    Parameters
    ----------
    chapter : str
        Chapter identifier, e.g. ``"01_linear_theory"``; names the JSON file.
    fresh : bool
        Start a new record file (default), discarding the records of a previous run.
    """

    def __init__(self, chapter: str, fresh: bool = True) -> None:
        if not chapter or any(c in chapter for c in "/\\"):
            raise ValueError(f"chapter must be a plain name, got {chapter!r}")
        self.chapter = chapter
        self.records: list[CheckRecord] = []
        self.path = checks_dir() / f"{chapter}.json"
        if fresh:
            self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps([asdict(r) for r in self.records], indent=1, default=float))
        os.replace(tmp, self.path)

    def check(self, claim: str, paper: Any, ours: Any, tol: float | None = None, *,
              kind: str = "abs", source: str = "", note: str = "", enforce: bool = True,
              raise_on_fail: bool | None = None, **extra: Any) -> bool:
        """Assert one reproduced claim, print it, and record it.

        Parameters
        ----------
        claim : str
            What is claimed, in words (e.g. "plateau height, K=2, eta=0.5").
        paper : float or (lo, hi)
            The reference value (a paper's number, a closed form, an independent computation).
        ours : float
            Our value.
        tol : float
            Tolerance; its meaning depends on ``kind``.  State where it comes from in ``note``.
        kind : {"abs", "rel", "range", "le", "ge"}
        source : str
            Where the reference value comes from (paper + equation / figure, or "closed form").
        note : str
            How the tolerance was derived (standard errors, integrator error, finite-N allowance).
        enforce : bool
            ``False`` records a measured-only claim (see module docstring): no exception on failure.
        raise_on_fail : bool, optional
            Deprecated alias of ``enforce``.
        """
        if raise_on_fail is not None:
            enforce = bool(raise_on_fail) and enforce
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
        o = _as_float(ours, "ours")
        if kind == "range":
            if not (isinstance(paper, (tuple, list)) and len(paper) == 2):
                raise ValueError("kind='range' needs paper=(lo, hi)")
            lo, hi = (_as_float(v, "paper") for v in paper)
            passed = lo <= o <= hi
            paper_val: Any = [lo, hi]
        else:
            p = _as_float(paper, "paper")
            if tol is None:
                raise ValueError(f"kind={kind!r} needs a tolerance tol")
            t = _as_float(tol, "tol")
            if not t >= 0:
                raise ValueError(f"tol must be >= 0, got {tol!r}")
            if kind == "abs":
                passed = abs(o - p) <= t
            elif kind == "rel":
                passed = abs(o - p) <= t * abs(p)
            elif kind == "le":
                passed = o <= p + t
            else:
                passed = o >= p - t
            paper_val = p
        if math.isnan(o):
            passed = False
        rec = CheckRecord(self.chapter, claim, paper_val, o, None if tol is None else float(tol),
                          kind, bool(passed), source, note, bool(enforce), dict(extra))
        self.records.append(rec)
        self._write()
        tol_s = "-" if tol is None else (f"{_fmt(float(tol))}" + (" (rel)" if kind == "rel" else ""))
        op = {"abs": "±", "rel": "±", "range": "in", "le": "<=", "ge": ">="}[kind]
        status = ("PASS" if passed else "FAIL") + ("" if enforce else ", not enforced")
        print(f"[{status}] {claim}: paper {op} {_fmt(paper_val)} | ours "
              f"{_fmt(o)} | tol {tol_s}" + (f" | {source}" if source else ""))
        if not passed and enforce:
            raise CheckFailed(f"{self.chapter}: {claim}: ours={o!r}, paper={paper_val!r}, "
                              f"tol={tol!r}, kind={kind}")
        return bool(passed)

    def summary(self) -> str:
        enf = [r for r in self.records if r.enforced]
        ok = sum(r.passed for r in enf)
        extra = len(self.records) - len(enf)
        return (f"{self.chapter}: {ok}/{len(enf)} enforced checks passed"
                + (f"; {extra} measured-only claim(s)" if extra else ""))


def load_all_checks(directory: Path | str | None = None) -> list[dict]:
    """Read every chapter's check records (sorted by chapter file name)."""
    d = Path(directory) if directory is not None else checks_dir()
    out: list[dict] = []
    for f in sorted(d.glob("*.json")):
        out.extend(json.loads(f.read_text()))
    return out
