r"""Specialisation of the soft committee machine: leaving the plateau and the approach to the teacher.

Observables and linear theory for the realisable case K = M (Saad & Solla 1995; Biehl, Riegler &
Wöhler 1996; Worschech & Rosenow 2024 for power-law spectra: our reconstruction of their
asymptotic phase, described in the book's sources appendix, chapters/sources_worschech_rosenow.md).
Conventions: :mod:`scalinglaws.conventions` (outputs :math:`(1/\sqrt K)\sum_i g(x_i)`,
:math:`\varepsilon_g=\tfrac12E[(y-\hat y)^2]`, time :math:`\alpha` = steps/N).

* :func:`teacher_coefficients`, :func:`specialisation_gap`, :func:`assignment`,
  :func:`escape_time` -- the transition :math:`R_{in}\to\delta_{\pi(i)n}` seen per unit.
* :func:`specialised_fixed_point` -- the perfectly specialised state
  :math:`Q^{[l]}_{ik}=T^{[l]}_{\pi(i)\pi(k)}`, :math:`R^{[l]}_{in}=T^{[l]}_{\pi(i)n}` (student equals
  teacher up to the permutation :math:`\pi`); it is an exact fixed point of the full group ODE
  at any :math:`\eta` because the error :math:`y-\hat y` vanishes identically there.
* :func:`jacobian`, :func:`relaxation_rates`, :func:`linearised_eps_g` -- the linearisation at
  that point: :math:`\dot\delta = J\delta`, :math:`\delta(\alpha) = V e^{\Lambda\alpha}V^{-1}\delta_0`;
  the linearised learning curve evaluates the exact :math:`\varepsilon_g` on the linearised state.
* :func:`simulate_seeds`, :func:`ode_from`, :func:`aligned_comparison` -- SGD seed by seed (group
  overlaps per seed), the ODE restarted from any state of a run, and the paired SGD--ODE comparison
  after aligning each seed at its own escape.
* :func:`two_slowest_rates`, :func:`mean_and_tolerance`, :func:`max_z` -- the decisions of the
  chapter's checks (the slowest and the next distinct decay rate of :math:`\varepsilon_g`, a seed
  mean with its tolerance of a few standard errors, the largest SGD--ODE deviation in standard
  errors), kept here so that the tests can feed them the competing hypothesis and see them fail.
* :func:`linear_mode_sum`, :func:`jackknife_slope`, :func:`linearisation_deviation` -- the
  read-outs of the asymptotic phase: the linear theory's mode sum (finite-L reference of a fitted
  slope), a power-law slope of the teacher-averaged curve with its jackknife standard error, and
  the largest deviation of the linearised curve from the full ODE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from scalinglaws.committee import ode as _ode
from scalinglaws.committee import sgd as _sgd
from scalinglaws.errors import require
from scalinglaws.committee.setup import Overlaps, Setup, trajectory
from scalinglaws.result import Curve

__all__ = ["teacher_coefficients", "specialisation_gap", "assignment", "escape_time",
           "specialised_fixed_point", "jacobian", "relaxation_rates", "linearised_eps_g",
           "exponential_rate", "simulate_seeds", "ode_from", "state_at", "AlignedComparison",
           "aligned_comparison", "two_slowest_rates", "mean_and_tolerance", "max_z",
           "linear_mode_sum", "jackknife_slope", "linearisation_deviation"]


# ----------------------------------------------------------------------------------------------
# observables of the transition
# ----------------------------------------------------------------------------------------------
def teacher_coefficients(R: np.ndarray, T: np.ndarray) -> np.ndarray:
    r"""Coefficients :math:`A = R\,T^{-1}` of the student vectors on the teacher vectors.

    Writing :math:`J_i = \sum_n A_{in} B_n + J_i^\perp` (orthogonal in the metric of
    :math:`\Sigma`) gives :math:`R = A T`, so :math:`A = R T^{-1}` for physical overlaps with any
    leading axes (..., K, M).  At perfect specialisation :math:`R_{in} = T_{\pi(i)n}`, hence
    :math:`A_{in} = \delta_{\pi(i)n}` exactly, even for a correlated finite-N teacher
    (:math:`T \ne 1`); on the symmetric plateau all :math:`A_{in}` are equal.
    """
    R, T = np.asarray(R, dtype=float), np.asarray(T, dtype=float)
    return np.swapaxes(np.linalg.solve(np.swapaxes(T, -1, -2), np.swapaxes(R, -1, -2)), -1, -2)


def specialisation_gap(R: np.ndarray, T: np.ndarray, per_unit: bool = False) -> np.ndarray:
    r"""Specialisation gap: for each student unit, largest minus second-largest :math:`|A_{in}|`
    over teacher units n (:func:`teacher_coefficients`); the mean over units unless ``per_unit``.

    0 on the symmetric plateau, exactly 1 at perfect specialisation.  For M = 1 the
    second-largest is taken as 0.
    """
    a = np.abs(teacher_coefficients(R, T))
    s = np.sort(a, axis=-1)
    gap = s[..., -1] - (s[..., -2] if a.shape[-1] > 1 else 0.0)
    return gap if per_unit else gap.mean(axis=-1)


def assignment(R: np.ndarray, T: np.ndarray) -> np.ndarray:
    r"""Student-to-teacher permutation :math:`\pi` maximising :math:`\sum_i |A_{i\pi(i)}|`
    (:func:`teacher_coefficients`; Hungarian algorithm).  Requires K <= M.

    Returns ``perm`` with ``perm[i]`` = teacher unit of student i.
    """
    R = np.asarray(R, dtype=float)
    require(R.ndim == 2 and R.shape[0] <= R.shape[1], "R", f"shape {R.shape}", "(K, M) with K <= M")
    rows, cols = linear_sum_assignment(-np.abs(teacher_coefficients(R, T)))
    perm = np.empty(R.shape[0], dtype=int)
    perm[rows] = cols
    return perm


def escape_time(t: np.ndarray, gap: np.ndarray, level: float = 0.5) -> float:
    """First time at which the specialisation gap rises through ``level`` (log-interpolated);
    ``nan`` if it never does."""
    require(0 < level < 1, "level", level, "0 < level < 1")
    from scalinglaws.analysis.fits import first_crossing

    return first_crossing(t, gap, level, direction="up")


# ----------------------------------------------------------------------------------------------
# the specialised fixed point and its linearisation
# ----------------------------------------------------------------------------------------------
def specialised_fixed_point(T: np.ndarray, perm: np.ndarray | None = None) -> Overlaps:
    r"""Perfectly specialised state for group teacher overlaps ``T`` (L, M, M) and a permutation.

    :math:`Q^{[l]}_{ik} = T^{[l]}_{\pi(i)\pi(k)}`, :math:`R^{[l]}_{in} = T^{[l]}_{\pi(i)n}`, i.e.
    :math:`J_i = B_{\pi(i)}`.  Exact fixed point of the group ODE for K = M at any learning rate
    (the error vanishes for every input, so the drift and the :math:`\eta^2` noise term vanish).
    """
    T = np.asarray(T, dtype=float)
    if T.ndim == 2:
        T = T[None]
    M = T.shape[-1]
    perm = np.arange(M) if perm is None else np.asarray(perm, dtype=int)
    require(sorted(perm.tolist()) == list(range(M)), "perm", perm.tolist(),
            f"a permutation of 0..{M - 1} (realisable case K = M)")
    R = T[:, perm, :]
    Q = R[:, :, perm]
    return Overlaps(Q, R, T)


def jacobian(setup: Setup, state: Overlaps, method: str = "structured") -> np.ndarray:
    r"""Dense Jacobian of the flat group-resolved right-hand side (layout :class:`~scalinglaws.committee.ode.Packing`).

    ``"structured"``: :math:`J = \mathrm{blockdiag}(\lambda_l\mathcal L(C)) + U\,(\lambda^T\otimes
    1_p)`, from the exact linear group operator and a forward-difference derivative of the
    group right-hand sides with respect to the physical covariance (O(L p^2) work, Woodbury form
    of :func:`~scalinglaws.committee.ode.ros2`).  ``"central"``: :func:`~scalinglaws.committee.ode.jacobian_physical` (central differences in
    every state coordinate; O(L^2 p^2), used as the reference in the tests).
    """
    require(method in ("structured", "central"), "method", method, "'structured' or 'central'")
    if method == "central":
        return _ode.jacobian_physical(setup, state)
    prob = _ode._Problem(setup, state)
    Lop, U = prob.structured_jacobian(prob.y0)
    L, p = setup.L, prob.pk.p
    lam = setup.spectrum.eigenvalues
    J = np.einsum("lpq,m->lpmq", U, lam).reshape(L * p, L * p)
    for l in range(L):
        J[l * p:(l + 1) * p, l * p:(l + 1) * p] += lam[l] * Lop - np.diag(prob.decay)
    return J


def relaxation_rates(setup: Setup, state: Overlaps, method: str = "structured") -> np.ndarray:
    """Eigenvalues of :func:`jacobian`, sorted by decreasing real part (slowest first)."""
    ev = np.linalg.eigvals(jacobian(setup, state, method))
    return ev[np.argsort(-ev.real)]


def linearised_eps_g(setup: Setup, fixed_point: Overlaps, start: Overlaps, times,
                     t0: float = 0.0, method: str = "structured") -> np.ndarray:
    r"""Learning curve of the dynamics linearised at ``fixed_point``, started from ``start`` at t0.

    :math:`\delta(\alpha) = V e^{\Lambda(\alpha-\alpha_0)} V^{-1}\delta_0` with
    :math:`J = V\Lambda V^{-1}` (:func:`jacobian`) and :math:`\delta_0` = ``start`` minus
    ``fixed_point`` (group overlaps); returns the exact :math:`\varepsilon_g` (arcsin formula,
    :meth:`~scalinglaws.committee.setup.Setup.eps_g`) of the physical overlaps of fixed point + :math:`\delta(\alpha)`.  In
    the basis of eigenmodes each mode relaxes at its own rate; for a power-law spectrum these
    rates are :math:`\approx c\,\eta\lambda_l` (one family per eigen-group), which is how the
    linear theory's power law reappears.
    """
    require(bool(np.all(start.T == fixed_point.T)), "start", "teacher overlaps differ",
            "the same teacher T as the fixed point")
    times = np.asarray(times, dtype=float)
    require(bool(np.all(times >= t0)), "times", "earlier than t0", f">= t0={t0}")
    J = jacobian(setup, fixed_point, method)
    ev, V = np.linalg.eig(J)
    pk = _ode.Packing(setup.K, setup.M, setup.L)
    y_fp = pk.pack(fixed_point.Q, fixed_point.R).ravel()
    d0 = pk.pack(start.Q, start.R).ravel() - y_fp
    c = np.linalg.solve(V, d0.astype(complex))
    lam = setup.spectrum.eigenvalues
    Tphys = np.einsum("l,lnm->nm", lam, fixed_point.T)
    out = np.empty(times.size)
    for k, t in enumerate(times):
        y = y_fp + (V @ (c * np.exp(ev * (t - t0)))).real
        Qg, Rg = pk.unpack(y.reshape(setup.L, pk.p))
        Q = np.einsum("l,lik->ik", lam, Qg)
        R = np.einsum("l,lin->in", lam, Rg)
        out[k] = setup.eps_g(np.block([[Q, R], [R.T, Tphys]]))
    return out


def exponential_rate(t: np.ndarray, y: np.ndarray, window: tuple[float, float]) -> tuple[float, float]:
    """Rate r of y ~ A exp(-r t): least-squares slope of -ln y against t on ``window`` (values of
    y, i.e. ``window = (y_lo, y_hi)``).  Returns (rate, standard error of the slope)."""
    from scipy import stats

    t, y = np.asarray(t, float), np.asarray(y, float)
    lo, hi = window
    m = (y >= lo) & (y <= hi) & np.isfinite(y)
    require(m.sum() >= 3, "window", window, f"must contain >= 3 points (has {int(m.sum())})")
    res = stats.linregress(t[m], np.log(y[m]))
    return float(-res.slope), float(res.stderr)


# ----------------------------------------------------------------------------------------------
# SGD seed by seed, ODE restarts, alignment at the escape
# ----------------------------------------------------------------------------------------------
def simulate_seeds(setup: Setup, N: int, times, seeds, **kw) -> list[Curve]:
    """:func:`~scalinglaws.committee.sgd.simulate` one seed at a time, so that each trajectory carries its own
    group-resolved overlaps (``traj.groups``, needed to restart the ODE from a seed's state when
    L > 1).  A seed's run is identical to its run inside a batch (stream per seed, see
    :mod:`scalinglaws.committee.sgd`)."""
    kw.setdefault("show_progress", False)
    return [_sgd.simulate(setup, N, times=times, seeds=[int(s)], **kw) for s in seeds]


def state_at(traj: Curve, k: int) -> Overlaps:
    """Group overlaps of a (single-seed or ODE) trajectory at record index k (needs ``groups``)."""
    require(traj.groups is not None, "traj", "without group overlaps",
            "a trajectory with groups (ODE keep_groups=True, or a single-seed SGD run)")
    g = traj.groups
    return Overlaps(g["Q"][k], g["R"][k], g["T"])


def ode_from(setup: Setup, state: Overlaps, t0: float, times, **kw) -> Curve:
    """Integrate the ODE from ``state`` at time t0 and report it at absolute ``times`` (> t0)."""
    times = np.asarray(times, dtype=float)
    require(bool(np.all(times > t0)), "times", "not all later than t0", f"> t0={t0}")
    kw.setdefault("show_progress", False)
    tr = _ode.integrate(setup, state, times=np.concatenate([[0.0], times - t0]), **kw)
    return trajectory(times, tr.loss[1:], tr.Q[1:], tr.R[1:], tr.T,
                      groups=None if tr.groups is None else
                      {"Q": tr.groups["Q"][1:], "R": tr.groups["R"][1:], "T": tr.groups["T"]},
                      meta=dict(tr.meta, t0=t0))


@dataclass
class AlignedComparison:
    """SGD and ODE learning curves at lags after each seed's alignment time.

    Attributes: ``lags`` (n,), ``t_align`` (S,), ``sgd`` (S, n), ``ode`` (S, n), and the seed
    means/standard errors ``sgd_mean``, ``sgd_se``, ``ode_mean``, ``diff_mean``, ``diff_se``
    (paired difference SGD - ODE, its standard error over seeds).
    """

    lags: np.ndarray
    t_align: np.ndarray
    sgd: np.ndarray
    ode: np.ndarray

    @property
    def sgd_mean(self):
        return self.sgd.mean(axis=0)

    @property
    def sgd_se(self):
        return self.sgd.std(axis=0, ddof=1) / math.sqrt(self.sgd.shape[0])

    @property
    def ode_mean(self):
        return self.ode.mean(axis=0)

    @property
    def diff_mean(self):
        return (self.sgd - self.ode).mean(axis=0)

    @property
    def diff_se(self):
        return (self.sgd - self.ode).std(axis=0, ddof=1) / math.sqrt(self.sgd.shape[0])


def aligned_comparison(setup: Setup, runs: list[Curve], level: float, n_lags: int,
                       **kw) -> AlignedComparison:
    r"""Restart the ODE from each SGD seed's own state at its alignment time and compare.

    For each single-seed run (:func:`simulate_seeds`, recorded on a uniform grid), the alignment
    index is the first record at which the specialisation gap reaches ``level``; the ODE is
    integrated from that seed's group overlaps there and both are read at the next ``n_lags``
    records (lags = multiples of the grid spacing).  With the state matched at the escape, the
    remaining SGD--ODE difference is the finite-N fluctuation after alignment.
    """
    S = len(runs)
    require(S >= 2, "runs", S, ">= 2 single-seed runs (for a standard error)")
    dt = np.diff(runs[0].t)
    require(bool(np.allclose(dt, dt[0])), "runs", "non-uniform time grid", "a uniform grid")
    sgd_v = np.empty((S, n_lags))
    ode_v = np.empty((S, n_lags))
    t_al = np.empty(S)
    for s, tr in enumerate(runs):
        gap = specialisation_gap(tr.R, tr.T)
        idx = np.flatnonzero(gap >= level)
        require(idx.size > 0 and idx[0] + n_lags < len(tr.t), "level", level,
                f"reached by every seed with {n_lags} records to spare (seed {s} fails)")
        k = int(idx[0])
        t_al[s] = tr.t[k]
        od = ode_from(setup, state_at(tr, k), tr.t[k], tr.t[k + 1:k + 1 + n_lags], **kw)
        sgd_v[s] = tr.loss[k + 1:k + 1 + n_lags]
        ode_v[s] = od.loss
    lags = np.arange(1, n_lags + 1) * dt[0]
    return AlignedComparison(lags, t_al, sgd_v, ode_v)


# ----------------------------------------------------------------------------------------------
# decisions of the chapter's checks
# ----------------------------------------------------------------------------------------------
def two_slowest_rates(mu: np.ndarray, rtol: float = 1e-6) -> tuple[float, float]:
    r"""Decay rates of :math:`\varepsilon_g` of the slowest and of the next *distinct* Jacobian mode.

    :math:`\varepsilon_g` is quadratic in the deviation from the fixed point, so a mode with
    eigenvalue :math:`\mu` makes it decay at rate :math:`2|\mathrm{Re}\,\mu|`.  Eigenvalues whose
    rates agree within ``rtol`` (relative) count as one (degenerate pairs for a symmetric teacher).
    The second rate is the competing hypothesis of a tail fit: the tail follows the next mode
    because the slowest one is barely excited.

    Parameters
    ----------
    mu : array_like
        Eigenvalues of the Jacobian at a stable fixed point (:func:`relaxation_rates`).
    rtol : float
        Relative tolerance under which two rates are the same.

    Returns
    -------
    (r1, r2) : the slowest rate and the next distinct one (``nan`` if there is none).
    """
    r = np.sort(-2.0 * np.real(np.asarray(mu)))
    require(r.size >= 1, "mu", r.size, ">= 1 eigenvalue")
    require(r[0] > 0, "mu", float(r[0]), "eigenvalues with negative real part (a stable fixed point)")
    later = r[r > r[0] * (1.0 + rtol)]
    return float(r[0]), float(later[0]) if later.size else float("nan")


def mean_and_tolerance(values, n_se: float = 3.0) -> tuple[float, float]:
    """Mean over seeds and a tolerance of ``n_se`` standard errors of that mean.

    The decision "the seed mean equals a reference within n_se standard errors" is
    ``abs(mean - reference) <= tol``; it gets easier with fewer seeds, so a check built on it
    should state the value of a competing hypothesis and show that it is rejected.
    """
    v = np.asarray(values, dtype=float).ravel()
    require(v.size >= 2, "values", v.size, ">= 2 seeds (for a standard error)")
    require(n_se > 0, "n_se", n_se, "> 0")
    return float(v.mean()), float(n_se * v.std(ddof=1) / math.sqrt(v.size))


def max_z(sim, ref, *, paired: bool, mask=None) -> float:
    r"""Largest deviation between seed-resolved simulation curves and a reference, in standard errors.

    Parameters
    ----------
    sim : array (S, n)
        Simulation values of S seeds at n times.
    ref : array (S, n) or (n,)
        The reference (e.g. the ODE from each seed's state).
    paired : bool
        ``True``: :math:`|\overline{s-r}|/\mathrm{SE}(s-r)` from the per-seed differences (needs a
        per-seed reference); ``False``: :math:`|\bar s-\bar r|/\mathrm{SE}(s)`, the standard error
        of the simulation alone.
    mask : boolean array (n,), optional
        The times that count (default: all).

    Returns
    -------
    float : the maximum over the selected times.
    """
    s = np.asarray(sim, dtype=float)
    r = np.asarray(ref, dtype=float)
    require(s.ndim == 2 and s.shape[0] >= 2, "sim", s.shape, "(S, n) with S >= 2 seeds")
    if paired:
        require(r.shape == s.shape, "ref", r.shape, f"the shape of sim {s.shape} when paired")
        d = s - r
        z = np.abs(d.mean(axis=0) / (d.std(axis=0, ddof=1) / math.sqrt(s.shape[0])))
    else:
        rm = r.mean(axis=0) if r.ndim == 2 else r
        require(rm.shape == s.shape[1:], "ref", r.shape, f"n = {s.shape[1]} times")
        z = np.abs(s.mean(axis=0) - rm) / (s.std(axis=0, ddof=1) / math.sqrt(s.shape[0]))
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        require(m.shape == z.shape and m.any(), "mask", m.shape, f"a non-empty mask of {z.shape}")
        z = z[m]
    return float(np.max(z))


# ----------------------------------------------------------------------------------------------
# read-outs of the asymptotic phase
# ----------------------------------------------------------------------------------------------
def linear_mode_sum(eigenvalues, eta: float, alpha, c: float = 1.0) -> np.ndarray:
    r"""Mode sum of the linear theory, :math:`\varepsilon(\alpha) \propto \frac1L\sum_l \lambda_l
    e^{-2c\eta\lambda_l\alpha}` (one relaxation rate :math:`c\eta\lambda_l` per eigen-group of the
    spectrum ``eigenvalues``; ``c`` the O(1) rate factor of the activation, e.g.
    :math:`(2/\pi)/\sqrt3` for erf at the specialised point).  Its local slope in a finite
    window is the finite-L reference of a fitted exponent (it tends to :math:`-\beta/(1+\beta)`
    for a power law :math:`\lambda_l\propto l^{-(1+\beta)}` as L grows).  Returns one value per
    time in ``alpha``."""
    lam = np.asarray(eigenvalues, dtype=float)
    require(lam.ndim == 1 and lam.size >= 1, "eigenvalues", lam.shape, "a non-empty 1-d array")
    return np.mean(lam[None] * np.exp(-2 * c * eta * lam[None] * np.asarray(alpha)[:, None]), axis=1)


def jackknife_slope(t, curves, window) -> tuple:
    r"""Power-law slope of the mean of several curves (rows of ``curves``, e.g. one per teacher
    draw, sampled at times ``t``) in the time ``window``, with its leave-one-out jackknife
    standard error :math:`\sqrt{(n-1)\,\overline{(s_{(d)} - \bar s)^2}}`.

    Returns ``(fit, se)``: the :class:`~scalinglaws.analysis.fits.PowerLawFit` of the mean curve
    and the standard error of its slope."""
    from scalinglaws.analysis import fits

    E = np.asarray(curves, dtype=float)
    require(E.ndim == 2 and E.shape[0] >= 2, "curves", E.shape, "(n, len(t)) with n >= 2 curves")
    n = E.shape[0]
    fit = fits.fit_power_law(t, E.mean(0), window=tuple(window))
    jk = np.array([fits.fit_power_law(t, np.delete(E, d, 0).mean(0), window=tuple(window)).slope
                   for d in range(n)])
    return fit, np.sqrt((n - 1) * np.mean((jk - jk.mean()) ** 2))


def linearisation_deviation(t, eps, lin, k0: int, after: float = 3.0, floor: float = 1e-9) -> float:
    r"""Largest relative deviation :math:`\max|\varepsilon_{\rm lin}/\varepsilon_g - 1|` of a
    linearised learning curve ``lin`` (started at record ``k0``, i.e. ``lin[j]`` belongs to
    ``t[k0 + j]``) from the full curve ``eps``.

    Counted are the times from ``after`` times the start time on where ``eps`` is above ``floor``
    (the integrator's noise level); if there are none (a fast exponential decay), all times after
    the start with ``eps > floor``."""
    t, eps, lin = (np.asarray(a, dtype=float) for a in (t, eps, lin))
    require(0 <= k0 < t.size and lin.size == t.size - k0, "lin", lin.shape,
            f"one value per time from record k0={k0} on")
    late = (t[k0:] >= after * t[k0]) & (eps[k0:] > floor)
    if not late.any():
        late = (t[k0:] > t[k0]) & (eps[k0:] > floor)
    return np.max(np.abs(lin[late] / eps[k0:][late] - 1))
