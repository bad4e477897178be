r"""Compute-optimal allocation: how the optimal width :math:`N^*(C)` and time :math:`t^*(C)=C/N^*`
grow with compute :math:`C = N t`, with jackknife errors over seeds and paired differences.

:mod:`scalinglaws.analysis.frontier` reads the frontier :math:`L^*(C)` off a grid of widths; its
arg-min width takes only grid values, too coarse to fit an exponent. Here the optimum is located
between grid widths: at every :math:`C` the seed-mean loss :math:`\log L(N, C/N)` is fitted by a
parabola in :math:`\log N` through the grid minimum and its two neighbours, whose vertex gives
:math:`\log N^*` and :math:`\log L^*`. The exponents are least-squares slopes on a window fixed by
a rule (not by the slope); the errors are jackknifes over seeds (leave one seed out of the mean
surface, same window). Two allocations computed from the *same* seeds (e.g. lazy and rich runs
from the same initial projections) give a paired jackknife error of their difference
(:func:`allocation_difference`). Used by chapter 4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalinglaws.errors import check_array, check_real, require

__all__ = ["AllocationFit", "optimal_allocation", "allocation_difference", "allocation_curve",
           "window_exponents"]


@dataclass(frozen=True)
class AllocationFit:
    """Result of :func:`optimal_allocation`.

    ``C``: compute grid; ``n_opt``, ``loss``: the interpolated optimal width :math:`N^*(C)` and loss
    :math:`L^*(C)` of the seed-mean surface (NaN where the grid minimum is at an edge width or
    outside the simulated times); ``window``: (lo, hi) compute range of the fits;
    ``width_exponent``: slope of log N* against log C (the time exponent is 1 − it, since
    t* = C/N*); ``loss_exponent``: −slope of log L*; ``*_se``: jackknife standard errors over seeds;
    ``jackknife``: leave-one-seed-out (width exponent, loss exponent) pairs, shape (seeds, 2).
    """

    C: np.ndarray
    n_opt: np.ndarray
    loss: np.ndarray
    window: tuple[float, float]
    width_exponent: float
    width_exponent_se: float
    loss_exponent: float
    loss_exponent_se: float
    jackknife: np.ndarray

    @property
    def time_exponent(self) -> float:
        """The exponent of the optimal time t* = C/N*, equal to 1 − ``width_exponent`` (same
        standard error)."""
        return 1.0 - self.width_exponent


def _surface(Ns, ts, means, C):
    """log L(N_i, C/N_i) on the compute grid (NaN outside a width's simulated times)."""
    out = np.full((len(Ns), C.size), np.nan)
    for i, (N, t, L) in enumerate(zip(Ns, ts, means)):
        ok = (t > 0) & (L > 0)
        out[i] = np.interp(np.log(C / N), np.log(t[ok]), np.log(L[ok]), left=np.nan, right=np.nan)
    return out


def _vertex(logN, S):
    """Per column of the log-loss surface S: (log N*, log L*) of the parabola through the grid
    minimum and its neighbours; NaN where the minimum is at an edge or a neighbour is missing."""
    out = np.full((2, S.shape[1]), np.nan)
    for j in range(S.shape[1]):
        col = S[:, j]
        if not np.isfinite(col).any():
            continue
        i = int(np.nanargmin(col))
        if 0 < i < logN.size - 1 and np.all(np.isfinite(col[i - 1:i + 2])):
            a, b, c = np.polyfit(logN[i - 1:i + 2], col[i - 1:i + 2], 2)
            if a > 0:
                x = -b / (2 * a)
                out[:, j] = x, c - b * b / (4 * a)
    return out


def _slopes(C, v, m):
    lc = np.log(C[m])
    return float(np.polyfit(lc, v[0, m], 1)[0]), float(-np.polyfit(lc, v[1, m], 1)[0])


def optimal_allocation(Ns, ts, losses, C, *, t_min: float) -> AllocationFit:
    """Optimal width, time and loss against compute from per-seed learning curves at widths ``Ns``.

    ``ts[i]`` are the times and ``losses[i][seed, time]`` the losses of width ``Ns[i]`` (increasing
    widths, the same number >= 3 of seeds at each). Window rule (fixed, as in
    :func:`~scalinglaws.analysis.frontier.compute_optimal_exponent`): the compute values whose grid
    minimum is an interior width and whose optimal time C/N* is at least ``t_min``, from the
    smallest to the largest such C; at least 4 are required.
    """
    Ns = check_array("Ns", Ns, ndim=1, min_size=3)
    require(bool(np.all(Ns > 0)) and bool(np.all(np.diff(Ns) > 0)), "Ns", Ns, "increasing positive widths")
    require(len(ts) == Ns.size and len(losses) == Ns.size, "losses", len(losses),
            f"one (seeds, times) array per width ({Ns.size})")
    t_min = check_real("t_min", t_min, 0.0, lo_open=True)
    C = check_array("C", C, ndim=1, min_size=4)
    require(bool(np.all(C > 0)) and bool(np.all(np.diff(C) > 0)), "C", C, "increasing positive compute values")
    ts = [check_array(f"ts[{i}]", t, ndim=1, min_size=2) for i, t in enumerate(ts)]
    losses = [check_array(f"losses[{i}]", L, ndim=2) for i, L in enumerate(losses)]
    S = losses[0].shape[0]
    require(S >= 3 and all(L.shape == (S, t.size) for L, t in zip(losses, ts)), "losses",
            [L.shape for L in losses], "arrays (seeds >= 3, len(ts[i])) with the same number of seeds")
    logN = np.log(Ns)
    v = _vertex(logN, _surface(Ns, ts, [L.mean(axis=0) for L in losses], C))
    ok = np.isfinite(v[0]) & (C / np.exp(v[0]) >= t_min)
    if ok.sum() < 4:
        raise ValueError(f"losses: only {int(ok.sum())} compute values have an interior optimal width with "
                         f"C/N* >= t_min={t_min}; simulate more widths or longer times")
    window = (float(C[ok].min()), float(C[ok].max()))
    m = (C >= window[0]) & (C <= window[1])
    if not np.all(np.isfinite(v[:, m])):
        raise ValueError("losses: the optimal width leaves the grid inside the window; simulate more widths")
    aN, aL = _slopes(C, v, m)
    jk = np.empty((S, 2))
    for s in range(S):
        vs = _vertex(logN, _surface(Ns, ts, [np.delete(L, s, axis=0).mean(axis=0) for L in losses], C))
        require(bool(np.all(np.isfinite(vs[:, m]))), "losses", f"seed {s} left out",
                "a surface whose optimum stays interior on the window for every leave-one-out mean")
        jk[s] = _slopes(C, vs, m)
    se = np.sqrt((S - 1) / S * np.sum((jk - jk.mean(axis=0)) ** 2, axis=0))
    return AllocationFit(C, np.exp(v[0]), np.exp(v[1]), window, aN, float(se[0]), aL, float(se[1]), jk)


def allocation_difference(a: AllocationFit, b: AllocationFit) -> dict:
    """Paired difference a − b of the width and loss exponents of two allocations computed from the
    same seeds (seed s of ``a`` and of ``b`` share their random numbers), with the jackknife error of
    the difference (leave the same seed out of both). Returns ``width``, ``width_se``, ``loss``,
    ``loss_se``."""
    require(isinstance(a, AllocationFit) and isinstance(b, AllocationFit), "a, b",
            f"{type(a).__name__}, {type(b).__name__}", "two AllocationFit results")
    require(a.jackknife.shape == b.jackknife.shape, "b", f"{b.jackknife.shape[0]} seeds",
            f"the same number of seeds as a ({a.jackknife.shape[0]})")
    S = a.jackknife.shape[0]
    d = a.jackknife - b.jackknife
    se = np.sqrt((S - 1) / S * np.sum((d - d.mean(axis=0)) ** 2, axis=0))
    return dict(width=a.width_exponent - b.width_exponent, width_se=float(se[0]),
                loss=a.loss_exponent - b.loss_exponent, loss_se=float(se[1]))


def allocation_curve(Ns, ts, means, C) -> tuple[np.ndarray, np.ndarray]:
    """(N*(C), L*(C)) of one loss surface given as mean curves ``means[i]`` at times ``ts[i]`` (e.g. a
    theory, which has no seeds), by the parabola rule of :func:`optimal_allocation`; NaN where the
    grid minimum is at an edge width or outside the times."""
    Ns = check_array("Ns", Ns, ndim=1, min_size=3)
    require(bool(np.all(Ns > 0)) and bool(np.all(np.diff(Ns) > 0)), "Ns", Ns, "increasing positive widths")
    require(len(ts) == Ns.size and len(means) == Ns.size, "means", len(means), f"one curve per width ({Ns.size})")
    C = check_array("C", C, ndim=1, min_size=1)
    v = _vertex(np.log(Ns), _surface(Ns, [np.asarray(t, float) for t in ts], [np.asarray(L, float) for L in means], C))
    return np.exp(v[0]), np.exp(v[1])


def window_exponents(C, n_opt, loss, window) -> tuple[float, float]:
    """(width exponent, loss exponent) of an allocation curve on a compute ``window`` (lo, hi):
    slope of log N* and −slope of log L* against log C; every point of the window must be finite."""
    C = check_array("C", C, ndim=1, min_size=2)
    m = (C >= window[0]) & (C <= window[1])
    v = np.log(np.vstack([np.asarray(n_opt, float), np.asarray(loss, float)]))
    require(m.sum() >= 2 and bool(np.all(np.isfinite(v[:, m]))), "window", window,
            "a compute range with >= 2 points where N* and L* are finite")
    return _slopes(C, v, m)
