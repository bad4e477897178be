r"""Compute-optimal frontiers, one implementation for every family.

A family of learning curves :math:`L(m, t)` at widths :math:`m` (or any size variable) trained for
time :math:`t` costs compute :math:`C = m t`.  The frontier is the lower envelope
:math:`L^*(C) = \min_m L(m, C/m)`, with the arg-min :math:`m^*(C)`; its slope against :math:`C`
is the compute-optimal exponent.  Used by chapter 4 (random features, the feature-learning model)
and chapter 5 (emergence).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalinglaws.analysis.fits import fit_power_law
from scalinglaws.errors import check_array, check_real, require

__all__ = ["compute_frontier", "frontier_fit", "FrontierFit", "compute_optimal_exponent"]


def compute_frontier(curves: dict, C) -> tuple[np.ndarray, np.ndarray]:
    """Lower envelope ``L*(C) = min_m L(m, C/m)`` and its arg-min width ``m*(C)``.

    ``curves`` maps a width ``m`` to a :class:`~scalinglaws.result.Curve` or a pair ``(t, L)``.
    ``L`` is interpolated linearly in log-log coordinates over the points with ``t > 0``; compute
    outside a width's time range ``[t_first, t_last]`` does not count for that width.  Ties go to
    the first width in ``curves``' order.  Returns ``(L*, m*)``: ``L* = inf`` and ``m* = nan``
    where no width covers ``C``.

    >>> import numpy as np
    >>> t = np.array([1.0, 10.0, 100.0])
    >>> L, m = compute_frontier({1: (t, 1 / t), 10: (t, 0.5 / t)}, np.array([10.0, 1000.0]))
    >>> np.round(L, 12).tolist(), m.tolist()
    ([0.1, 0.005], [1.0, 10.0])
    """
    require(isinstance(curves, dict) and len(curves) > 0, "curves", type(curves).__name__,
            "a non-empty dict width -> Curve or (t, L)")
    C = check_array("C", C, ndim=(0, 1))
    require(bool(np.all(C > 0)), "C", float(np.min(C)) if C.size else C, "compute values > 0")
    widths = np.array([check_real("width", m, 0.0, lo_open=True) for m in curves], dtype=float)
    logL = np.full((widths.size, C.size), np.inf)
    for i, (m, c) in enumerate(curves.items()):
        t, L = (c.t, c.loss) if hasattr(c, "loss") and hasattr(c, "t") else c
        t = np.asarray(t, dtype=float)
        L = np.asarray(L, dtype=float)
        require(t.shape == L.shape and t.ndim == 1, "curves", f"width {m}: t {t.shape}, L {L.shape}",
                "1-d t and L of one length")
        ok = t > 0
        logL[i] = np.interp(np.log(C / widths[i]), np.log(t[ok]), np.log(L[ok]), left=np.inf,
                            right=np.inf)
    k = np.argmin(logL, axis=0)
    best = logL[k, np.arange(C.size)]
    return np.exp(best), np.where(np.isfinite(best), widths[k], np.nan)


def frontier_fit(curves: dict, C, window, clock: dict | None = None):
    """Frontier :func:`compute_frontier` of ``curves`` on the compute grid ``C`` and its power-law
    fit ``L* ≈ A C^slope`` over ``window = (C_lo, C_hi)``
    (:func:`~scalinglaws.analysis.fits.fit_power_law`).  With ``clock`` (width -> factor) the times
    of width ``m`` are divided by ``clock[m]`` first (time in units of each width's own clock).
    Returns ``(L*, fit)``.

    >>> import numpy as np
    >>> t = np.logspace(0, 3, 50)
    >>> L, f = frontier_fit({1: (t, 1 / t), 10: (t, 0.5 / t)}, np.logspace(1, 3, 20), (10, 1000))
    >>> round(f.slope, 6)
    -1.0
    """
    if clock is not None:
        curves = {m: (c.t, c.loss) if hasattr(c, "loss") and hasattr(c, "t") else c
                  for m, c in curves.items()}
        curves = {m: (t / clock[m], L) for m, (t, L) in curves.items()}
    Lstar = compute_frontier(curves, C)[0]
    return Lstar, fit_power_law(C, Lstar, window)


@dataclass(frozen=True)
class FrontierFit:
    """Compute-optimal frontier L*(C) = min_N L(N, C/N) read off simulated loss surfaces.

    ``C``: compute grid; ``loss``/``n_opt``: envelope of the seed-mean losses and its arg-min width;
    ``window``: (lo, hi) compute range of the fit (rule in :func:`compute_optimal_exponent`);
    ``exponent``: −slope of log L* against log C on the window; ``exponent_se``: jackknife standard
    error over seeds (leave one seed out of the mean surface, same window); ``jackknife``: those
    leave-one-out exponents.
    """

    C: np.ndarray
    loss: np.ndarray
    n_opt: np.ndarray
    window: tuple[float, float]
    exponent: float
    exponent_se: float
    jackknife: np.ndarray


def compute_optimal_exponent(Ns, ts, losses, C, *, t_min: float) -> FrontierFit:
    """Compute-optimal exponent from per-seed loss surfaces ``losses[i][seed, time]`` at widths ``Ns``.

    The frontier is the lower envelope (:func:`compute_frontier`) of the seed-mean losses. The fit
    window is fixed by a rule, not by the slope: the compute values whose optimal width lies
    strictly inside the simulated grid (not the smallest or largest width, where the envelope is set
    by the grid's edge) and whose optimal time C/N* is at least ``t_min`` (past the initial
    transient); the window runs from the smallest to the largest such C. The exponent is −slope of
    the least-squares line of log L* against log C on the window, with a jackknife error over seeds.
    """
    Ns = check_array("Ns", Ns, ndim=1, min_size=1)
    require(bool(np.all(Ns > 0)) and bool(np.all(np.diff(Ns) > 0)), "Ns", Ns,
            "increasing positive widths")
    t_min = check_real("t_min", t_min, 0.0, lo_open=True)
    S = np.asarray(losses[0]).shape[0]
    require(S >= 2 and all(np.asarray(L).shape[0] == S for L in losses), "losses", S,
            "the same number >= 2 of seeds at every width")
    C = np.asarray(C, dtype=float)
    Lstar, nopt = compute_frontier(dict(zip(Ns, zip(ts, [np.mean(L, axis=0) for L in losses]))), C)
    ok = (nopt > Ns[0]) & (nopt < Ns[-1]) & (C / nopt >= t_min) & np.isfinite(Lstar)
    if ok.sum() < 3:
        raise ValueError(f"losses: only {int(ok.sum())} compute values have an interior optimal width "
                         f"with C/N* >= t_min={t_min}; simulate more widths or longer times")
    window = (float(C[ok].min()), float(C[ok].max()))
    slope = fit_power_law(C, Lstar, window).slope
    jk = np.empty(S)
    for s in range(S):
        Lm = [np.mean(np.delete(np.asarray(L), s, axis=0), axis=0) for L in losses]
        jk[s] = -fit_power_law(C, compute_frontier(dict(zip(Ns, zip(ts, Lm))), C)[0], window).slope
    se = float(np.sqrt((S - 1) / S * np.sum((jk - jk.mean()) ** 2)))
    return FrontierFit(C, Lstar, nopt, window, float(-slope), se, jk)
