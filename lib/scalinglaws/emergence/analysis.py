"""Analysis of emergence runs: observed emergence times, rise widths, convergence, and the
decisions of the Theorem 2.1 checks (kept here so that they can be unit-tested and fed wrong input)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalinglaws import spectra
from scalinglaws.analysis.fits import fit_power_law
from scalinglaws.analysis.frontier import frontier_fit
from scalinglaws.errors import ParameterTypeError, check_array, check_int, check_real, require

from scalinglaws.result import Curve
from scalinglaws.emergence.model import _check_seeds, _check_teacher, _check_widths, tail_loss
from scalinglaws.emergence.transitions import ToyCurve, frontier_window, greedy_toy, toy_curve, toy_sum

__all__ = ['rise_width', 'rise_width_theory', 'unstable_eta_law', 'converged', 'UnusedNeurons', 'unused_neurons', 'converged_pairs', 'emergence_slope',
           'seed_spread', 'time_fit_window', 'width_run_steps', 'width_clock', 'floor_slope',
           'greedy_frontier_slopes', 'staircase_bounds', 'staircase_window']

# ----------------------------------------------------------------------------------------------
# Analysis helpers used by the chapter
# ----------------------------------------------------------------------------------------------
def rise_width(res: Curve, lo: float = 0.1, hi: float = 0.9) -> np.ndarray:
    """Relative width ``(t_hi - t_lo) / t_{1/2}`` of the rise of each greedy pair's squared cosine
    from ``lo`` to ``hi`` (log-linear interpolation between checkpoints; nan if not reached).

    Closed forms: ``k = 4`` toy, ``u0 [f(hi) - f(lo)]`` with ``f(u) = -1/u + ln(u/(1-u))``
    (about ``13.3 u0``); ``k = 2`` (logistic), ``2 ln 9 / ln((1-u0)/u0)``.
    """
    from scalinglaws.analysis.fits import first_crossing
    t = res.t.astype(float)
    out = np.full(res.pair_overlap.shape[1], np.nan)
    for i in range(len(out)):
        y = res.pair_overlap[:, i]
        tl, th, tm = (first_crossing(t[1:], y[1:], v, "up") for v in (lo, hi, 0.5))
        if np.isfinite(tl) and np.isfinite(th) and np.isfinite(tm) and y[0] < lo:
            out[i] = (th - tl) / tm
    return out


def rise_width_theory(u0, k: int, lo: float = 0.1, hi: float = 0.9):
    """Closed-form relative rise width of :func:`rise_width` for the single-direction ODE
    ``du/dt = 2 k a u^{k/2}(1-u)`` (``k`` = 2 or 4), ignoring the norm dynamics."""
    u0 = np.asarray(u0, dtype=float)
    if k == 4:
        f = lambda u: -1.0 / u + np.log(u / (1 - u))  # noqa: E731
        return (f(hi) - f(lo)) / (f(0.5) - f(u0))
    if k == 2:
        g = lambda u: np.log(u / (1 - u))  # noqa: E731
        return (g(hi) - g(lo)) / (g(0.5) - g(u0))
    raise ValueError(f"k={k!r} is invalid: 2 or 4")


def unstable_eta_law(a: np.ndarray, T1_eta1: float, curve: ToyCurve, ns, tau_stop: float = 1.5):
    """Corollary 2.3 protocol in the toy sum: to learn the top ``n`` directions use
    ``eta_n = eta_1 a_n / a_1`` (the step scaled with the smallest coefficient to be learned) and
    stop at ``tau_stop`` times the transition time of direction ``n``.  With ``T_p(eta_1) =
    T1_eta1 a_1/a_p`` (steps) this gives ``T_p(eta_n) = T_p(eta_1) a_1/a_n``.

    Returns ``(samples, loss)``, one point per ``n`` (samples = steps, batch 1).
    """
    a = np.asarray(a, dtype=float)
    ns = np.asarray(ns, dtype=int)
    require(bool(np.all((ns >= 1) & (ns <= len(a)))), "ns", ns, f"integers in [1, {len(a)}]")
    T_eta1 = T1_eta1 * a[0] / a
    samples, loss = [], []
    for n in ns:
        T = T_eta1 * a[0] / a[n - 1]
        t = tau_stop * T[n - 1]
        samples.append(t)
        loss.append(toy_sum([t], a, T, curve)[0])
    return np.array(samples), np.array(loss)


def converged(t, L, decades: float = 0.5, rtol: float = 0.05) -> bool:
    """True when ``L`` changed by less than ``rtol`` (relative) over the last ``decades`` of ``t``."""
    t = np.asarray(t, dtype=float)
    L = np.asarray(L, dtype=float)
    ok = t > 0
    Lh = np.interp(np.log(t[ok][-1]) - decades * np.log(10), np.log(t[ok]), L[ok])
    return bool((Lh - L[ok][-1]) <= rtol * L[ok][-1])


# ----------------------------------------------------------------------------------------------
# Decisions of chapter 5's Theorem 2.1 checks (kept here so that they can be unit-tested and fed
# the alternative in tests/test_mustfail_05_sgd_emergence.py)
# ----------------------------------------------------------------------------------------------
@dataclass
class UnusedNeurons:
    """Outcome of :func:`unused_neurons` (Thm 2.1(a): neurons outside the learned set stay tiny).

    ``late``: neuron indices tested; ``captured``: late neurons that end aligned
    (``cos^2 >= level``) with a direction that is *not* their greedy partner's, i.e. captured by a
    direction another neuron is learning; ``early``: late neurons that aligned with their own greedy
    direction (ahead of schedule; not a violation of (a)); ``growth``: ``||v(T)||^2 / ||v(0)||^2``
    of every late neuron; ``max_growth_free``: the largest growth among the late neurons that
    were neither captured nor early (``nan`` if none); ``grown``: those of them whose growth
    exceeds ``max_growth``; ``violations = len(captured) + len(grown)``; ``holds`` is
    ``violations == 0``.
    """

    late: np.ndarray
    captured: np.ndarray
    early: np.ndarray
    growth: np.ndarray
    max_growth_free: float
    grown: np.ndarray
    violations: int
    holds: bool


def unused_neurons(res: Curve, t_end: float, *, late_factor: float = 2.0,
                   min_fraction: float = 0.25, level: float = 0.5,
                   max_growth: float = 10.0) -> UnusedNeurons:
    """Count the violations of Thm 2.1(a) in one run: which neurons outside the learned set grew.

    The *late* neurons are the greedy partners whose predicted time exceeds ``late_factor *
    t_end`` together with (so that the test is never empty) the last ``min_fraction`` of the greedy
    list, plus every neuron that the greedy pairing left without a partner (``m > P``).  A late
    neuron is a violation when it ends aligned with a direction other than its greedy partner's
    (*captured*) or, otherwise, when its squared norm grew by more than ``max_growth``.  Uses the
    final checkpoint (extras ``res.norms[-1]``, ``res.final_best_overlap`` and
    ``res.final_best_teacher``).
    """
    require(t_end > 0, "t_end", t_end, "a number > 0")
    require(late_factor > 0 and 0 <= min_fraction <= 1 and 0 < level < 1 and max_growth >= 1,
            "options", (late_factor, min_fraction, level, max_growth),
            "late_factor > 0, min_fraction in [0, 1], level in (0, 1), max_growth >= 1")
    st = np.asarray(res.students, dtype=int)
    te = np.asarray(res.teachers, dtype=int)
    m = res.norms.shape[1]
    n_min = max(1, int(len(st) * min_fraction)) if len(st) else 0
    sel = (np.asarray(res.T_pred) > late_factor * t_end) | (np.arange(len(st)) >= len(st) - n_min)
    partner = np.full(m, -1)
    partner[st] = te
    unpaired = np.setdiff1d(np.arange(m), st)
    late = np.concatenate([st[sel], unpaired]).astype(int)
    best_t = np.asarray(res.final_best_teacher)[late]
    best_o = np.asarray(res.final_best_overlap)[late]
    aligned = best_o >= level
    own = best_t == partner[late]
    captured = late[aligned & ~own]
    early = late[aligned & own]
    growth = res.norms[-1, late] / res.norms[0, late]
    free = ~aligned
    max_free = float(growth[free].max()) if free.any() else float("nan")
    grown = late[free & (growth > max_growth)]
    viol = int(len(captured) + len(grown))
    return UnusedNeurons(late, captured, early, growth, max_free, grown, viol, viol == 0)


def converged_pairs(res: Curve, t_end: float, a: np.ndarray, margin: float = 3.0):
    """Thm 2.1(b) at the end of a run: for every greedy pair predicted before ``t_end / margin``,
    the partner's final squared cosine with its direction and its final ``||v||^2 / a_{pi(p)}``.
    Returns ``(overlap, norm_ratio)`` (arrays over those pairs; empty if none is due)."""
    a = np.asarray(a, dtype=float)
    due = np.asarray(res.T_pred) <= t_end / margin
    st = np.asarray(res.students)[due]
    te = np.asarray(res.teachers)[due]
    return res.pair_overlap[-1, due], res.norms[-1, st] / a[te]


def emergence_slope(T_pred, t_obs) -> tuple[float, float, int]:
    """Slope of ``log t_obs`` against ``log T_pred`` over the pairs that emerged (finite
    ``t_obs``), by least squares: ``(slope, standard error, number of pairs)``.  Thm 2.1 predicts
    slope 1 (emergence at ``T_p``); emergence unrelated to the prediction gives slope 0."""
    T = np.asarray(T_pred, dtype=float).ravel()
    t = np.asarray(t_obs, dtype=float).ravel()
    require(T.shape == t.shape, "t_obs", t.shape, f"the shape of T_pred {T.shape}")
    ok = np.isfinite(t) & np.isfinite(T) & (t > 0) & (T > 0)
    n = int(ok.sum())
    if n < 3:
        return float("nan"), float("nan"), n
    x, y = np.log(T[ok]), np.log(t[ok])
    xc = x - x.mean()
    sxx = float(np.sum(xc * xc))
    if sxx == 0:
        return float("nan"), float("nan"), n
    b = float(np.sum(xc * (y - y.mean())) / sxx)
    r = y - y.mean() - b * xc
    se = float(np.sqrt(np.sum(r * r) / (n - 2) / sxx))
    return b, se, n


# ----------------------------------------------------------------------------------------------
# Chapter 5's rules for fit windows, run lengths, clocks and seed statistics
# ----------------------------------------------------------------------------------------------
def seed_spread(x) -> tuple[float, float, float]:
    """Mean, sample standard deviation (ddof 1; NaN for one value) and standard error of the mean
    of the per-seed values ``x``: ``(mean, sd, sd / sqrt(n))``."""
    x = np.asarray(x, dtype=float)
    sd = float(np.std(x, ddof=1)) if len(x) > 1 else float("nan")
    return float(np.mean(x)), sd, sd / np.sqrt(len(x))


def time_fit_window(T1: float, t_end: float, lo: float = 2.0, hi: float = 40.0) -> tuple:
    """Chapter 5's window for the time exponent of one run: ``(lo T1, min(hi T1, t_end))`` with
    ``T1`` the first predicted emergence time of the run's initialisation (``T_pred[0]``) and
    ``t_end`` its last step; ``[2, 40] T1`` by default (chosen on one initialisation, then
    frozen)."""
    return (lo * T1, min(hi * T1, t_end))


def width_run_steps(widths, T1_widest, C_hi: float, max_steps: int, span: float = 40.0,
                    margin: float = 1.05) -> dict:
    """Steps each width of a sweep must run, fixed from the initialisation before any training:
    long enough for the time fit of the widest network (``span`` times its largest first greedy
    time ``max(T1_widest)``) and for width ``m`` to reach the end ``C_hi`` of the compute window
    (``C_hi / m`` steps), with a ``margin``, and at most ``max_steps``::

        steps(m) = int(min(max_steps, ceil(margin * max(span * max(T1_widest), C_hi / m)))).

    ``widths``: a non-empty list of integers >= 1; ``T1_widest``: times > 0.
    """
    widths = _check_widths(widths)
    check_real("C_hi", C_hi, 0.0, lo_open=True)
    T1_arr = check_array("T1_widest", T1_widest, ndim=(0, 1), min_size=1)
    require(bool(np.all(T1_arr > 0)), "T1_widest", T1_widest, "first greedy times > 0")
    check_int("max_steps", max_steps, 1)
    check_real("span", span, 0.0, lo_open=True)
    check_real("margin", margin, 1.0)
    T1_max = np.max(T1_arr)
    return {m: int(min(max_steps, np.ceil(margin * max(span * T1_max, C_hi / m)))) for m in widths}


def width_clock(T1: dict, ref) -> dict:
    """Clock of each width from the initialisation alone: the mean first greedy time of width
    ``m`` over initialisations divided by that of width ``ref`` (``T1[m]``: the first greedy times
    of width ``m``, e.g. from :func:`~scalinglaws.emergence.gd.greedy_floor`).  Time divided by the
    clock is time in units of each width's own ``T_1`` (Prop. 2.2's ``K_0(m)``).

    ``T1``: a non-empty dict, keys widths (integers >= 1), values non-empty lists of times > 0."""
    if not isinstance(T1, dict):
        raise ParameterTypeError(f"T1={T1!r} is invalid: a dict {{width: first greedy times}} "
                                 f"(got {type(T1).__name__})")
    require(len(T1) >= 1, "T1", T1, "a non-empty dict {width: first greedy times}")
    for m, v in T1.items():
        check_int("T1 key (width)", m, 1)
        arr = check_array(f"T1[{m!r}]", v, ndim=(0, 1), min_size=1)
        require(bool(np.all(arr > 0)), f"T1[{m!r}]", v, "first greedy times > 0")
    require(ref in T1, "ref", ref, f"one of the widths {sorted(T1)}")
    return {m: float(np.mean(v) / np.mean(T1[ref])) for m, v in T1.items()}


def floor_slope(floors: dict, window) -> float:
    """Power-law slope of the width floors ``floors[m]`` over the widths ``m`` inside ``window =
    (m_lo, m_hi)`` (inclusive); NaN when fewer than three widths fall inside."""
    mm = [m for m in floors if window[0] <= m <= window[1]]
    return fit_power_law(mm, [floors[m] for m in mm]).slope if len(mm) >= 3 else float("nan")


def greedy_frontier_slopes(d: int, P: int, beta: float, widths, seeds, *, eta: float,
                           sigma0: float, spans=None) -> list:
    """Raw and own-clock compute-frontier slopes that the decoupled picture of Thm 2.1 predicts
    from initialisations alone (:func:`~scalinglaws.emergence.transitions.greedy_toy`; no
    training), with the network's rule of chapter 5: teacher ``a_p ∝ p^-beta`` over ``P``
    directions plus the tail :func:`~scalinglaws.emergence.model.tail_loss`, universal curve at
    ``u0 = 1/d``, times on a grid of 100 points per decade up to beyond ``C_hi / m_min`` (steps of
    size ``eta``), window :func:`~scalinglaws.emergence.transitions.frontier_window` with ``T1`` the
    mean first greedy time of the widest network over the inits, clock ``mean T1(m) / T1(m_max)``.

    Returns, for each list of widths in ``spans`` (default: all ``widths``), a pair
    ``(raw, own)`` of :func:`seed_spread` tuples ``(mean, sd, s.e.)`` over the ``seeds``.

    ``widths``: at least two distinct integers >= 1; ``seeds``: a non-empty list of integers >= 0;
    ``spans``: None or a non-empty list of lists of at least two distinct widths taken from
    ``widths``; ``3 <= d``, ``P <= d``; ``sigma0`` in ``(0, sqrt(0.1))``; ``beta > 1/2``
    (summable tail)."""
    check_int("d", d, 3)                   # the universal curve starts at u0 = 1/d < 1/2
    check_int("P", P, 1)
    require(P <= d, "P", P, f"an integer in [1, d={d}] (teacher directions in R^d)")
    check_real("beta", beta)
    require(0.5 < beta <= 10, "beta", beta, "a number in (1/2, 10] (summable tail)")
    check_real("eta", eta, 0.0, lo_open=True)
    check_real("sigma0", sigma0)
    require(0 < sigma0 and sigma0 ** 2 < 0.1, "sigma0", sigma0, "a number in (0, sqrt(0.1)) "
            "(the universal curve starts at rho0 = sigma0^2 / 0.1 < 1)")
    ws_all = _check_widths(widths, min_count=2, distinct=True)
    _check_seeds(seeds)
    if spans is not None:
        if isinstance(spans, (str, bytes, dict)) or not hasattr(spans, "__len__"):
            raise ParameterTypeError(f"spans={spans!r} is invalid: None or a list of lists of "
                                     f"widths (got {type(spans).__name__})")
        require(len(spans) >= 1, "spans", spans, "None or a non-empty list of lists of widths")
        for i, ws in enumerate(spans):
            ws = _check_widths(ws, name=f"spans[{i}]", min_count=2, distinct=True)
            require(set(ws) <= set(ws_all), f"spans[{i}]", spans[i],
                    f"widths taken from widths={ws_all}")
    a_ = spectra.power_law_amplitudes(P, beta)
    R_ = tail_loss(P, beta)
    crv = toy_curve(4, u0=1.0 / d, rho0=sigma0**2 / 0.1)
    dec = np.log10(2e3 * max(widths) ** beta * d / eta)   # beyond C_hi / m_min, in steps
    t_ = np.logspace(0, dec, int(100 * dec))                # 100 points per decade
    res = [greedy_toy(widths, d, a_, s_, t_, crv, eta=eta, sigma0=sigma0) for s_ in seeds]
    out = []
    for ws in ([list(widths)] if spans is None else spans):
        T1m = float(np.mean([T1_[max(ws)] for _, T1_ in res]))
        clk = {m: float(np.mean([T1_[m] for _, T1_ in res])) / T1m for m in ws}
        win = frontier_window(ws, T1m, beta)
        Cg = np.logspace(np.log10(min(ws) * T1m), np.log10(1.5 * win[1]), 120)
        raw = [frontier_fit({m: (t_, L_[m] + R_) for m in ws}, Cg, win)[1].slope for L_, _ in res]
        own = [frontier_fit({m: (t_, L_[m] + R_) for m in ws}, Cg, win, clock=clk)[1].slope
               for L_, _ in res]
        out.append((seed_spread(raw), seed_spread(own)))
    return out


# ----------------------------------------------------------------------------------------------
# Thm 2.1(d): the loss as a staircase
# ----------------------------------------------------------------------------------------------
def staircase_bounds(t, a: np.ndarray, teachers, T_pred, delta: float):
    """The two staircases of Thm 2.1(d) without the ``O(eps_D)`` terms, at the times ``t``::

        lower(t) = sum a^2 - sum_p a_{pi(p)}^2 1{t >= (1 - delta) T_p},
        upper(t) = sum a^2 - sum_p a_{pi(p)}^2 1{t >= (1 + delta) T_p},

    for the greedy pairs ``teachers`` (``pi(p)``) with predicted times ``T_pred`` (``sum a^2`` is
    1 for a normalised teacher).  Returns ``(lower, upper)``.

    >>> lo, hi = staircase_bounds([1.0, 2.0], [0.8, 0.6], [0, 1], [1.0, 2.0], 0.1)
    >>> [round(float(x), 6) for x in lo], [round(float(x), 6) for x in hi]
    ([0.36, 0.0], [1.0, 0.36])
    """
    a = _check_teacher(a, positive=False)
    t = check_array("t", t, ndim=1)
    te = np.asarray(teachers, dtype=int)
    T = check_array("T_pred", T_pred, ndim=1, finite=False)
    require(te.shape == T.shape, "T_pred", T.shape, f"one time per pair, shape {te.shape}")
    check_real("delta", delta, 0.0, 1.0)
    w = a[te] ** 2
    tot = float(np.sum(a * a))
    lower = tot - np.array([np.sum(w[(1 - delta) * T <= x]) for x in t])
    upper = tot - np.array([np.sum(w[(1 + delta) * T <= x]) for x in t])
    return lower, upper


def staircase_window(res: Curve, a: np.ndarray, t_min: float, *, frac: float = 0.95,
                     atol: float = 1e-3, grid=None) -> float:
    """Smallest relative window ``Delta`` (on ``grid``, default 0.05, 0.10, ..., 1.00) for which
    the loss of run ``res`` lies between the staircase bounds of :func:`staircase_bounds` (within
    ``atol``, the stand-in for ``O(eps_D)``) at a fraction ``>= frac`` of its recorded times
    ``t >= t_min``; NaN when no window on the grid does.  Thm 2.1(d) says ``Delta = o_d(1)``."""
    check_real("t_min", t_min, 0.0)
    check_real("frac", frac, 0.0, 1.0, lo_open=True)
    check_real("atol", atol, 0.0)
    grid = np.round(np.arange(1, 21) * 0.05, 10) if grid is None else check_array("grid", grid,
                                                                                   ndim=1)
    sel = np.asarray(res.t) >= t_min
    require(bool(sel.any()), "t_min", t_min, f"at most the last recorded time {res.t[-1]}")
    t, L = np.asarray(res.t, dtype=float)[sel], np.asarray(res.loss)[sel]
    for D in grid:
        lo, hi = staircase_bounds(t, a, res.teachers, res.T_pred, float(D))
        if np.mean((L >= lo - atol) & (L <= hi + atol)) >= frac:
            return float(D)
    return float("nan")
