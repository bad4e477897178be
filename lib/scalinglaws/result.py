r"""The one result type of the library: :class:`Curve`.

Every family's simulator and theory returns a :class:`Curve` (or a dict of them): a loss against
time, with the conventions needed to put it on the same axes as any other curve of the book.

Fields
------
``t`` (n,)
    Times, in the unit ``t_unit`` (see :data:`scalinglaws.conventions.TIME_UNITS`):
    ``"alpha"`` (online steps per input dimension, α = steps/N), ``"steps"`` (update steps) or
    ``"time"`` (gradient-flow time, η·steps).
``loss`` (n,)
    The loss, mean over seeds when there are several, in the convention
    ``loss = loss_factor · E[(f − y)²]`` (``loss_factor`` ½ for the committee machines' ε_g, 1 for
    the kernel and emergence families).
``seeds`` (n_seeds, n) or None
    Per-seed (per-draw, per-instance) losses.
``sem`` (n,) or None
    Standard error of ``loss``; computed from ``seeds`` (ddof = 1) when not given.
``meta`` dict
    The parameters of the run: ``family`` and the conversion constants ``N`` (for α) and ``eta``
    (for gradient-flow time) where they exist, plus anything the family records.
``series`` tuple
    Names of the extras that are time series (first axis = time): :meth:`Curve.window` cuts them and
    :meth:`Curve.to_csv` writes them as columns.
``extras`` dict
    Family-specific observables, documented by each family (committee: ``Q``, ``R``, ``T``,
    ``groups``; emergence: ``pair_overlap``, ``norms``, ``T_pred``, …; random features: ``v``,
    ``mu_max``; DMFT: ``bias``, ``variance``; MLP: ``params``).  They read as attributes too:
    ``curve.Q`` is ``curve.extras["Q"]``.

Example
-------
>>> import numpy as np
>>> from scalinglaws import Curve
>>> c = Curve(t=np.array([0.0, 1.0, 10.0, 100.0]), loss=np.array([1.0, 0.5, 0.05, 0.005]),
...           t_unit="steps", loss_factor=1.0, meta={"time_per_step": 0.1})
>>> c
Curve(4 points, t = 0 … 100 steps, loss 1 → 0.005 [1·E(f−y)²])
>>> c.to(t_unit="time").t.tolist()
[0.0, 0.1, 1.0, 10.0]
>>> round(c.fit((1, 100)).slope, 6)
-1.0
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from scalinglaws.conventions import TIME_UNITS, convert_loss, convert_time
from scalinglaws.errors import check_array, check_choice, check_real, require

__all__ = ["Curve"]


def _fmt(x: float) -> str:
    return f"{x:.3g}"


@dataclass(eq=False, repr=False)
class Curve:
    """A loss curve with its time unit, loss convention, seeds and metadata (see module docstring)."""

    t: np.ndarray
    loss: np.ndarray
    t_unit: str = "steps"
    loss_factor: float = 1.0
    seeds: np.ndarray | None = None
    sem: np.ndarray | None = None
    label: str = ""
    meta: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    series: tuple = ()

    def __post_init__(self) -> None:
        self.t = check_array("t", self.t, ndim=1)
        n = self.t.size
        self.loss = check_array("loss", self.loss, shape=(n,), finite=False)
        check_choice("t_unit", self.t_unit, TIME_UNITS)
        self.loss_factor = check_real("loss_factor", self.loss_factor, 0.0, lo_open=True)
        if self.seeds is not None:
            self.seeds = check_array("seeds", self.seeds, ndim=2, finite=False)
            require(self.seeds.shape[1] == n, "seeds", f"shape {self.seeds.shape}",
                    f"(n_seeds, {n}) to match t")
        if self.sem is None and self.seeds is not None and self.seeds.shape[0] > 1:
            self.sem = self.seeds.std(axis=0, ddof=1) / np.sqrt(self.seeds.shape[0])
        if self.sem is not None:
            self.sem = check_array("sem", self.sem, shape=(n,), finite=False)
        require(isinstance(self.meta, dict), "meta", type(self.meta).__name__, "a dict")
        require(isinstance(self.extras, dict), "extras", type(self.extras).__name__, "a dict")
        self.series = tuple(self.series)
        for name in self.series:
            v = self.extras.get(name)
            require(isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[0] == n, "series", name,
                    f"names of extras that are arrays with first axis of length len(t) = {n}")

    # -- family extras read as attributes ---------------------------------------------------
    def __getattr__(self, name: str):
        if name.startswith("__") or name in ("extras", "meta"):
            raise AttributeError(name)
        extras = self.__dict__.get("extras", {})
        if name in extras:
            return extras[name]
        raise AttributeError(f"Curve has no field or extra {name!r} (extras: {sorted(extras) or 'none'})")

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.__dict__.get("extras", {})))

    # -- description -------------------------------------------------------------------------
    @property
    def n_seeds(self) -> int:
        """Number of seeds behind ``loss`` (1 when ``seeds`` is None)."""
        return 1 if self.seeds is None else int(self.seeds.shape[0])

    def __repr__(self) -> str:
        parts = [f"{self.t.size} points"]
        if self.t.size:
            parts.append(f"t = {_fmt(self.t[0])} … {_fmt(self.t[-1])} {self.t_unit}")
            parts[-1] += f", loss {_fmt(self.loss[0])} → {_fmt(self.loss[-1])} [{self.loss_factor:g}·E(f−y)²]"
        if self.seeds is not None:
            parts.append(f"{self.n_seeds} seeds")
        if self.extras:
            parts.append("extras: " + ", ".join(sorted(self.extras)))
        head = f"{self.label}: " if self.label else ""
        return f"Curve({head}{', '.join(parts)})"

    # -- conventions -----------------------------------------------------------------------
    def to(self, t_unit: str | None = None, loss_factor: float | None = None, *, N: float | None = None,
           time_per_step: float | None = None, time_per_alpha: float | None = None) -> "Curve":
        """The same curve in another time unit and/or loss convention.

        Time conversions (:func:`scalinglaws.conventions.convert_time`) use ``N`` (steps per α),
        ``time_per_step`` (gradient-flow time per update; default ``meta["time_per_step"]``, else
        ``meta["eta"]``) and ``time_per_alpha`` (committee curves: η), each defaulting to the
        curve's ``meta``.  The loss, seeds and s.e. are rescaled by ``loss_factor /
        self.loss_factor``.  Extras are carried unchanged.
        """
        m = self.meta
        N = m.get("N") if N is None else N
        if time_per_step is None:
            time_per_step = m.get("time_per_step", m.get("eta") if m.get("family") != "committee" else None)
        time_per_alpha = m.get("time_per_alpha") if time_per_alpha is None else time_per_alpha
        t_unit = self.t_unit if t_unit is None else t_unit
        t = convert_time(self.t, self.t_unit, t_unit, N=N, time_per_step=time_per_step,
                         time_per_alpha=time_per_alpha)
        lf = self.loss_factor if loss_factor is None else loss_factor
        r = convert_loss(1.0, self.loss_factor, lf)
        return replace(self, t=t, t_unit=t_unit, loss_factor=lf, loss=self.loss * r,
                       seeds=None if self.seeds is None else self.seeds * r,
                       sem=None if self.sem is None else self.sem * r, meta=dict(self.meta),
                       extras=dict(self.extras))

    # -- analysis ----------------------------------------------------------------------------
    def at(self, t) -> np.ndarray:
        """Loss interpolated linearly at times ``t`` (same unit as ``self.t``)."""
        return np.interp(np.asarray(t, dtype=float), self.t, self.loss)

    def window(self, lo: float, hi: float) -> "Curve":
        """The points with ``lo <= t <= hi`` (the time-series extras, ``series``, are cut too)."""
        m = (self.t >= lo) & (self.t <= hi)
        ex = {k: (v[m] if k in self.series else v) for k, v in self.extras.items()}
        return replace(self, t=self.t[m], loss=self.loss[m],
                       seeds=None if self.seeds is None else self.seeds[:, m],
                       sem=None if self.sem is None else self.sem[m], meta=dict(self.meta), extras=ex)

    def fit(self, window: tuple[float, float] | None = None):
        """Power-law fit ``loss ≈ A t^slope`` (:func:`scalinglaws.analysis.fits.fit_power_law`);
        points with t <= 0 are skipped."""
        from scalinglaws.analysis.fits import fit_power_law
        m = self.t > 0
        return fit_power_law(self.t[m], self.loss[m], window)

    def local_slope(self) -> tuple[np.ndarray, np.ndarray]:
        """``(t, d ln loss / d ln t)`` on the points with t > 0 and loss > 0
        (:func:`scalinglaws.analysis.fits.local_slope`)."""
        from scalinglaws.analysis.fits import local_slope
        m = (self.t > 0) & (self.loss > 0)
        return self.t[m], local_slope(self.t[m], self.loss[m])

    def crossing(self, level: float, direction: str = "down") -> float:
        """First time the loss crosses ``level`` (:func:`scalinglaws.analysis.fits.first_crossing`)."""
        from scalinglaws.analysis.fits import first_crossing
        return first_crossing(self.t, self.loss, level, direction)

    # -- export ------------------------------------------------------------------------------
    def columns(self) -> dict[str, np.ndarray]:
        """Named columns: t, loss, sem, per-seed losses, and the time-series extras (``series``,
        flattened over their other axes, named ``name[i,j]``)."""
        n = self.t.size
        cols = {"t": self.t, "loss": self.loss}
        if self.sem is not None:
            cols["sem"] = self.sem
        if self.seeds is not None:
            cols.update({f"loss_seed{i}": s for i, s in enumerate(self.seeds)})
        for k in self.series:
            v = self.extras[k]
            if v.dtype.kind in "fiub":
                flat = v.reshape(n, -1)
                if v.ndim == 1:
                    cols[k] = flat[:, 0]
                else:
                    for j, idx in enumerate(np.ndindex(*v.shape[1:])):
                        cols[f"{k}[{','.join(map(str, idx))}]"] = flat[:, j]
        return cols

    def to_csv(self, path: str | Path | None = None) -> str:
        """CSV text (written to ``path`` when given): a ``#`` line with t_unit, loss_factor, label
        and the scalar metadata, a header, then one row per time (:meth:`columns`)."""
        buf = io.StringIO()
        meta = {"t_unit": self.t_unit, "loss_factor": self.loss_factor, "label": self.label,
                **{k: v for k, v in self.meta.items() if np.isscalar(v) or v is None}}
        buf.write("# " + ", ".join(f"{k}={v}" for k, v in meta.items()) + "\n")
        cols = self.columns()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(list(cols))
        for row in np.column_stack(list(cols.values())):
            w.writerow([f"{x:.12g}" for x in row])
        s = buf.getvalue()
        if path is not None:
            Path(path).write_text(s)
        return s
