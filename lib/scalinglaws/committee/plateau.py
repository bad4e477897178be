r"""The symmetric plateau of the realisable erf committee machine (K = M): fixed point, height,
escape rate and plateau length, for isotropic and structured (power-law) inputs.

Conventions: :mod:`scalinglaws.conventions`; time :math:`\alpha` = steps/N; the closed forms below
are for ``output_norm="sqrtK"`` (Worschech & Rosenow 2024, outputs :math:`K^{-1/2}\sum g`).  For
K = M the Saad--Solla (summed-output) values follow from :func:`scalinglaws.conventions.convert`
(:math:`\eta_{SS} = \eta/K`, :math:`\varepsilon_{SS} = K\varepsilon`).  The input spectrum must be
normalised to :math:`(1/N)\,\mathrm{tr}\,\Sigma = 1` and the teacher to :math:`T^{[l]} = f_l\,1`
(orthonormal teacher rows) for the closed forms.

Closed forms (our reconstruction of Worschech & Rosenow, described in the book's sources appendix,
chapters/sources_worschech_rosenow.md; Saad & Solla 1995 for the isotropic fixed point):

.. math::

   Q^*_{ik} = \frac{1}{2K-1},\quad R^*_{in} = \frac{1}{\sqrt{K(2K-1)}},\qquad
   \varepsilon_p = \frac16 - \frac K\pi \arcsin\frac1{2K}\quad(\eta\to0),

   \mu = \mu_{\rm iso}\,\langle\lambda^2\rangle,\qquad
   \mu_{\rm iso} = \frac{2\eta}{\pi}\,\frac{1}{\sqrt{2K-1}\,(2K+1)^{3/2}},\qquad
   \langle\lambda^2\rangle = \frac1N\mathrm{tr}\,\Sigma^2 = \sum_l f_l\lambda_l^2 .

Numerical counterparts (independent of those closed forms):

* :func:`symmetric_fixed_point` -- root of the symmetric-subspace ODE (L = 1, three unknowns
  :math:`Q_{ii}, Q_{i\neq k}, R_{in}`) at finite :math:`\eta` or for the O(η) dynamics;
* :func:`group_fixed_point` -- root of the *group-resolved* symmetric subspace (3L unknowns), which
  tests (rather than assumes) that the fixed point does not depend on the spectrum;
* :func:`escape_mode` -- largest eigenvalue of the dense Jacobian of the full group-resolved
  right-hand side (:func:`scalinglaws.committee.ode.jacobian_physical`) at the fixed point; the O(η) part is
  extracted exactly from two learning rates because the RHS is :math:`\eta A + \eta^2 B`;
* :func:`plateau_length` -- the escape time of a trajectory (definition in its docstring);
* :func:`perturbed_fixed_point` -- a plateau start with a controlled asymmetry :math:`\delta_0`.

Decision helpers (the rules the plateau chapter's checks apply, in one place so that the tests can
feed them the competing hypothesis and assert that it fails): :func:`relative_spread`,
:func:`max_consecutive_ratio`, :func:`sgd_ode_tolerance`, :func:`slope_test`,
:func:`seeds_to_resolve`.

Read-outs of the plateau chapter: :func:`mu_power_law` (the rate of a power-law spectrum),
:func:`escape_horizon` (how long to integrate a controlled start), :func:`length_statistics`
(slope, product and constant of :math:`\alpha_P` against :math:`\ln(1/\delta_0)`),
:func:`k_dependence_deviation`, :func:`flattest_point`, :func:`teacher_norm_sd` and
:func:`log_n_fit` (escape time against :math:`\ln N`).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from scalinglaws.analysis.fits import first_crossing
from scalinglaws.errors import require
from scalinglaws.committee.setup import Overlaps, Setup
from scalinglaws.result import Curve
from scalinglaws.committee.ode import Packing, integrate, jacobian_physical, rhs
from scalinglaws.spectra import Spectrum

__all__ = ["eps_plateau", "mu_iso", "lambda2", "k_factor", "large_L_length",
           "symmetric_overlaps", "FixedPoint", "symmetric_fixed_point", "group_fixed_point",
           "rhs_parts", "jacobian", "structured_jacobian", "EscapeMode", "escape_mode", "specialisation",
           "perturbed_fixed_point", "plateau_length", "escape_time", "plateau_height", "escape_time_from_ode",
           "relative_spread", "max_consecutive_ratio", "sgd_ode_tolerance", "slope_test", "seeds_to_resolve",
           "mu_power_law", "escape_horizon", "length_statistics", "k_dependence_deviation",
           "flattest_point", "teacher_norm_sd", "log_n_fit", "draw_fixed_point", "DrawEscape",
           "draw_escape", "escape_prediction", "local_log_slope", "plateau_extent"]


def _check_K(K) -> int:
    require(isinstance(K, (int, np.integer)) and not isinstance(K, bool) and K >= 2, "K", K,
            "an integer >= 2 (the symmetric plateau needs K = M >= 2)")
    return int(K)


# ----------------------------------------------------------------------------------------------
# closed forms
# ----------------------------------------------------------------------------------------------
def eps_plateau(K: int) -> float:
    r"""Plateau height for :math:`\eta\to0`, 1/sqrt(K) outputs:
    :math:`\varepsilon_p = 1/6 - (K/\pi)\arcsin(1/(2K))` (×K for Saad--Solla outputs)."""
    K = _check_K(K)
    return 1.0 / 6.0 - K / math.pi * math.asin(1.0 / (2 * K))


def mu_iso(K: int, eta: float) -> float:
    r"""Isotropic escape rate :math:`\mu_{\rm iso} = (2\eta/\pi)/(\sqrt{2K-1}(2K+1)^{3/2})`
    (1/sqrt(K) outputs, O(η) dynamics, per unit :math:`\alpha`)."""
    K = _check_K(K)
    require(np.isfinite(eta) and eta > 0, "eta", eta, "a finite number > 0")
    return 2.0 * eta / math.pi / (math.sqrt(2 * K - 1) * (2 * K + 1) ** 1.5)


def k_factor(K: int) -> float:
    r""":math:`\sqrt{2K-1}\,(2K+1)^{3/2}`, the K-dependence of :math:`1/\mu_{\rm iso}` (:math:`\to 4K^2`)."""
    K = _check_K(K)
    return math.sqrt(2 * K - 1) * (2 * K + 1) ** 1.5


def lambda2(spectrum: Spectrum) -> float:
    r""":math:`\langle\lambda^2\rangle = (1/N)\mathrm{tr}\,\Sigma^2` of a mean-one spectrum."""
    require(abs(spectrum.moment(1) - 1.0) < 1e-10, "spectrum", repr(spectrum),
            "normalised to (1/N) tr Sigma = 1")
    return spectrum.moment(2)


def large_L_length(K: int, eta: float, L, beta: float, log_factor: float = 1.0):
    r"""Large-L, large-K plateau length
    :math:`\alpha_P \approx 2\pi K^2\zeta(1+\beta)^2/(\eta L\,\zeta(2+2\beta))\cdot\ln(c/\delta_0)`,
    from :math:`\langle\lambda^2\rangle \approx L\zeta(2+2\beta)/\zeta(1+\beta)^2` and
    :math:`\sqrt{2K-1}(2K+1)^{3/2}\approx4K^2`.  ``log_factor`` = ln(c/δ0)."""
    from scipy.special import zeta
    K = _check_K(K)
    L = np.asarray(L, dtype=float)
    return 2 * math.pi * K ** 2 * zeta(1 + beta) ** 2 / (eta * L * zeta(2 + 2 * beta)) * log_factor


# ----------------------------------------------------------------------------------------------
# states in the symmetric subspace
# ----------------------------------------------------------------------------------------------
def symmetric_overlaps(K: int, q: float, c: float, r: float,
                       spectrum: Spectrum | None = None) -> Overlaps:
    r"""Group overlaps of the symmetric state :math:`Q_{ii}=q,\ Q_{i\ne k}=c,\ R_{in}=r`, T = 1,
    spread over the eigen-groups as :math:`X^{[l]} = f_l X` (mean-one spectrum).

    At a fixed point with :math:`T^{[l]} = f_l 1` this spreading is exact: the group equations read
    :math:`\lambda_l[\mathcal L(C)X_l + f_l g(C)] = 0`, so :math:`X_l = -f_l\mathcal L^{-1}g`."""
    K = _check_K(K)
    spectrum = spectrum or Spectrum.isotropic()
    Q = np.full((K, K), c) + (q - c) * np.eye(K)
    R = np.full((K, K), r)
    return Overlaps.from_physical(Q, R, np.eye(K), spectrum)


@dataclass(frozen=True)
class FixedPoint:
    """Symmetric fixed point: physical overlaps q = Q_ii, c = Q_ik, r = R_in and its height."""

    K: int
    eta: float
    order: str
    q: float
    c: float
    r: float
    eps: float
    residual: float


def rhs_parts(setup: Setup, Qg, Rg, Tg):
    r"""Split the RHS :math:`F = \eta A + \eta^2 B` exactly: returns ``(eta*A, eta**2*B)`` as flat
    tuples ``((dQ_A, dR_A), (dQ_B, dR_B))`` from evaluations at eta = 1 and 2
    (:math:`A = [4F(1) - F(2)]/2`, :math:`B = F(1) - A`)."""
    s1 = dataclasses.replace(setup, eta=1.0)
    s2 = dataclasses.replace(setup, eta=2.0)
    q1, r1 = rhs(s1, Qg, Rg, Tg)
    q2, r2 = rhs(s2, Qg, Rg, Tg)
    qa, ra = (4 * q1 - q2) / 2, (4 * r1 - r2) / 2
    e = setup.eta
    return (e * qa, e * ra), (e * e * (q1 - qa), e * e * (r1 - ra))


def _sym_rhs(setup: Setup, x: np.ndarray, order: str) -> np.ndarray:
    K = setup.K
    st = symmetric_overlaps(K, x[0], x[1], x[2])
    if order == "full":
        dQ, dR = rhs(setup, st.Q, st.R, st.T)
    else:
        (dQ, dR), _ = rhs_parts(setup, st.Q, st.R, st.T)
    return np.array([dQ[0, 0, 0], dQ[0, 0, 1], dR[0, 0, 0]]) / setup.eta


def symmetric_fixed_point(K: int, eta: float = 1.0, order: str = "full",
                          conventions="worschech-rosenow", x0=None) -> FixedPoint:
    r"""Root of the symmetric-subspace ODE (isotropic inputs, T = 1, K = M).

    Unknowns :math:`(Q_{ii}, Q_{i\ne k}, R_{in})`; equations :math:`dQ_{11}=dQ_{12}=dR_{11}=0`
    (the other entries follow by symmetry).  ``order="full"``: the full RHS at learning rate
    ``eta`` (plateau at finite η, which also holds for any mean-one spectrum, see
    :func:`symmetric_overlaps`); ``order="linear"``: only the O(η) part (η → 0 plateau).
    ``x0``: starting guess (default the η → 0 closed form).  Solved with ``scipy.optimize.root``
    (hybr) to ``xtol=1e-13``; ``residual`` is the max-norm of the RHS/η at the root.
    """
    K = _check_K(K)
    require(order in ("full", "linear"), "order", order, "'full' or 'linear'")
    s = Setup(K, K, float(eta), "erf", conventions=conventions)
    if x0 is None:
        x0 = [1 / (2 * K - 1), 1 / (2 * K - 1), 1 / math.sqrt(K * (2 * K - 1))]
        if s.conventions.output_norm != "sqrtK":  # the closed form is output-norm independent
            pass
    sol = optimize.root(lambda x: _sym_rhs(s, x, order), np.asarray(x0, float), method="hybr",
                        options={"xtol": 1e-13})
    res = float(np.max(np.abs(_sym_rhs(s, sol.x, order))))
    require(bool(sol.success) or res < 1e-12, "symmetric_fixed_point", sol.message,
            "root finding must converge")
    q, c, r = (float(v) for v in sol.x)
    st = symmetric_overlaps(K, q, c, r)
    eps = s.eps_g(st.physical(Spectrum.isotropic()))
    return FixedPoint(K, float(eta), order, q, c, r, eps, res)


def group_fixed_point(setup: Setup, x0: FixedPoint | None = None, distort: float = 0.2,
                      order: str = "full") -> tuple[Overlaps, float]:
    r"""Symmetric fixed point of the *group-resolved* ODE (3L unknowns :math:`Q^{[l]}_{ii},
    Q^{[l]}_{i\ne k}, R^{[l]}_{in}`), T^{[l]} = f_l 1, found by root finding from a guess that is
    *not* spread like :math:`f_l` (each group scaled by ``1 + distort*cos(l)``), so that the
    spectrum-independence of the plateau is tested, not assumed.

    Returns the group overlaps and the plateau height :math:`\varepsilon_g` at the root.
    """
    K, L = _check_K(setup.K), setup.L
    require(setup.M == K, "setup.M", setup.M, f"equal to K={K}")
    f = setup.spectrum.fractions
    if x0 is None:
        x0 = symmetric_fixed_point(K, setup.eta, order, setup.conventions)
    scale = 1.0 + distort * np.cos(np.arange(L) + 1.0)
    guess = np.concatenate([f * scale * x0.q, f * scale * x0.c, f * scale * x0.r])
    Tg = f[:, None, None] * np.eye(K)[None]
    iK = np.eye(K, dtype=bool)

    def state(x):
        q, c, r = x[:L], x[L:2 * L], x[2 * L:]
        Qg = c[:, None, None] * np.ones((L, K, K))
        Qg[:, iK] = q[:, None]
        Rg = r[:, None, None] * np.ones((L, K, K))
        return Qg, Rg

    def fun(x):
        Qg, Rg = state(x)
        if order == "full":
            dQ, dR = rhs(setup, Qg, Rg, Tg)
        else:
            (dQ, dR), _ = rhs_parts(setup, Qg, Rg, Tg)
        # group equations scale with lambda_l f_l: divide so every group counts alike
        w = 1.0 / (setup.eta * setup.spectrum.eigenvalues * f)
        return np.concatenate([dQ[:, 0, 0] * w, dQ[:, 0, 1] * w, dR[:, 0, 0] * w])

    sol = optimize.root(fun, guess, method="hybr", options={"xtol": 1e-12})
    require(bool(sol.success) or float(np.max(np.abs(fun(sol.x)))) < 1e-10,
            "group_fixed_point", sol.message, "root finding must converge")
    Qg, Rg = state(sol.x)
    ov = Overlaps(Qg, Rg, Tg)
    return ov, setup.eps_g(ov.physical(setup.spectrum))


# ----------------------------------------------------------------------------------------------
# linearisation and escape
# ----------------------------------------------------------------------------------------------
def jacobian(setup: Setup, state: Overlaps, order: str = "linear",
             method: str = "structured") -> np.ndarray:
    r"""Dense Jacobian of the flat group-resolved RHS (layout :class:`scalinglaws.committee.ode.Packing`).

    ``order="full"``: :func:`scalinglaws.committee.ode.jacobian_physical` at ``setup.eta``;
    ``order="linear"``: the O(η) part, :math:`\eta[4J(1) - J(2)]/2` (exact, since the RHS is
    :math:`\eta A + \eta^2 B`).  ``method``: :func:`structured_jacobian` (default, fast) or
    ``"dense"`` (central differences of the whole flat RHS)."""
    require(order in ("full", "linear"), "order", order, "'full' or 'linear'")
    require(method in ("structured", "dense"), "method", method, "'structured' or 'dense'")
    jac = jacobian_physical if method == "dense" else structured_jacobian
    if order == "full":
        return jac(setup, state)
    J1 = jac(dataclasses.replace(setup, eta=1.0), state)
    J2 = jac(dataclasses.replace(setup, eta=2.0), state)
    return setup.eta * (4 * J1 - J2) / 2


def structured_jacobian(setup: Setup, state: Overlaps) -> np.ndarray:
    r"""Jacobian of the flat group-resolved RHS assembled from its structure (dense output).

    Group l's RHS depends on its own overlaps :math:`X_l` and on the physical covariance
    :math:`C = \sum_m \lambda_m X_m` only, so
    :math:`\partial F_l/\partial X_m = \delta_{lm}\lambda_l\mathcal L(C) + \lambda_m U_l`,
    :math:`U_l = \partial F_l/\partial C` (the blocks of
    ``scalinglaws.committee.ode._Problem.structured_jacobian``: exact linear operator, forward
    differences in C with step 1e-7).  p RHS evaluations instead of the 2Lp of
    :func:`scalinglaws.committee.ode.jacobian_physical` (which it reproduces to ~1e-7, see the tests)."""
    from scalinglaws.committee.ode import _Problem
    prob = _Problem(setup, state)
    Lop, U = prob.structured_jacobian(prob.y0)
    lam = setup.spectrum.eigenvalues
    L, p = setup.L, prob.pk.p
    J = np.einsum("lpq,m->lpmq", U, lam)
    for l in range(L):
        J[l, :, l, :] += lam[l] * Lop - np.diag(prob.decay)
    return J.reshape(L * p, L * p)


@dataclass
class EscapeMode:
    """Unstable mode of the symmetric fixed point.

    ``mu``: largest real part of the Jacobian's eigenvalues (per unit α); ``right``/``left``:
    flat right/left eigenvectors (left normalised so left·right = 1, right normalised so that its
    physical specialisation :func:`specialisation` is 1 when it has one, else unit norm);
    ``multiplicity``: eigenvalues within 1e-6 relative of ``mu``; ``state``: the fixed point."""

    mu: float
    right: np.ndarray
    left: np.ndarray
    multiplicity: int
    state: Overlaps
    eigenvalues: np.ndarray


def escape_mode(setup: Setup, state: Overlaps | None = None, order: str = "linear",
                method: str = "structured", vectors: bool = True) -> EscapeMode:
    r"""Largest eigenvalue (and its eigenvectors) of the Jacobian of the full group-resolved RHS at
    the symmetric fixed point.

    Default ``state``: the fixed point of the chosen order -- the η → 0 closed form
    :math:`R^{[l]}_{in} = f_l R^*`, :math:`Q^{[l]}_{ik} = f_l R^{*2} M` (= :math:`R^*\sum_m
    T^{[l]}_{mn}` etc. with :math:`T^{[l]} = f_l 1`) for ``"linear"``, the root of
    :func:`symmetric_fixed_point` for ``"full"``.  ``vectors=False``: eigenvalues only (faster;
    ``right``/``left`` are None).  Dense eigen-decomposition: O((Lp)^3) with
    p = K(K+1)/2 + K^2.
    """
    K = _check_K(setup.K)
    if state is None:
        if order == "linear":
            q, r = 1.0 / (2 * K - 1), 1.0 / math.sqrt(K * (2 * K - 1))
            state = symmetric_overlaps(K, q, q, r, setup.spectrum)
        else:
            fp = symmetric_fixed_point(K, setup.eta, "full", setup.conventions)
            state = symmetric_overlaps(K, fp.q, fp.c, fp.r, setup.spectrum)
    J = jacobian(setup, state, order, method)
    if not vectors:
        w = np.linalg.eigvals(J)
        i = int(np.argmax(w.real))
        mult = int(np.sum(np.abs(w - w[i]) <= 1e-6 * abs(w[i])))
        return EscapeMode(float(w[i].real), None, None, mult, state, w)
    w, V = np.linalg.eig(J)
    i = int(np.argmax(w.real))
    mu = float(w[i].real)
    mult = int(np.sum(np.abs(w - w[i]) <= 1e-6 * abs(w[i])))
    wl, U = np.linalg.eig(J.T)
    j = int(np.argmin(np.abs(wl - w[i])))
    right = np.real(V[:, i])
    left = np.real(U[:, j])
    pk = Packing(K, setup.M, setup.L)
    S = specialisation_flat(right, pk, setup.spectrum)
    right = right / (S if abs(S) > 1e-8 else np.linalg.norm(right))
    left = left / float(left @ right)
    return EscapeMode(mu, right, left, mult, state, w)


def specialisation(R: np.ndarray) -> np.ndarray:
    r"""Specialisation of physical R (..., K, M), K = M: :math:`S = \overline{R_{ii}} -
    \overline{R_{i\ne n}}` (0 on the symmetric plateau, 1 when specialised with T = 1)."""
    R = np.asarray(R, dtype=float)
    K = R.shape[-1]
    d = np.einsum("...ii->...", R) / K
    off = (R.sum(axis=(-2, -1)) - d * K) / (K * (K - 1))
    return d - off


def specialisation_flat(x: np.ndarray, pk: Packing, spectrum: Spectrum) -> float:
    """:func:`specialisation` of the physical R of a flat group-resolved vector."""
    _, Rg = pk.unpack(np.asarray(x).reshape(pk.L, pk.p))
    return float(specialisation(np.einsum("l,lin->in", spectrum.eigenvalues, Rg)))


def perturbed_fixed_point(setup: Setup, delta0: float, fp: FixedPoint | None = None) -> Overlaps:
    r"""Plateau start with a controlled asymmetry: the finite-η symmetric fixed point (groups
    :math:`X^{[l]} = f_l X^*`) moved in weight space by :math:`J_i \to J_i + \delta_0\sum_n P_{in}B_n`,
    :math:`P = 1 - \mathbf 1\mathbf 1^T/K`.  Its physical specialisation is exactly :math:`\delta_0`; the perturbation is
    invariant under simultaneous permutation of student and teacher units, so the trajectory
    specialises onto the identity permutation."""
    K = _check_K(setup.K)
    require(np.isfinite(delta0) and 0 < abs(delta0) < 0.1, "delta0", delta0, "0 < |delta0| < 0.1")
    if fp is None:
        fp = symmetric_fixed_point(K, setup.eta, "full", setup.conventions)
    st = symmetric_overlaps(K, fp.q, fp.c, fp.r, setup.spectrum)
    P = np.eye(K) - np.ones((K, K)) / K
    # weight-space move J_i -> J_i + delta0 sum_n P_in B_n (a Gram matrix, so always realisable):
    # R^[l] -> R^[l] + delta0 P T^[l];  Q^[l] -> Q^[l] + delta0 (R^[l] P + P R^[l]^T) + delta0^2 P T^[l] P
    R = st.R + delta0 * P[None] @ st.T
    Q = st.Q + delta0 * (st.R @ P[None] + P[None] @ np.swapaxes(st.R, 1, 2)) \
        + delta0 ** 2 * P[None] @ st.T @ P[None]
    return Overlaps(Q, R, st.T)


# ----------------------------------------------------------------------------------------------
# plateau observables of a trajectory
# ----------------------------------------------------------------------------------------------
def plateau_length(traj: Curve, height: float, fraction: float = 0.5) -> float:
    r"""Plateau length :math:`\alpha_P`: the first time after which :math:`\varepsilon_g` drops
    below ``fraction * height`` (default half the plateau height), linearly interpolated in
    :math:`\alpha` between output points.  Returns NaN if it never does.

    Only points after the trajectory has come within a factor 2 of ``height`` from above are
    considered (so an initial transient below the level, if any, is ignored)."""
    return escape_time(traj.t, traj.loss, height, fraction)


def escape_time(t, eps, height: float, fraction: float = 0.5) -> float:
    """:func:`plateau_length` on plain arrays (times, eps_g), e.g. one SGD seed."""
    require(np.isfinite(height) and height > 0, "height", height, "a finite number > 0")
    require(0 < fraction < 1, "fraction", fraction, "in (0, 1)")
    t, e = np.asarray(t, float), np.asarray(eps, float)
    require(t.shape == e.shape and t.ndim == 1, "t, eps", (t.shape, e.shape), "equal 1-d shapes")
    near = np.flatnonzero(e <= 2 * height)
    if near.size == 0:
        return float("nan")
    start = max(int(near[0]) - 1, 0)     # e[start] > level whenever start < near[0]
    return first_crossing(t[start:], e[start:], fraction * height, "down", scale="linear")


def plateau_height(traj: Curve, window: tuple[float, float]) -> tuple[float, float]:
    """Median and (max - min)/2 of eps_g over the time window [lo, hi] (a plateau read-out)."""
    t, e = np.asarray(traj.t), np.asarray(traj.loss)
    m = (t >= window[0]) & (t <= window[1])
    require(bool(m.sum() >= 1), "window", window, "must contain output times")
    return float(np.median(e[m])), float((e[m].max() - e[m].min()) / 2)


def escape_time_from_ode(K: int, eta: float, L: int, beta: float, delta0: float,
                         t_max: float, n_times: int = 3000, fraction: float = 0.5) -> dict:
    r"""ODE escape from a controlled plateau start (sweep-friendly, picklable result).

    Starts at :func:`perturbed_fixed_point` (asymmetry ``delta0``, :math:`\alpha_0 = 0`),
    integrates the full group-resolved ODE on a linear grid to ``t_max`` and returns
    ``{"alpha_P", "height", "t", "eps_g", "S"}`` with :math:`\alpha_P` from :func:`plateau_length`
    (``fraction`` of the finite-η plateau height)."""
    K = _check_K(K)
    sp = Spectrum.power_law(int(L), float(beta))
    s = Setup(K, K, float(eta), "erf", spectrum=sp)
    fp = symmetric_fixed_point(K, float(eta), "full")
    init = perturbed_fixed_point(s, float(delta0), fp)
    times = np.linspace(0.0, float(t_max), int(n_times))
    with warnings.catch_warnings():
        # scipy's BDF occasionally evaluates a rejected trial step to inf/NaN ("invalid value
        # encountered in subtract" in its difference table); the step is rejected and the
        # integration continues, so the warning carries no information for the result
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"scipy\.integrate")
        tr = integrate(s, init, times=times, show_progress=False)
    aP = plateau_length(tr, fp.eps, fraction)
    keep = np.unique(np.linspace(0, len(times) - 1, 300).astype(int))
    return {"alpha_P": aP, "height": fp.eps, "t": tr.t[keep], "eps_g": tr.loss[keep],
            "S": specialisation(tr.R)[keep]}


# ----------------------------------------------------------------------------------------------
# decision helpers of the plateau chapter's checks
# ----------------------------------------------------------------------------------------------
def relative_spread(values) -> float:
    """``max/min - 1`` of positive values: the "constant across L" statistic (0 when all equal)."""
    v = np.asarray(values, dtype=float).ravel()
    require(v.size >= 2 and bool(np.all(np.isfinite(v))) and bool(np.all(v > 0)), "values", v,
            "at least two finite positive numbers")
    return float(v.max() / v.min() - 1.0)


def max_consecutive_ratio(values) -> float:
    r"""Largest ratio ``values[i+1] / values[i]`` of a sequence (e.g. escape times ordered by
    increasing L).  Below 1 iff the sequence decreases strictly at every step; a check "shortens
    by at least a fraction f at every step" is ``max_consecutive_ratio(v) <= 1 - f``.  NaN
    entries (no escape seen) make the result NaN, which fails every comparison."""
    v = np.asarray(values, dtype=float).ravel()
    require(v.size >= 2, "values", v, "at least two numbers")
    if not np.all(np.isfinite(v)):
        return float("nan")
    require(bool(np.all(v > 0)), "values", v, "positive numbers")
    return float(np.max(v[1:] / v[:-1]))


def sgd_ode_tolerance(se: float, height: float, N: int, n_params: int = 5, z: float = 3.0) -> float:
    r"""Tolerance of an SGD-vs-ODE comparison of :math:`\varepsilon_g` on the plateau: ``z``
    standard errors of the seed mean plus the finite-N allowance ``height * n_params / N``
    (each of the ``n_params`` order parameters fluctuates by :math:`O(N^{-1/2})` and
    :math:`\varepsilon_g` is quadratic in them)."""
    require(np.isfinite(se) and se >= 0, "se", se, "a finite number >= 0")
    require(np.isfinite(height) and height > 0, "height", height, "a finite number > 0")
    require(int(N) >= 1, "N", N, "a positive integer")
    return float(z * se + height * n_params / int(N))


def slope_test(slope: float, stderr: float, predicted: float, z: float = 3.0) -> bool:
    r"""The decision of a fitted-slope check: ``|slope - predicted| <= z * stderr``.  It can only
    reject an alternative slope ``a`` when ``z * stderr < |a - predicted|``, see
    :func:`seeds_to_resolve`."""
    require(np.isfinite(stderr) and stderr >= 0, "stderr", stderr, "a finite number >= 0")
    return bool(abs(float(slope) - float(predicted)) <= z * float(stderr))


def seeds_to_resolve(stderr: float, seeds: int, gap: float, z: float = 3.0) -> int:
    r"""Seeds per point that :func:`slope_test` would need to tell the prediction from an
    alternative ``gap`` away, i.e. to get ``2 z * stderr <= gap`` (both the prediction inside and
    the alternative outside the band, for a slope that lands anywhere between), assuming
    :math:`\mathrm{stderr}\propto\mathrm{seeds}^{-1/2}`."""
    require(np.isfinite(gap) and gap > 0, "gap", gap, "a finite number > 0")
    require(int(seeds) >= 1, "seeds", seeds, "a positive integer")
    return int(math.ceil(int(seeds) * (2 * z * float(stderr) / float(gap)) ** 2))


# ----------------------------------------------------------------------------------------------
# read-outs of the plateau chapter
# ----------------------------------------------------------------------------------------------
def mu_power_law(K: int, eta: float, L: int, beta: float = 1.0) -> float:
    r"""Escape rate :math:`\mu = \mu_{\rm iso}(K, \eta)\,\langle\lambda^2\rangle` (eq. eq-pl-mu) for
    the power-law spectrum of ``L`` distinct eigenvalues and exponent ``beta``
    (:meth:`scalinglaws.spectra.Spectrum.power_law`); per unit :math:`\alpha`."""
    return mu_iso(K, eta) * lambda2(Spectrum.power_law(L, beta))


def escape_horizon(K: int, eta: float, L: int, beta: float, delta0: float,
                   margin: float = 5.0) -> float:
    r"""Integration horizon of a controlled plateau start: :math:`[\ln(1/\delta_0) + m]/\mu` with
    :math:`\mu` from :func:`mu_power_law` and ``margin`` m (e-folds beyond the predicted
    escape, so that the escape is inside the run even when :math:`\ln c > 0`)."""
    require(np.isfinite(delta0) and 0 < delta0 < 1, "delta0", delta0, "in (0, 1)")
    return (math.log(1 / delta0) + margin) / mu_power_law(K, eta, L, beta)


def length_statistics(alpha_lo: float, alpha_hi: float, delta_lo: float, delta_hi: float,
                      mu: float) -> dict:
    r"""Statistics of two plateau lengths from starts with asymmetries ``delta_lo`` < ``delta_hi``
    (eq. eq-pl-length, :math:`\alpha_P = \ln(c/\delta_0)/\mu`):

    * ``slope_mu`` -- :math:`\mu\,d\alpha_P/d\ln(1/\delta_0)` from the two lengths (1 if the
      escape is governed by the rate ``mu``);
    * ``prod`` -- :math:`\alpha_P\mu/\ln(1/\delta_0)` at ``delta_lo`` (1 if :math:`c = 1`);
    * ``lnc`` -- :math:`\ln c_{\rm eff} = \mu\alpha_P - \ln(1/\delta_0)` at ``delta_lo``;
    * ``aP`` -- ``alpha_lo``."""
    require(0 < delta_lo < delta_hi, "delta_lo, delta_hi", (delta_lo, delta_hi), "0 < delta_lo < delta_hi")
    slope = (alpha_lo - alpha_hi) / math.log(delta_hi / delta_lo)
    return dict(slope_mu=slope * mu, prod=alpha_lo * mu / math.log(1 / delta_lo),
                lnc=alpha_lo * mu - math.log(1 / delta_lo), aP=alpha_lo)


def k_dependence_deviation(K, alpha, law=k_factor) -> float:
    r"""Largest relative deviation of plateau lengths ``alpha`` at unit numbers ``K`` from the
    K-dependence ``law`` (default :func:`k_factor`, :math:`1/\mu_{\rm iso}\propto
    \sqrt{2K-1}(2K+1)^{3/2}`), both taken relative to the first entry:
    :math:`\max_j|(\alpha_j/\alpha_0)/(f(K_j)/f(K_0)) - 1|`.  Competing laws: ``lambda K: 1.0``
    (no K-dependence), ``lambda K: float(K)``."""
    K, alpha = list(K), list(alpha)
    require(len(K) == len(alpha) >= 1, "K, alpha", (len(K), len(alpha)), "sequences of equal length >= 1")
    return max(abs((a / alpha[0]) / (law(k) / law(K[0])) - 1) for k, a in zip(K, alpha))


def flattest_point(traj: Curve, alpha_P: float, t_min: float = 10.0, fraction: float = 0.8) -> int:
    r"""Index of the flattest point of a learning curve on its plateau: the smallest
    :math:`|d\varepsilon_g/d\alpha|` (``np.gradient``) among the times ``t_min < t <
    fraction * alpha_P`` (after the initial transient, before the escape at ``alpha_P``)."""
    m = (traj.t > t_min) & (traj.t < fraction * alpha_P)
    require(bool(m.any()), "alpha_P", alpha_P, f"a plateau stretch after t_min={t_min:g}")
    return int(np.flatnonzero(m)[np.argmin(np.abs(np.gradient(traj.loss, traj.t))[m])])


def teacher_norm_sd(spectrum: Spectrum, N: int) -> float:
    r"""Standard deviation :math:`\sqrt{2\langle\lambda^2\rangle/N}` of the norm :math:`T_{nn}` of a
    Gaussian teacher vector (entries N(0, 1)) under the mean-one ``spectrum`` at input dimension N:
    it does not self-average when :math:`\langle\lambda^2\rangle` grows like L = N."""
    require(int(N) >= 1, "N", N, "a positive integer")
    return math.sqrt(2 * lambda2(spectrum) / N)


def log_n_fit(escape_times: dict):
    r"""Least-squares fit :math:`\alpha_P = a + b\ln N` of per-seed escape times
    ``{N: array of alpha_P}`` (``scipy.stats.linregress``; the prediction for an asymmetry
    :math:`\delta_0\propto N^{-1/2}` is :math:`b = 1/(2\mu)`).  Returns ``(fit, x, y)``: the
    linregress result (``slope``, ``intercept``, ``stderr``, ...) and the points
    :math:`(\ln N, \alpha_P)`."""
    from scipy import stats
    require(len(escape_times) >= 2, "escape_times", len(escape_times), "at least two values of N")
    x = np.concatenate([np.full(len(v), math.log(N)) for N, v in escape_times.items()])
    y = np.concatenate([np.asarray(v, dtype=float) for v in escape_times.values()])
    return stats.linregress(x, y), x, y


# ----------------------------------------------------------------------------------------------
# one random draw: its own plateau, its own unstable mode, its own escape time
# ----------------------------------------------------------------------------------------------
def draw_fixed_point(setup: Setup, init: Overlaps) -> tuple[Overlaps, float]:
    r"""Student-symmetric plateau of the group-resolved ODE for the teacher of one draw.

    A random teacher has group overlaps :math:`T^{[l]}` that are not :math:`f_l 1`, so its
    plateau differs from the closed form.  Identical student units stay identical for any T, so
    the subspace :math:`J_i = J` (:math:`Q^{[l]}_{ik} = q_l` for all i, k, :math:`R^{[l]}_{in} =
    r_{l,n}`) is invariant; its fixed point (L(1+M) unknowns) is found by ``scipy.optimize.root``
    (hybr, ``xtol`` 1e-12) from the η → 0 guess :math:`R^{[l]}_{in} = R^*\sum_m T^{[l]}_{mn}`, :math:`Q^{[l]} = R^{*2}\sum_{nm}
    T^{[l]}_{nm}` (exact for T = 1, :math:`R^* = [K(2K-1)]^{-1/2}`).  Full RHS at ``setup.eta``.

    Returns the fixed point's group overlaps (with the draw's T) and its height
    :math:`\varepsilon_g`.  Raises ``ValueError`` when the root finder does not converge.

    Why :math:`Q_{ii} = Q_{i\ne k}`: in the larger permutation-symmetric subspace
    (:math:`Q_{ii} \ne Q_{i\ne k}` allowed) the fixed points form a line (a marginal direction, the
    spread of the student units orthogonal to the teachers), so a root there is not unique; on
    that line the height changes by ~1e-5 relative and the unstable left eigenvector, which lives in
    the antisymmetric sector, projects the same initial asymmetry.
    """
    if not isinstance(init, Overlaps):
        raise TypeError(f"init must be a scalinglaws.committee.setup.Overlaps, got {type(init).__name__}")
    K, M, L = _check_K(setup.K), setup.M, setup.L
    require((init.K, init.M, init.L) == (K, M, L), "init", f"K={init.K}, M={init.M}, L={init.L}",
            f"must match setup K={K}, M={M}, L={L}")
    Tg = np.asarray(init.T, float)
    f = setup.spectrum.fractions
    rs = 1.0 / math.sqrt(K * (2 * K - 1))
    r0 = rs * Tg.sum(axis=1)                        # (L, M)
    q0 = rs ** 2 * Tg.sum(axis=(1, 2))              # (L,)
    guess = np.concatenate([q0, r0.ravel()])
    w = 1.0 / (setup.eta * setup.spectrum.eigenvalues * f)

    def state(x):
        q, r = x[:L], x[L:].reshape(L, M)
        Qg = q[:, None, None] * np.ones((L, K, K))
        Rg = np.repeat(r[:, None, :], K, axis=1)
        return Qg, Rg

    def fun(x):
        dQ, dR = rhs(setup, *state(x), Tg)
        return np.concatenate([dQ[:, 0, 1] * w, (dR[:, 0, :] * w[:, None]).ravel()])

    with np.errstate(invalid="ignore"):
        sol = optimize.root(fun, guess, method="hybr", options={"xtol": 1e-12})
    res = _draw_residual(setup, state, sol.x, Tg, w)
    if not (res < 1e-10):
        # fallback: relax the ODE inside the invariant symmetric subspace (it cannot escape there)
        # over 50 times the slowest group's time scale, then polish
        t_relax = 50.0 / (setup.eta * float(np.min(setup.spectrum.eigenvalues)))
        tr = integrate(setup, Overlaps(*state(guess), Tg), times=[0.0, t_relax], keep_groups=True,
                       show_progress=False)
        g = tr.extras["groups"]
        Qe, Re = g["Q"][-1], g["R"][-1]
        x1 = np.concatenate([Qe[:, 0, 1], Re.mean(axis=1).ravel()])
        sol = optimize.root(fun, x1, method="hybr", options={"xtol": 1e-12})
        res = _draw_residual(setup, state, sol.x, Tg, w)
    require(bool(res < 1e-10), "draw_fixed_point", f"residual {res:.3g} ({sol.message})",
            "root finding must converge (residual < 1e-10)")
    ov = Overlaps(*state(sol.x), Tg)
    return ov, setup.eps_g(ov.physical(setup.spectrum))


def _draw_residual(setup, state, x, Tg, w) -> float:
    """Max-norm of the *whole* scaled RHS (diagonal Q included) at the candidate root."""
    if not np.all(np.isfinite(x)):
        return float("inf")
    with np.errstate(invalid="ignore"):
        dQ, dR = rhs(setup, *state(x), Tg)
    r = max(float(np.max(np.abs(dQ * w[:, None, None]))), float(np.max(np.abs(dR * w[:, None, None]))))
    return r if np.isfinite(r) else float("inf")


@dataclass
class DrawEscape:
    r"""The escape of one draw, predicted from its initial overlaps (:func:`draw_escape`).

    ``mu``: unstable rate at the draw's own plateau; ``delta0``: projection of the initial group
    overlaps on the unstable *left* eigenvector (the right one scaled to unit physical
    specialisation); ``height``: the plateau's :math:`\varepsilon_g`; ``s0``: the specialisation
    :func:`specialisation` of the initial physical R (groups weighted by :math:`\lambda_l`, as in
    the preactivations); ``s0_plain``: the specialisation of the unweighted weight-space overlap
    :math:`\sum_l R^{[l]} = JB^T/N` (what an isotropic analysis would use); ``multiplicity``:
    eigenvalues within 1e-6 of ``mu``."""

    mu: float
    delta0: float
    height: float
    s0: float
    s0_plain: float
    multiplicity: int

    def predicted_length(self, offset: float) -> float:
        r""":math:`\alpha_P = \mathrm{offset} + \ln(1/|\delta_0|)/\mu` (``offset`` shared by draws)."""
        return offset + math.log(1.0 / abs(self.delta0)) / self.mu


def draw_escape(setup: Setup, init: Overlaps) -> DrawEscape:
    r"""Per-draw escape prediction: the draw's plateau (:func:`draw_fixed_point`), the Jacobian of
    the full group-resolved RHS there (:func:`escape_mode`, ``order="full"``) and the projection
    :math:`\delta_0 = u\cdot(x_0 - x^*)` of the initial flat state on its unstable left
    eigenvector u.  Linear escape from the plateau then gives
    :math:`\alpha_P = \alpha_0 + \ln(c/|\delta_0|)/\mu` with one constant :math:`\alpha_0 + \ln c/\mu`
    for all draws of a setting (the approach to the plateau is the same for every draw up to
    O(N^{-1/2}))."""
    fp, height = draw_fixed_point(setup, init)
    mode = escape_mode(setup, state=fp, order="full")
    pk = Packing(setup.K, setup.M, setup.L)
    x0 = pk.pack(init.Q, init.R).ravel()
    xs = pk.pack(fp.Q, fp.R).ravel()
    s0 = float(specialisation(init.physical(setup.spectrum)[:setup.K, setup.K:]))
    s0_plain = float(specialisation(init.R.sum(axis=0)))
    return DrawEscape(float(mode.mu), float(mode.left @ (x0 - xs)), float(height), s0, s0_plain,
                      mode.multiplicity)


def escape_prediction(alpha_P, delta0, mu, n_calib: int) -> dict:
    r"""How well :math:`\alpha_P = A + \ln(1/|\delta_0|)/\mu` predicts per-draw escape times.

    Draws ``0 .. n_calib-1`` calibrate the one shared constant A (mean of
    :math:`\alpha_P - \ln(1/|\delta_0|)/\mu`); the remaining draws are predicted with it and scored
    by the fraction of variance unexplained, ``fvu`` = mean squared prediction error / variance of
    :math:`\alpha_P` over the held-out draws (0: perfect, 1: no better than their mean).
    ``slope``/``slope_se``: least-squares slope of :math:`\mu\alpha_P` on :math:`\ln(1/|\delta_0|)`
    over all draws (linear escape predicts 1), with its standard error.  Draws without an escape
    (NaN) are dropped; at least 4 calibration and 4 held-out draws must remain."""
    from scipy import stats
    a = np.asarray(alpha_P, float)
    d = np.abs(np.asarray(delta0, float))
    m = np.asarray(mu, float)
    require(a.shape == d.shape and a.ndim == 1 and m.shape in ((), a.shape), "alpha_P, delta0, mu",
            (a.shape, d.shape, m.shape), "equal 1-d shapes (mu may be one number)")
    m = m * np.ones_like(a)
    require(bool(np.all(m > 0)) and bool(np.all(d > 0)), "mu, delta0", "non-positive entries",
            "mu > 0 and delta0 != 0")
    n_calib = int(n_calib)
    ok = np.isfinite(a)
    cal = ok & (np.arange(a.size) < n_calib)
    hold = ok & (np.arange(a.size) >= n_calib)
    require(cal.sum() >= 4 and hold.sum() >= 4, "n_calib", n_calib,
            f"leaving >= 4 escaping draws on each side (calibration {cal.sum()}, held out {hold.sum()})")
    x = np.log(1.0 / d) / m
    A = float(np.mean(a[cal] - x[cal]))
    err = a[hold] - (A + x[hold])
    fvu = float(np.mean(err ** 2) / np.var(a[hold]))
    fit = stats.linregress(np.log(1.0 / d[ok]), (m * a)[ok])
    return dict(A=A, fvu=fvu, rms=float(np.sqrt(np.mean(err ** 2))), sd=float(np.std(a[hold])),
                slope=float(fit.slope), slope_se=float(fit.stderr), n_calib=int(cal.sum()),
                n_hold=int(hold.sum()))


def local_log_slope(t, eps, baseline: float = 2.0, n_grid: int = 400):
    r"""Local slope :math:`s(\alpha) = d\ln\varepsilon_g/d\ln\alpha` of a learning curve, taken over a
    centred baseline of a factor ``baseline`` in α (so that noise of neighbouring output points does
    not enter), on ``n_grid`` log-spaced points; ln ε is interpolated linearly in ln α between the
    curve's positive output times.  Returns ``(alpha, s, eps_at_alpha)``."""
    t, e = np.asarray(t, float), np.asarray(eps, float)
    require(t.shape == e.shape and t.ndim == 1, "t, eps", (t.shape, e.shape), "equal 1-d shapes")
    require(baseline > 1, "baseline", baseline, "a factor > 1")
    m = (t > 0) & (e > 0) & np.isfinite(e)
    require(int(m.sum()) >= 3, "t, eps", f"{int(m.sum())} positive points", "at least 3")
    lt, le = np.log(t[m]), np.log(e[m])
    h = 0.5 * math.log(baseline)
    require(lt[-1] - lt[0] > 2 * h, "baseline", baseline, "shorter than the curve's time span")
    grid = np.linspace(lt[0] + h, lt[-1] - h, int(n_grid))
    s = (np.interp(grid + h, lt, le) - np.interp(grid - h, lt, le)) / (2 * h)
    return np.exp(grid), s, np.exp(np.interp(grid, lt, le))


def plateau_extent(t, eps, height: float, slope_max: float = 0.1, band: float = 2.0,
                   baseline: float = 2.0) -> float:
    r"""Extent of the symmetric plateau of a learning curve: the largest ratio
    :math:`\alpha_b/\alpha_a` of an interval on which the curve is both *flat* (local slope
    :math:`|s| \le` ``slope_max`` over a factor-``baseline`` baseline, :func:`local_log_slope`) and
    *at the plateau's height* (:math:`\varepsilon_g` within a factor ``band`` of ``height``).
    1.0 when no point qualifies.  The rule of the plateau chapter: a curve *has a plateau* when
    the extent is at least 3 (half a decade); a power law :math:`\alpha^{-s}` with
    :math:`s > ` ``slope_max`` has extent 1 whatever its height."""
    require(np.isfinite(height) and height > 0, "height", height, "a finite number > 0")
    require(0 < slope_max < 1, "slope_max", slope_max, "in (0, 1)")
    require(band > 1, "band", band, "a factor > 1")
    a, s, e = local_log_slope(t, eps, baseline)
    ok = (np.abs(s) <= slope_max) & (e <= band * height) & (e >= height / band)
    best, start = 1.0, None
    for i, flag in enumerate(ok):
        if flag and start is None:
            start = i
        if start is not None and (not flag or i == ok.size - 1):
            end = i if flag else i - 1
            best = max(best, float(a[end] / a[start]))
            start = None
    return best
