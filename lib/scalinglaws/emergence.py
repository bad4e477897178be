"""Emergence in the additive Hermite multi-index model (Ren, Nichani, Wu & Lee 2025).

Model
-----
Teacher ``f*(x) = sum_p a_p h_k(<x, e_p>)`` with ``x ~ N(0, I_d)``, orthonormal directions taken
as the first ``P`` basis vectors (rotation invariance), the normalised Hermite polynomial
``h_k = He_k / sqrt(k!)`` (information exponent ``k``; the paper needs even ``k >= 4``) and
``a_p ∝ p^{-beta}`` normalised to ``sum_p a_p^2 = 1``.  Student (2-homogeneous, tied second layer)
``f(x; V) = sum_j ||v_j||^2 h_k(<v_j / ||v_j||, x>)`` with ``V`` of shape ``(m, d)``.

Conventions
-----------
* Reported loss: the population MSE ``L = E[(f - f*)^2]`` (no 1/2; it starts at ``sum a_p^2 = 1``).
* Dynamics: gradient steps on ``L/2`` (the per-sample loss of the paper, eq. 3, has the 1/2).
* Time: ``steps`` of GD / SGD; gradient-flow (GF) time is ``eta * steps``.

Closed-form population loss (Ren et al. 2025, eq. 4, for a single Hermite component), with
``c_jp = <v_j, e_p>``, ``n_j = ||v_j||^2``, ``G = V V^T`` and ``q = k/2 - 1``::

    L(V) = sum_p a_p^2 - 2 sum_{j,p} a_p c_jp^k / n_j^q + sum_{j,l} G_jl^k / (n_j n_l)^q .

Reduced exact dynamics (derived here; verified against full-``d`` GD in the tests).  Write
``V = [C | V_perp]`` with ``C = V[:, :P]``.  The gradient of ``L/2`` is::

    grad_C    = -k D + diag(gamma) C + k H C ,     grad_perp = diag(gamma) V_perp + k H V_perp ,
    D_jp = a_p c_jp^{k-1} w_j ,   w_j = n_j^{-q} ,   H_jl = G_jl^{k-1} w_j w_l ,
    gamma_j = 2 q w_j / n_j ( sum_p a_p c_jp^k - sum_l G_jl^k w_l ) .

The orthogonal part is only ever multiplied from the left by an ``m x m`` matrix, so
``V_perp(t) = B(t) Q^T`` with ``Q`` the orthonormal factor of ``V_perp(0)^T`` fixed at
initialisation; only ``B`` (``m x min(m, d - P)``) needs to be evolved.  A step costs
``O(m^2 (P + m))`` instead of ``O(m^2 d + m P d)``.

Transition times (Ren et al. 2025, Thm 2.1, in ``k`` notation; the book's sources appendix,
chapters/sources_ren_nichani_wu_lee.md)::

    T_p = 1 / (k (k - 2) sigma_hat^2 a_{pi(p)} eta s_p(0)^{k-2})      [steps],

with the greedy maximum-selection pairing ``pi`` at initialisation (paper eq. 5).

Toy reduction (our derivation; the book's sources appendix, chapters/sources_ren_nichani_wu_lee.md),
one neuron per direction, with ``u = s^2`` and ``rho = ||v||^2/a``::

    du/dt = 2 k a u^{k/2} (1 - u),   drho/dt = 4 a rho (u^{k/2} - rho),
    ell = 1 - 2 rho u^{k/2} + rho^2   (loss of that direction divided by a^2),

which in ``tau = t / T`` no longer depends on ``a``; hence ``L(t) = sum_p a_p^2 ell(t / T_p)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp
from scipy.special import zeta

from scalinglaws.errors import (DivergenceError, ParameterTypeError, check_array, check_bool, check_int,
                     check_real, is_int, require)
from scalinglaws.progress import progress

try:  # numba is optional: it speeds up online SGD by ~50x but is not required
    import numba as _numba
except Exception:  # pragma: no cover
    _numba = None

__all__ = [
    "hermite", "hermite_deriv", "teacher_coefficients", "spherical_init", "population_loss",
    "population_loss_from_overlaps", "population_grad", "monte_carlo_loss", "greedy_pairing",
    "transition_time", "GDResult", "population_gd", "online_sgd", "SGDResult",
    "half_alignment_delay", "toy_curve", "ToyCurve", "toy_sum", "tail_loss", "frontier",
    "emergence_times", "population_gd_batch", "greedy_floor", "toy_sum_widths",
    "greedy_toy_loss", "greedy_toy", "frontier_window", "UnusedNeurons", "unused_neurons",
    "converged_pairs", "emergence_slope",
]


# ----------------------------------------------------------------------------------------------
# Hermite polynomials and teacher
# ----------------------------------------------------------------------------------------------
def _check_k(k: int, even: bool = True) -> int:
    """Information exponent: an integer (``4.0``, ``True`` raise ParameterTypeError) in [2, 12],
    even unless ``even=False``.  The closed-form loss and gradient (and so every driver) need even
    k: they use the integer power q = k // 2 - 1 of the norms for n_j^(k/2 - 1), which is wrong for
    odd k (population_loss(k=3) disagreed with Monte Carlo before this check)."""
    allowed = ("an even integer in [2, 12] (information exponent of h_k)" if even else
               "an integer in [2, 12] (information exponent of h_k)")
    if not is_int(k):
        raise ParameterTypeError(f"k={k!r} is invalid: {allowed} (got {type(k).__name__})")
    require(2 <= int(k) <= 12 and (not even or k % 2 == 0), "k", k, allowed)
    return int(k)


_A_ALLOWED = ("positive teacher coefficients a_p > 0 (the student sum_j ||v_j||^2 h_k(<v_j, x>/"
              "||v_j||) with even k has non-negative projections v_jp^k onto h_k(x_p), so a_p <= 0 "
              "cannot be learned; the model does not need sum_p a_p^2 = 1, "
              "teacher_coefficients(P, beta) gives the normalised power law)")


def _check_teacher(a, d: int | None = None, positive: bool = True) -> np.ndarray:
    """Teacher coefficients: a non-empty finite 1-d array (``len(a) <= d`` when ``d`` is given),
    positive unless ``positive=False``."""
    a = check_array("a", a, ndim=1, min_size=1)
    if d is not None:
        require(len(a) <= d, "a", a.shape, f"a 1-d array with 1 <= len(a) <= d={d}")
    if positive:
        bad = np.flatnonzero(~(a > 0))
        if bad.size:
            require(False, f"a[{int(bad[0])}]", float(a[bad[0]]), _A_ALLOWED)
    return a


def _check_weights(V, name: str = "V", shape: tuple | None = None) -> np.ndarray:
    """Student weights: a finite 2-d array (of ``shape`` when given) whose rows are all nonzero
    (the student uses the direction v_j/||v_j||)."""
    V = check_array(name, V, ndim=2, shape=shape)
    require(V.shape[0] >= 1 and V.shape[1] >= 1, name, f"shape {V.shape}", "at least one neuron")
    zero = np.flatnonzero(~(np.sum(V * V, axis=1) > 0))
    if zero.size:
        require(False, f"{name}[{int(zero[0])}]", "zero row", "every neuron nonzero (the student "
                "uses the direction v_j/||v_j||, undefined for v_j = 0)")
    return V


def _check_seeds(seeds) -> list[int]:
    if isinstance(seeds, (str, bytes, float)):
        check_int("seeds", seeds)                # ParameterTypeError naming seeds
    seeds = list(np.atleast_1d(seeds)) if not isinstance(seeds, (list, tuple)) else list(seeds)
    require(len(seeds) >= 1, "seeds", seeds, "a non-empty list of integer seeds >= 0")
    return [check_int(f"seeds[{i}]", int(s) if is_int(s) else s, 0) for i, s in enumerate(seeds)]


def hermite(k: int, z):
    """Normalised probabilists' Hermite polynomial ``h_k(z) = He_k(z)/sqrt(k!)`` (E[h_k^2] = 1)."""
    check_int("k", k, 0, 20)
    z = np.asarray(z, dtype=float)
    h0, h1 = np.ones_like(z), z
    if k == 0:
        return h0
    for n in range(1, k):  # He_{n+1} = z He_n - n He_{n-1}
        h0, h1 = h1, z * h1 - n * h0
    return h1 / math.sqrt(math.factorial(k))


def hermite_deriv(k: int, z):
    """Derivative of :func:`hermite`: ``h_k' = sqrt(k) h_{k-1}``."""
    check_int("k", k, 1, 20)
    return math.sqrt(k) * hermite(k - 1, z)


def teacher_coefficients(P: int, beta: float) -> np.ndarray:
    """``a_p = p^{-beta} / Z`` for ``p = 1..P`` with ``Z = (sum_p p^{-2 beta})^{1/2}`` so that
    ``sum_p a_p^2 = 1`` (Ren et al. 2025, Prop. 2.2; the printed ``Z`` lacks the square root)."""
    check_int("P", P, 1)
    check_real("beta", beta)
    require(0 <= beta <= 10, "beta", beta, "a number in [0, 10]")
    a = np.arange(1, P + 1, dtype=float) ** (-float(beta))
    return a / np.sqrt(np.sum(a * a))


def tail_loss(P: int, beta: float) -> float:
    """Loss carried by the directions ``p > P`` of the infinite-``P`` teacher, in units of the
    ``P``-direction normalisation: ``sum_{p>P} p^{-2 beta} / sum_{p<=P} p^{-2 beta}`` (Hurwitz zeta).

    Adding it to a finite-``P`` loss curve gives (up to a constant factor) the loss of the teacher
    with ``P = infinity`` while directions beyond ``P`` are not yet learned (finite-P correction,
    the book's sources appendix, chapters/sources_ren_nichani_wu_lee.md).  Requires ``beta > 1/2``.
    """
    check_int("P", P, 1)
    check_real("beta", beta)
    require(beta > 0.5, "beta", beta, "a number > 1/2 (summable tail)")
    s = 2.0 * beta
    head = float(np.sum(np.arange(1, P + 1, dtype=float) ** (-s)))
    return float(zeta(s, P + 1)) / head


def spherical_init(m: int, d: int, sigma0: float, rng: np.random.Generator) -> np.ndarray:
    """``m`` rows drawn uniformly on the sphere of radius ``sigma0`` in ``R^d`` (paper sec. 2)."""
    check_int("m", m, 1)
    check_int("d", d, 2)
    check_real("sigma0", sigma0)
    require(0 < sigma0 <= 1, "sigma0", sigma0, "a number in (0, 1]")
    if not isinstance(rng, np.random.Generator):
        raise ParameterTypeError(f"rng={rng!r} is invalid: a numpy.random.Generator "
                                 f"(got {type(rng).__name__})")
    g = rng.standard_normal((m, d))
    return sigma0 * g / np.linalg.norm(g, axis=1, keepdims=True)


# ----------------------------------------------------------------------------------------------
# Closed-form population loss and its gradient
# ----------------------------------------------------------------------------------------------
def population_loss_from_overlaps(C: np.ndarray, G: np.ndarray, a: np.ndarray, k: int) -> float:
    """Closed-form population MSE ``E[(f - f*)^2]`` (module docstring; Ren et al. 2025 eq. 4)
    from the teacher overlaps ``C = V[:, :P]`` (``m x P``) and the Gram matrix ``G = V V^T``."""
    n = np.diag(G).copy()
    q = k // 2 - 1
    w = n ** (-q)
    Ck = C ** k
    cross = float(np.sum((Ck @ a) * w))
    self_ = float(w @ (G ** k) @ w)
    return float(np.sum(a * a) - 2.0 * cross + self_)


def population_loss(V: np.ndarray, a: np.ndarray, k: int = 4) -> float:
    """Closed-form population MSE of the student ``V`` (``m x d``, finite, nonzero rows) against
    the teacher with directions ``e_1..e_P`` and coefficients ``a`` (``P = len(a) <= d``); no 1/2.
    Even ``k`` only (see ``_check_k``)."""
    V = _check_weights(V)
    a = _check_teacher(a, V.shape[1], positive=False)
    _check_k(k)
    return population_loss_from_overlaps(V[:, :len(a)], V @ V.T, a, k)


def _ipow(x: np.ndarray, n: int) -> np.ndarray:
    """``x**n`` for a small integer ``n >= 1`` by repeated multiplication (much faster than pow)."""
    out = x.copy()
    for _ in range(n - 1):
        out *= x
    return out


def _forces(C: np.ndarray, G: np.ndarray, a: np.ndarray, k: int):
    """Pieces of the gradient of L/2: returns ``(D, gamma, H)`` (module docstring)."""
    n = np.diag(G).copy()
    q = k // 2 - 1
    w = n ** (-q) if q else np.ones_like(n)
    Ckm1 = _ipow(C, k - 1)
    D = Ckm1 * a * w[:, None]
    Gkm1 = _ipow(G, k - 1)
    H = Gkm1 * np.outer(w, w)
    if q:
        cross = np.sum(Ckm1 * C * a, axis=1)
        self_ = (Gkm1 * G) @ w
        gamma = 2.0 * q * w / n * (cross - self_)
    else:
        gamma = np.zeros_like(n)
    return D, gamma, H


def population_grad(V: np.ndarray, a: np.ndarray, k: int = 4) -> np.ndarray:
    """Gradient of ``L/2`` (half the closed-form population MSE) with respect to ``V`` (``m x d``)."""
    V = _check_weights(V)
    a = _check_teacher(a, V.shape[1], positive=False)
    _check_k(k)
    P = len(a)
    D, gamma, H = _forces(V[:, :P], V @ V.T, a, k)
    g = gamma[:, None] * V + k * (H @ V)
    g[:, :P] -= k * D
    return g


def monte_carlo_loss(V: np.ndarray, a: np.ndarray, k: int, n: int, rng: np.random.Generator,
                     chunk: int = 20000) -> tuple[float, float]:
    """Monte Carlo estimate of ``E[(f - f*)^2]`` and its standard error from ``n`` fresh samples
    (independent check of the closed form)."""
    V = np.asarray(V, dtype=float)
    m, d = V.shape
    P = len(a)
    nrm2 = np.sum(V * V, axis=1)
    Vb = V / np.sqrt(nrm2)[:, None]
    s = s2 = 0.0
    done = 0
    while done < n:
        b = min(chunk, n - done)
        X = rng.standard_normal((b, d))
        f = hermite(k, X @ Vb.T) @ nrm2
        fs = hermite(k, X[:, :P]) @ a
        e = (f - fs) ** 2
        s += e.sum()
        s2 += (e * e).sum()
        done += b
    mean = s / n
    var = s2 / n - mean ** 2
    return float(mean), float(np.sqrt(max(var, 0.0) / n))


# ----------------------------------------------------------------------------------------------
# Greedy pairing and predicted transition times
# ----------------------------------------------------------------------------------------------
def transition_time(a_q, u0, k: int = 4, eta: float = 1.0, sigma_hat: float = 1.0):
    """Predicted emergence time ``T = 1/(k(k-2) sigma_hat^2 a eta u0^{(k-2)/2})`` in steps
    (``eta = 1``: GF time).  ``u0`` is the initial squared cosine ``s(0)^2`` (Ren et al. Thm 2.1);
    ``u0 = 0`` (a neuron orthogonal to the direction) gives ``T = inf``.  ``a_q`` must be positive
    (see :func:`population_gd`)."""
    _check_k(k)
    require(k >= 4, "k", k, "an even integer >= 4 (for k = 2 there is no finite-time escape)")
    a_q = check_array("a_q", a_q)
    bad = np.flatnonzero(~(a_q.ravel() > 0))
    if bad.size:
        require(False, "a_q", float(a_q.ravel()[bad[0]]), _A_ALLOWED)
    u0 = check_array("u0", u0)
    require(bool(np.all((u0 >= 0) & (u0 <= 1))), "u0", float(u0.min()) if u0.size else u0,
            "squared cosines in [0, 1]")
    check_real("eta", eta, 0.0, lo_open=True)
    check_real("sigma_hat", sigma_hat, 0.0, lo_open=True)
    with np.errstate(divide="ignore"):
        return 1.0 / (k * (k - 2) * sigma_hat ** 2 * a_q * eta * u0 ** ((k - 2) / 2))


def greedy_pairing(V: np.ndarray, a: np.ndarray, k: int = 4):
    """Greedy maximum selection (Ren et al. 2025 eq. 5): repeatedly pick the unused (student j,
    teacher p) pair maximising ``a_p u_jp^{(k-2)/2}`` (``u_jp`` = squared cosine at init), i.e.
    the smallest predicted ``T``.

    Returns ``(students, teachers, u0)``: arrays of length ``min(m, P)`` in emergence order.
    """
    V = _check_weights(V)
    a = _check_teacher(a, V.shape[1])
    _check_k(k)
    P = len(a)
    m = V.shape[0]
    u = V[:, :P] ** 2 / np.sum(V * V, axis=1, keepdims=True)
    score = np.log(np.maximum(a, 1e-300))[None, :] + 0.5 * (k - 2) * np.log(np.maximum(u, 1e-300))
    order = np.argsort(-score, axis=None, kind="stable")
    used_s = np.zeros(m, bool)
    used_t = np.zeros(P, bool)
    st, te = [], []
    npairs = min(m, P)
    for idx in order:
        j, p = divmod(int(idx), P)
        if used_s[j] or used_t[p]:
            continue
        used_s[j] = used_t[p] = True
        st.append(j)
        te.append(p)
        if len(st) == npairs:
            break
    st = np.array(st, dtype=int)
    te = np.array(te, dtype=int)
    return st, te, u[st, te]


# ----------------------------------------------------------------------------------------------
# Population gradient descent (reduced exact representation)
# ----------------------------------------------------------------------------------------------
@dataclass
class GDResult:
    """Trajectory of population GD (or online SGD).  Time ``t`` in steps; GF time is ``eta*t``."""

    t: np.ndarray                 # recorded steps
    loss: np.ndarray              # population MSE (no 1/2) at those steps
    pair_overlap: np.ndarray      # (len(t), npairs) squared cosine of student st[i] with teacher te[i]
    norms: np.ndarray             # (len(t), m) ||v_j||^2
    students: np.ndarray          # greedy pairing at init (emergence order)
    teachers: np.ndarray
    u0: np.ndarray                # initial squared cosines of the pairs
    T_pred: np.ndarray            # predicted transition times of the pairs, steps
    t_emerge: np.ndarray          # observed first step with pair overlap >= level (nan: not yet)
    level: float
    eta: float
    t_emerge_dir: np.ndarray | None = None  # first step some neuron has cos^2 >= level with e_{te[i]}
    meta: dict = field(default_factory=dict)


def _log_grid(steps: int, n: int) -> np.ndarray:
    g = np.unique(np.round(np.logspace(0, np.log10(max(steps, 1)), n)).astype(np.int64))
    return np.concatenate([[0], g[g <= steps]])


def _check_gd_args(m, d, a, k, eta, steps, level=None, eta_max=1.0) -> np.ndarray:
    """Validate the arguments shared by the GD and SGD drivers (``level`` only when given);
    return ``a`` as float array."""
    check_int("m", m, 1)
    check_int("d", d, 2)
    a = _check_teacher(a, d)
    _check_k(k)
    check_real("eta", eta)
    require(0 < eta <= eta_max, "eta", eta, f"a number in (0, {eta_max:g}]")
    check_int("steps", steps, 1)
    if level is not None:
        check_real("level", level)
        require(0 < level < 1, "level", level, "a number in (0, 1) (squared cosine that counts "
                "as emerged)")
    return a


def _check_run_args(seed=0, sigma0=1e-3, n_record=1, show_progress=True, reduced=False) -> None:
    """Seed, initial scale, number of checkpoints and flags shared by the drivers."""
    check_int("seed", seed, 0)
    check_real("sigma0", sigma0)
    require(0 < sigma0 <= 1, "sigma0", sigma0, "a number in (0, 1]")
    check_int("n_record", n_record, 1)
    check_bool("show_progress", show_progress)
    check_bool("reduced", reduced)


def _divergence_limit(a: np.ndarray) -> float:
    """Loss above which population GD counts as diverged: 1e3 times the initial loss scale
    max(1, sum_p a_p^2) (= 1e3 for the normalised teacher)."""
    return 1e3 * max(1.0, float(np.sum(a * a)))


def population_gd(m: int, d: int, a: np.ndarray, k: int = 4, eta: float = 0.1, steps: int = 1000,
                  sigma0: float = 1e-3, seed: int = 0, n_record: int = 200, level: float = 0.5,
                  reduced: bool = True, V0: np.ndarray | None = None,
                  show_progress: bool = True) -> GDResult:
    """Population gradient descent ``V <- V - eta grad(L/2)`` on the closed-form loss.

    Parameters
    ----------
    m, d : width and input dimension.  a : teacher coefficients (``P = len(a) <= d``).
    k : Hermite degree of the activation (information exponent).  eta : step size.
    steps : number of GD steps.  sigma0 : initial norm of each neuron.  seed : RNG seed of the
    initialisation.  n_record : number of log-spaced checkpoints.  level : squared-cosine level
    that defines "emerged" (default 1/2).  reduced : use the exact ``O(m^2(P+m))`` representation
    (module docstring) instead of the full ``m x d`` weights.  V0 : explicit initial weights.

    Emergence times of the greedy pairs are detected at every step (linear interpolation of the
    crossing of ``level``), not only at the checkpoints.

    Every input is checked before any work: ``a`` finite and positive (it need not be normalised;
    the divergence test is relative to ``max(1, sum a_p^2)``), ``V0`` finite of shape ``(m, d)``
    with nonzero rows, ``k`` even.
    """
    a = _check_gd_args(m, d, a, k, eta, steps, level)
    _check_run_args(seed, sigma0, n_record, show_progress, reduced)
    P = len(a)
    if V0 is None:
        V0 = spherical_init(m, d, sigma0, np.random.default_rng(seed))
    V0 = np.array(_check_weights(V0, "V0", shape=(m, d)), dtype=float)
    L_max = _divergence_limit(a)
    st, te, u0 = greedy_pairing(V0, a, k)
    T_pred = transition_time(a[te], u0, k, eta) if k >= 4 else np.full(len(st), np.nan)
    C = V0[:, :P].copy()
    if reduced:
        Vp = V0[:, P:]
        if d - P > m:
            Q, R = np.linalg.qr(Vp.T)       # Vp = R^T Q^T
            B = R.T.copy()
        else:
            B = Vp.copy()
    else:
        B = V0[:, P:].copy()
    rec = _log_grid(steps, n_record)
    nrec = len(rec)
    out_t = np.zeros(nrec, dtype=np.int64)
    out_L = np.zeros(nrec)
    out_po = np.zeros((nrec, len(st)))
    out_n = np.zeros((nrec, m))
    t_emerge = np.full(len(st), np.nan)
    t_emerge_dir = np.full(len(st), np.nan)
    prev_po = prev_pd = None
    ir = 0
    for t in progress(range(steps + 1), total=steps + 1, desc=f"GD m={m}",
                      disable=None if show_progress else True):
        G = C @ C.T + B @ B.T
        n = np.diag(G).copy()
        po = C[st, te] ** 2 / n[st]
        if prev_po is not None:
            new = np.isnan(t_emerge) & (po >= level)
            if new.any():
                f = (level - prev_po[new]) / (po[new] - prev_po[new])
                t_emerge[new] = t - 1 + f
        prev_po = po
        pd = np.max(C[:, te] ** 2 / n[:, None], axis=0)
        if prev_pd is not None:
            new = np.isnan(t_emerge_dir) & (pd >= level)
            if new.any():
                f = (level - prev_pd[new]) / (pd[new] - prev_pd[new])
                t_emerge_dir[new] = t - 1 + f
        prev_pd = pd
        if ir < nrec and t == rec[ir]:
            L = population_loss_from_overlaps(C, G, a, k)
            if not np.isfinite(L) or L > L_max:
                raise DivergenceError(f"population GD diverged at step {t} (loss {L!r}); "
                                      f"eta={eta} is probably above the stability bound ~1/(8 a_1)")
            out_t[ir], out_L[ir], out_po[ir], out_n[ir] = t, L, po, n
            ir += 1
        if t == steps:
            break
        D, gamma, H = _forces(C, G, a, k)
        kH = k * H
        C = C - eta * (gamma[:, None] * C + kH @ C - k * D)
        B = B - eta * (gamma[:, None] * B + kH @ B)
    ov = C ** 2 / n[:, None]
    return GDResult(out_t, out_L, out_po, out_n, st, te, u0, T_pred, t_emerge, level, eta,
                    t_emerge_dir, dict(m=m, d=d, P=P, k=k, sigma0=sigma0, seed=seed, algo="population GD",
                         final_best_teacher=np.argmax(ov, axis=1),
                         final_best_overlap=np.max(ov, axis=1)))


def population_gd_batch(m: int, d: int, a: np.ndarray, seeds, k: int = 4, eta: float = 0.1,
                        steps: int = 1000, sigma0: float = 1e-3, n_record: int = 200,
                        level: float = 0.5, show_progress: bool = True) -> list[GDResult]:
    """:func:`population_gd` (reduced representation) for several independent initialisations at
    once: the ``S = len(seeds)`` networks are stacked and advanced with batched matrix products,
    which removes the per-step Python overhead that dominates narrow networks.  Each network is
    initialised exactly as ``population_gd(..., seed=seeds[i])`` (same weights, same greedy
    pairing); the trajectories agree with the single runs to round-off (tests).  Same units,
    conventions and emergence bookkeeping as :func:`population_gd`; returns one
    :class:`GDResult` per seed.
    """
    a = _check_gd_args(m, d, a, k, eta, steps, level)
    _check_run_args(0, sigma0, n_record, show_progress)
    seeds = _check_seeds(seeds)
    L_max = _divergence_limit(a)
    P = len(a)
    S = len(seeds)
    V0 = np.stack([spherical_init(m, d, sigma0, np.random.default_rng(s)) for s in seeds])
    pairs = [greedy_pairing(V0[g], a, k) for g in range(S)]
    st = np.array([p_[0] for p_ in pairs])
    te = np.array([p_[1] for p_ in pairs])
    u0 = np.array([p_[2] for p_ in pairs])
    T_pred = transition_time(a[te], u0, k, eta) if k >= 4 else np.full(st.shape, np.nan)
    # W = [C | B]: teacher overlaps and the compressed orthogonal block side by side, so that the
    # Gram matrix is one symmetric product and the update one matrix product
    if d - P > m:
        B = np.stack([np.linalg.qr(V0[g][:, P:].T)[1].T for g in range(S)])
    else:
        B = V0[:, :, P:]
    W = np.ascontiguousarray(np.concatenate([V0[:, :, :P], B], axis=2))
    del V0, B
    C = W[:, :, :P]
    # wide networks: per-seed 2-d products (numpy uses the symmetric rank-k BLAS kernel for
    # W @ W.T); narrow ones: one batched product (less Python overhead)
    per_seed = m >= 48
    gi = np.arange(S)[:, None]
    q = k // 2 - 1
    rec = _log_grid(steps, n_record)
    nrec = len(rec)
    npairs = st.shape[1]
    out_L = np.zeros((S, nrec))
    out_po = np.zeros((S, nrec, npairs))
    out_n = np.zeros((S, nrec, m))
    t_em = np.full((S, npairs), np.nan)
    t_emd = np.full((S, npairs), np.nan)
    prev_po = prev_pd = None
    ir = 0
    Ct = np.swapaxes
    for t in progress(range(steps + 1), total=steps + 1, desc=f"GD m={m} x{S}",
                      disable=None if show_progress else True):
        G = np.stack([W[g] @ W[g].T for g in range(S)]) if per_seed else W @ Ct(W, 1, 2)
        n = np.diagonal(G, axis1=1, axis2=2).copy()
        po = C[gi, st, te] ** 2 / n[gi, st]
        pd = np.stack([np.max(np.take(C[g], te[g], axis=1) ** 2 / n[g][:, None], axis=0)
                       for g in range(S)])
        for cur, prev, tem in ((po, prev_po, t_em), (pd, prev_pd, t_emd)):
            if prev is not None:
                new = np.isnan(tem) & (cur >= level)
                if new.any():
                    tem[new] = t - 1 + (level - prev[new]) / (cur[new] - prev[new])
        prev_po, prev_pd = po, pd
        Ckm1 = _ipow(C, k - 1)
        w = n ** (-q) if q else np.ones_like(n)
        if ir < nrec and t == rec[ir]:
            Gk = _ipow(G, k)
            L = (np.sum(a * a) - 2.0 * np.einsum("gjp,p,gj->g", Ckm1 * C, a, w)
                 + np.einsum("gj,gjl,gl->g", w, Gk, w))
            if not np.all(np.isfinite(L)) or np.max(L) > L_max:
                raise DivergenceError(f"population GD diverged at step {t} (loss {L!r}); "
                                      f"eta={eta} is probably above the stability bound ~1/(8 a_1)")
            out_L[:, ir], out_po[:, ir], out_n[:, ir] = L, po, n
            ir += 1
        if t == steps:
            break
        Gkm1 = _ipow(G, k - 1)
        kH = k * Gkm1 * (w[:, :, None] * w[:, None, :])
        if q:
            cross = np.einsum("gjp,p->gj", Ckm1 * C, a)
            self_ = np.einsum("gjl,gl->gj", Gkm1 * G, w)
            gamma = 2.0 * q * w / n * (cross - self_)
        else:
            gamma = np.zeros_like(n)
        W = W - eta * (gamma[:, :, None] * W + kH @ W)
        C = W[:, :, :P]
        C += (eta * k) * (Ckm1 * a) * w[:, :, None]
    ov = C ** 2 / n[:, :, None]
    out_t = rec.astype(np.int64)
    return [GDResult(out_t.copy(), out_L[g], out_po[g], out_n[g], st[g], te[g], u0[g], T_pred[g],
                     t_em[g], level, eta, t_emd[g],
                     dict(m=m, d=d, P=P, k=k, sigma0=sigma0, seed=seeds[g], algo="population GD",
                          final_best_teacher=np.argmax(ov[g], axis=1),
                          final_best_overlap=np.max(ov[g], axis=1)))
            for g in range(S)]


def greedy_floor(m: int, d: int, a: np.ndarray, seeds, k: int = 4, sigma0: float = 1e-3):
    """Loss left by the directions that the greedy pairing at initialisation leaves unpaired,
    ``sum_{p not in pi} a_p^2``, for each seed (the width floor that Thm 2.1 predicts once every
    paired direction is learned; no training).  Uses the same initialisation as
    :func:`population_gd` with ``seed``.  Also returns the first greedy time ``T_1`` per seed in
    units of ``1/eta`` (GF time), the width-dependent clock."""
    check_int("m", m, 1)
    check_int("d", d, 2)
    a = _check_teacher(a, d)
    _check_k(k)
    check_real("sigma0", sigma0)
    seeds = _check_seeds(seeds)
    floors, T1 = [], []
    for s in seeds:
        V0 = spherical_init(m, d, sigma0, np.random.default_rng(int(s)))
        _, te, u0 = greedy_pairing(V0, a, k)
        floors.append(float(np.sum(np.delete(a, te) ** 2)))
        T1.append(float(transition_time(a[te[0]], u0[0], k, 1.0)))
    return np.array(floors), np.array(T1)


def emergence_times(res: GDResult, by: str = "pair"):
    """Observed/predicted emergence-time ratios of the pairs that emerged within the run.

    ``by="pair"``: the greedy partner neuron reaches ``cos^2 >= level``; ``by="direction"``: *some*
    neuron reaches it with the pair's teacher direction."""
    require(by in ("pair", "direction"), "by", by, "'pair' or 'direction'")
    te_ = res.t_emerge if by == "pair" else res.t_emerge_dir
    ok = np.isfinite(te_)
    return te_[ok] / res.T_pred[ok], ok


def due_ratios(res: GDResult, t_end: float, by: str = "pair", margin: float = 1.3) -> np.ndarray:
    """Observed/predicted emergence ratios of every pair predicted before ``t_end / margin``;
    pairs that did not emerge count as ``inf`` (late), so the median is not biased towards early
    emergers."""
    te_ = res.t_emerge if by == "pair" else res.t_emerge_dir
    due = res.T_pred <= t_end / margin
    return np.where(np.isfinite(te_), te_ / res.T_pred, np.inf)[due]


# ----------------------------------------------------------------------------------------------
# Online SGD (batch 1, fresh samples)
# ----------------------------------------------------------------------------------------------
def _sgd_chunk_py(V, X, a, k, eta, st, te, level, t0, prev, temerge):  # pragma: no cover - fallback
    S, m, d = V.shape
    P = a.shape[0]
    for i in range(X.shape[0]):
        x = X[i]
        fs = np.dot(a, hermite(k, x[:P]))
        for g in range(S):
            W = V[g]
            nrm2 = np.sum(W * W, axis=1)
            nrm = np.sqrt(nrm2)
            z = (W @ x) / nrm
            hz = hermite(k, z)
            dz = hermite_deriv(k, z)
            r = np.dot(nrm2, hz) - fs
            W -= eta * ((r * (2.0 * hz - dz * z))[:, None] * W + (r * dz * nrm)[:, None] * x[None, :])
            nn = np.sum(W * W, axis=1)
            pos = (W[st[g], te[g]] ** 2 / nn[st[g]], np.max(W[:, te[g]] ** 2 / nn[:, None], axis=0))
            for lev in range(2):
                po = pos[lev]
                for j in range(st.shape[1]):
                    if np.isnan(temerge[g, lev, j]) and po[j] >= level:
                        temerge[g, lev, j] = t0 + i + (level - prev[g, lev, j]) / (po[j] - prev[g, lev, j])
                    prev[g, lev, j] = po[j]
            if not np.isfinite(r) or abs(r) > 1e6:
                return r
    return 0.0


def _make_numba_helpers():
    """Compiled pieces shared by the two online-SGD kernels: the probabilists' Hermite recursion
    and the per-step emergence bookkeeping (pair and direction levels)."""
    nb = _numba
    # fast-math without 'nnan'/'ninf': the NaN sentinels and the divergence test must survive
    fm = {"reassoc", "contract", "arcp", "nsz"}

    @nb.njit(cache=True, fastmath=fm)
    def herm(k, z):
        h0 = 1.0
        h1 = z
        for n in range(1, k):
            h0, h1 = h1, z * h1 - n * h0
        return h1, h0  # He_k, He_{k-1}

    @nb.njit(cache=True, fastmath=fm)
    def norms_k(k):
        """sqrt(k!), sqrt((k-1)!), sqrt(k): the normalisations of h_k = He_k / sqrt(k!) and of
        h_k' = sqrt(k) h_{k-1}."""
        nk = 1.0
        for i in range(2, k + 1):
            nk *= i
        return np.sqrt(nk), np.sqrt(nk / k), np.sqrt(k)

    @nb.njit(cache=True, fastmath=fm)
    def teacher_value(a, xp, k, sk):
        """f*(x) = sum_p a_p h_k(x_p) from the teacher coordinates xp of one sample."""
        fs = 0.0
        for p in range(a.shape[0]):
            hk, _ = herm(k, xp[p])
            fs += a[p] * hk / sk
        return fs

    @nb.njit(cache=True, fastmath=fm)
    def neuron_terms(k, zz, nr, sk, skm1, sqk):
        """For a neuron with norm nr and normalised preactivation zz: h_k(zz) and the two factors of
        its gradient, along the neuron (cv) and along the input (cx)."""
        hk, hkm1 = herm(k, zz)
        h = hk / sk
        dh = sqk * hkm1 / skm1
        return h, 2.0 * h - dh * zz, dh * nr

    @nb.njit(cache=True, fastmath=fm)
    def track(W, norms, stg, teg, level, tb, prevg, temg):
        """Record first crossings of cos^2 >= level: W (m, >=P) teacher coordinates of the
        neurons, norms (m,) squared norms; level 0 = greedy partner, 1 = any neuron."""
        m = W.shape[0]
        for jj in range(stg.shape[0]):
            j = stg[jj]
            c = W[j, teg[jj]]
            po = c * c / norms[j]
            if np.isnan(temg[0, jj]) and po >= level:
                temg[0, jj] = tb + (level - prevg[0, jj]) / (po - prevg[0, jj])
            prevg[0, jj] = po
            pd = 0.0
            for j2 in range(m):
                c = W[j2, teg[jj]]
                pd = max(pd, c * c / norms[j2])
            if np.isnan(temg[1, jj]) and pd >= level:
                temg[1, jj] = tb + (level - prevg[1, jj]) / (pd - prevg[1, jj])
            prevg[1, jj] = pd

    return fm, norms_k, teacher_value, neuron_terms, track


def _make_sgd_kernel():
    if _numba is None:
        return _sgd_chunk_py
    nb = _numba
    fm, norms_k, teacher_value, neuron_terms, track = _make_numba_helpers()

    @nb.njit(cache=True, fastmath=fm)
    def kernel(V, X, a, k, eta, st, te, level, t0, prev, temerge):
        S, m, d = V.shape
        sk, skm1, sqk = norms_k(k)
        nrm2 = np.empty((S, m))
        cv = np.empty(m)
        cx = np.empty(m)
        for g in range(S):
            for j in range(m):
                s = 0.0
                for i in range(d):
                    s += V[g, j, i] * V[g, j, i]
                nrm2[g, j] = s
        for b in range(X.shape[0]):
            fs = teacher_value(a, X[b], k, sk)
            for g in range(S):
                f = 0.0
                for j in range(m):
                    s = 0.0
                    for i in range(d):
                        s += V[g, j, i] * X[b, i]
                    nr = np.sqrt(nrm2[g, j])
                    h, cv[j], cx[j] = neuron_terms(k, s / nr, nr, sk, skm1, sqk)
                    f += nrm2[g, j] * h
                r = f - fs
                if not np.isfinite(r) or abs(r) > 1e6:
                    return r
                for j in range(m):
                    av = 1.0 - eta * r * cv[j]
                    ax = eta * r * cx[j]
                    s = 0.0
                    for i in range(d):
                        v = av * V[g, j, i] - ax * X[b, i]
                        V[g, j, i] = v
                        s += v * v
                    nrm2[g, j] = s
                track(V[g], nrm2[g], st[g], te[g], level, t0 + b, prev[g], temerge[g])
        return 0.0

    return kernel


_SGD_KERNEL = None
_SGD_RED_KERNEL = None


def _make_sgd_reduced_kernel():
    """Exact reduced online SGD (same law as the full-d chain; see :func:`online_sgd`)."""
    if _numba is None:  # pragma: no cover
        raise RuntimeError("reduced online SGD needs numba")
    nb = _numba
    fm, norms_k, teacher_value, neuron_terms, track = _make_numba_helpers()

    @nb.njit(cache=True, fastmath=fm, parallel=True)
    def kernel(C, G, XP, Z, RHO2, a, k, eta, st, te, level, t0, prev, temerge):
        S, m, P = C.shape
        nsamp = XP.shape[0]
        sk, skm1, sqk = norms_k(k)
        fs_all = np.empty(nsamp)
        for b in range(nsamp):
            fs_all[b] = teacher_value(a, XP[b], k, sk)
        bad = np.zeros(S)
        # the initialisations are independent chains on a shared sample stream: one thread each
        for g in nb.prange(S):
            cv = np.empty(m)
            cx = np.empty(m)
            nn = np.empty(m)
            y = np.empty(m)
            L = np.zeros((m, m))
            for b in range(nsamp):
                # y = V_perp x_perp ~ N(0, G): Cholesky factor of the Gram matrix times z
                ok = True
                for i in range(m):
                    for j in range(i + 1):
                        sm = G[g, i, j]
                        for q in range(j):
                            sm -= L[i, q] * L[j, q]
                        if i == j:
                            if not sm > 0.0:
                                ok = False
                                break
                            L[i, i] = np.sqrt(sm)
                        else:
                            L[i, j] = sm / L[j, j]
                    if not ok:
                        break
                if not ok:
                    bad[g] = np.nan
                    break
                zz2 = RHO2[b]
                for i in range(m):
                    sm = 0.0
                    for q in range(i + 1):
                        sm += L[i, q] * Z[b, q]
                    y[i] = sm
                    zz2 += Z[b, i] * Z[b, i]                 # |x_perp|^2 = |z|^2 + rho^2
                f = 0.0
                for j in range(m):
                    s = y[j]
                    n2 = G[g, j, j]
                    for p in range(P):
                        s += C[g, j, p] * XP[b, p]
                        n2 += C[g, j, p] * C[g, j, p]
                    nr = np.sqrt(n2)
                    h, cv[j], cx[j] = neuron_terms(k, s / nr, nr, sk, skm1, sqk)
                    f += n2 * h
                r = f - fs_all[b]
                if not np.isfinite(r) or abs(r) > 1e6:
                    bad[g] = r
                    break
                # V <- diag(av) V - ax x^T: teacher block directly, Gram matrix of the rest
                # G <- D G D - (D y) ax^T - ax (D y)^T + |x_perp|^2 ax ax^T
                for j in range(m):
                    av = 1.0 - eta * r * cv[j]
                    ax = eta * r * cx[j]
                    for p in range(P):
                        C[g, j, p] = av * C[g, j, p] - ax * XP[b, p]
                    cv[j] = av
                    cx[j] = ax
                    y[j] *= av
                for i in range(m):
                    for j in range(i + 1):
                        v = (cv[i] * cv[j] * G[g, i, j] - y[i] * cx[j] - cx[i] * y[j]
                             + zz2 * cx[i] * cx[j])
                        G[g, i, j] = v
                        G[g, j, i] = v
                for j in range(m):
                    n2 = G[g, j, j]
                    for p in range(P):
                        n2 += C[g, j, p] * C[g, j, p]
                    nn[j] = n2
                track(C[g], nn, st[g], te[g], level, t0 + b, prev[g], temerge[g])
        for g in range(S):
            if bad[g] != 0.0:  # NaN (Cholesky breakdown) compares unequal too
                return bad[g]
        return 0.0

    return kernel


@dataclass
class SGDResult(GDResult):
    """Online-SGD trajectory; ``loss`` is the exact population MSE at the checkpoints."""


def online_sgd(m: int, d: int, a: np.ndarray, k: int = 4, eta: float = 1e-6, steps: int = 10000,
               sigma0: float = 1e-3, seed: int = 0, n_init: int = 1, n_record: int = 100,
               level: float = 0.5, chunk: int = 4096, reduced: bool = False,
               show_progress: bool = True) -> SGDResult | list[SGDResult]:
    """Online SGD, batch 1, one fresh ``x ~ N(0, I_d)`` per step, on the per-sample loss
    ``(f(x) - f*(x))^2 / 2`` (Ren et al. 2025 sec. 2, eq. 3).  Per-sample gradient (our
    derivation)::

        grad_{v_j} = r [ (2 h(z_j) - z_j h'(z_j)) v_j + ||v_j|| h'(z_j) x ],  r = f(x) - f*(x),

    with ``z_j = <v_j, x>/||v_j||``.  ``n_init`` independent initialisations are trained side by
    side on the *same* sample stream (common random numbers: the ``d`` Gaussian draws per step are
    the dominant cost and are shared; each network has its own residual and its own trajectory).
    Samples and initialisations come from ``numpy.random.default_rng(seed)`` (initialisations
    first).  Emergence of the greedy pairs is detected at every step; the population MSE is
    evaluated in closed form at log-spaced checkpoints.  Returns one :class:`SGDResult`
    (``n_init = 1``) or a list of them.

    ``reduced=True`` (needs ``d - P > m`` and numba) runs the *same Markov chain in law* at a cost
    independent of ``d``: the dynamics sees the component ``V_perp`` of ``V`` orthogonal to the
    teacher span only through its Gram matrix ``G = V_perp V_perp^T`` and through
    ``y = V_perp x_perp``.  For a fresh isotropic ``x_perp``, ``y ~ N(0, G)`` and
    ``|x_perp|^2 = |z|^2 + rho^2`` jointly, with ``y = L z``, ``L`` the Cholesky factor of ``G``,
    ``z ~ N(0, I_m)`` and ``rho^2 ~ chi^2_{d-P-m}`` (write ``V_perp = L W`` with orthonormal rows
    ``W``; ``z = W x_perp``; any other factor of ``G`` differs by a rotation of ``z``, which leaves
    the joint law unchanged).  The update ``V <- diag(av) V - ax x^T`` maps
    ``G <- D G D - (D y) ax^T - ax (D y)^T + |x_perp|^2 ax ax^T`` with ``D = diag(av)``.  Per step:
    ``P + m`` Gaussians, one chi-square draw, one ``m x m`` Cholesky factorisation and
    ``O(m (m + P))`` further flops, instead of ``d`` Gaussians and ``O(m d)``.  The initialisations
    run in parallel threads (numba ``prange``) on the shared sample stream.
    Not pathwise identical to the full chain (different random numbers), identical in law; the
    one-step map is checked against the full update in the tests.
    """
    global _SGD_KERNEL
    a = _check_gd_args(m, d, a, k, eta, steps, level, eta_max=0.1)
    _check_run_args(seed, sigma0, n_record, show_progress, reduced)
    check_int("n_init", n_init, 1)
    check_int("chunk", chunk, 1)
    P = len(a)
    if reduced:
        require(d - P > m, "d", d, f"d > P + m = {P + m} for the reduced chain")
        global _SGD_RED_KERNEL
        if _SGD_RED_KERNEL is None:
            _SGD_RED_KERNEL = _make_sgd_reduced_kernel()
    elif _SGD_KERNEL is None:
        _SGD_KERNEL = _make_sgd_kernel()
    rng = np.random.default_rng(seed)
    V = np.stack([spherical_init(m, d, sigma0, rng) for _ in range(n_init)])
    pairs = [greedy_pairing(V[g], a, k) for g in range(n_init)]
    npairs = len(pairs[0][0])
    st = np.array([p[0] for p in pairs], dtype=np.int64)
    te = np.array([p[1] for p in pairs], dtype=np.int64)
    u0 = np.array([p[2] for p in pairs])
    T_pred = transition_time(a[te], u0, k, eta) if k >= 4 else np.full(st.shape, np.nan)
    rec = _log_grid(steps, n_record)
    out_L = [[] for _ in range(n_init)]
    out_po = [[] for _ in range(n_init)]
    out_n = [[] for _ in range(n_init)]
    prev = np.zeros((n_init, 2, npairs))
    for g in range(n_init):
        nn0 = np.sum(V[g] ** 2, axis=1)
        prev[g, 0] = V[g][st[g], te[g]] ** 2 / nn0[st[g]]
        prev[g, 1] = np.max(V[g][:, te[g]] ** 2 / nn0[:, None], axis=0)
    temerge = np.full((n_init, 2, npairs), np.nan)
    if reduced:
        Cr = np.ascontiguousarray(V[:, :, :P])
        Gr = np.ascontiguousarray(np.einsum("gji,gki->gjk", V[:, :, P:], V[:, :, P:]))
        del V

        def gram(g):
            return Cr[g] @ Cr[g].T + Gr[g], Cr[g]
    else:
        def gram(g):
            return V[g] @ V[g].T, V[g][:, :P]
    t = 0
    bar = progress(total=steps, desc=f"SGD d={d}", disable=None if show_progress else True)
    for ir in range(len(rec)):
        while t < rec[ir]:
            b = int(min(chunk, rec[ir] - t))
            if reduced:
                XP = rng.standard_normal((b, P))
                Z = rng.standard_normal((b, m))
                RHO2 = rng.chisquare(d - P - m, b)
                r = _SGD_RED_KERNEL(Cr, Gr, XP, Z, RHO2, a, int(k), float(eta), st, te,
                                    float(level), float(t), prev, temerge)
            else:
                X = rng.standard_normal((b, d))
                r = _SGD_KERNEL(V, X, a, int(k), float(eta), st, te, float(level), float(t), prev,
                                temerge)
            if r != 0.0:
                raise DivergenceError(f"online SGD diverged near step {t} (residual {r!r}); "
                                      f"eta={eta} is probably too large (use eta ~ c d^(-k/2))")
            t += b
            bar.update(b)
        for g in range(n_init):
            G, Cg = gram(g)
            out_L[g].append(population_loss_from_overlaps(Cg, G, a, k))
            out_po[g].append(Cg[st[g], te[g]] ** 2 / np.diag(G)[st[g]])
            out_n[g].append(np.diag(G).copy())
    bar.close()
    res = []
    for g in range(n_init):
        G, Cg = gram(g)
        ov = Cg ** 2 / np.diag(G)[:, None]
        res.append(SGDResult(rec.astype(np.int64), np.array(out_L[g]), np.array(out_po[g]),
                             np.array(out_n[g]), st[g], te[g], u0[g], T_pred[g], temerge[g, 0],
                             level, eta, t_emerge_dir=temerge[g, 1], meta=dict(m=m, d=d, P=P, k=k, sigma0=sigma0, seed=seed,
                                              init=g, algo="online SGD",
                                              final_best_teacher=np.argmax(ov, axis=1),
                                              final_best_overlap=np.max(ov, axis=1))))
    return res[0] if n_init == 1 else res


# ----------------------------------------------------------------------------------------------
# Toy reduction: one direction, universal curve, sum over directions
# ----------------------------------------------------------------------------------------------
def half_alignment_delay(u0):
    """Closed form (k = 4): ``u`` reaches 1/2 at ``t/T = 1 - 2 u0 + u0 ln((1-u0)/u0)``, from
    ``8 a t = [-1/u + ln(u/(1-u))]_{u0}^{u}`` with ``T = 1/(8 a u0)``."""
    u0 = np.asarray(u0, dtype=float)
    require(bool(np.all((u0 > 0) & (u0 < 0.5))), "u0", u0, "numbers in (0, 1/2)")
    return 1.0 - 2.0 * u0 + u0 * np.log((1.0 - u0) / u0)


@dataclass
class ToyCurve:
    """Universal single-direction emergence curve ``ell(tau)``, ``tau = t/T``."""

    tau: np.ndarray
    ell: np.ndarray
    u: np.ndarray
    rho: np.ndarray
    k: int
    u0: float
    rho0: float

    def __call__(self, tau):
        """``ell`` at arbitrary ``tau >= 0`` (1 before the grid, 0-limit value after it)."""
        tau = np.asarray(tau, dtype=float)
        return np.interp(tau, self.tau, self.ell, left=1.0, right=self.ell[-1])

    def crossing(self, level: float = 0.5) -> float:
        """First ``tau`` at which ``ell`` drops below ``level``."""
        i = int(np.flatnonzero(self.ell <= level)[0])
        x0, x1, y0, y1 = self.tau[i - 1], self.tau[i], self.ell[i - 1], self.ell[i]
        return float(x0 + (level - y0) * (x1 - x0) / (y1 - y0))


def toy_curve(k: int = 4, u0: float = 1 / 4096, rho0: float = 1e-5, tau_max: float = 3.0,
              n: int = 20001, rtol: float = 1e-10, atol: float = 1e-13) -> ToyCurve:
    """Integrate the single-direction toy ODE in ``tau = t/T`` (our derivation, module docstring)::

        du/dtau   = (2/(k-2)) u^{k/2} (1-u) / u0^{(k-2)/2},
        drho/dtau = (4/(k(k-2))) rho (u^{k/2} - rho) / u0^{(k-2)/2},
        ell       = 1 - 2 rho u^{k/2} + rho^2,

    with ``solve_ivp`` (LSODA) in the variables ``(log u, log rho)``.
    """
    _check_k(k)
    require(k >= 4, "k", k, "an even integer >= 4")
    require(0 < u0 < 0.5, "u0", u0, "a number in (0, 1/2)")
    require(0 < rho0 < 1, "rho0", rho0, "a number in (0, 1)")
    require(tau_max > 1, "tau_max", tau_max, "a number > 1")
    c = u0 ** (-(k - 2) / 2)
    h = k / 2

    def rhs(_, y):
        u, rho = math.exp(y[0]), math.exp(y[1])
        return [(2 / (k - 2)) * c * u ** (h - 1) * (1 - u),
                (4 / (k * (k - 2))) * c * (u ** h - rho)]

    # dense output near tau = 1 where everything happens
    tau = np.unique(np.concatenate([np.linspace(0, 0.9, 200), np.linspace(0.9, 1.1, n),
                                    np.linspace(1.1, tau_max, 400)]))
    sol = solve_ivp(rhs, (0, tau_max), [math.log(u0), math.log(rho0)], method="LSODA",
                    t_eval=tau, rtol=rtol, atol=atol)
    if not sol.success:  # pragma: no cover
        raise RuntimeError(f"toy ODE failed: {sol.message}")
    u, rho = np.exp(sol.y[0]), np.exp(sol.y[1])
    ell = 1.0 - 2.0 * rho * u ** h + rho ** 2
    return ToyCurve(sol.t, ell, u, rho, k, u0, rho0)


def toy_sum(t, a: np.ndarray, T: np.ndarray, curve: ToyCurve, learnable: int | None = None):
    """``L(t) = sum_p a_p^2 ell(t/T_p)``; only the first ``learnable`` directions
    emerge (width limit), the rest contribute their full ``a_p^2``."""
    t = np.atleast_1d(np.asarray(t, dtype=float))
    a = np.asarray(a, dtype=float)
    T = np.asarray(T, dtype=float)
    nl = len(a) if learnable is None else int(min(learnable, len(a)))
    out = np.full(t.shape, float(np.sum(a[nl:] ** 2)))
    w = a[:nl] ** 2
    for i, ti in enumerate(t):
        out[i] += float(w @ curve(ti / T[:nl]))
    return out


def greedy_toy_loss(t, a: np.ndarray, teachers, T_pred, curve: ToyCurve) -> np.ndarray:
    """Loss that the decoupled picture of Thm 2.1 predicts for *one* initialisation: each greedy
    pair ``i`` (teacher ``teachers[i]``, predicted time ``T_pred[i]``, both from
    :func:`greedy_pairing` / :class:`GDResult`) emerges along the universal curve at its own time,
    every unpaired direction keeps its full weight::

        L(t) = sum_i a_{teachers[i]}^2 ell(t / T_pred[i]) + sum_{p unpaired} a_p^2.

    Over the ``P = len(a)`` directions (add :func:`tail_loss` for an infinite teacher); ``t`` and
    ``T_pred`` in the same unit.  Nothing is fitted: it is a prediction from the initial overlaps.
    The curve is that of one ``u0`` (its shape depends on ``u0`` only through the small
    half-alignment delay)."""
    a = np.asarray(a, dtype=float)
    te = np.asarray(teachers, dtype=int)
    T = np.asarray(T_pred, dtype=float)
    require(te.shape == T.shape and te.ndim == 1, "teachers/T_pred", (te.shape, T.shape),
            "two 1-d arrays of the same length")
    require(len(np.unique(te)) == len(te) and (len(te) == 0 or (te.min() >= 0 and te.max() < len(a))),
            "teachers", te, f"distinct indices in [0, {len(a)})")
    return toy_sum(t, a[te], T, curve) + float(np.sum(np.delete(a, te) ** 2))


def greedy_toy(widths, d: int, a: np.ndarray, seed: int, t, curve: ToyCurve, k: int = 4,
               eta: float = 1.0, sigma0: float = 1e-3):
    """:func:`greedy_toy_loss` for nested widths of one initialisation: width ``m`` uses the first
    ``m`` neurons of ``spherical_init(max(widths), d, sigma0, default_rng(seed))``, which is the
    initialisation of :func:`population_gd` / :func:`population_gd_batch` with the same ``seed``
    (widths nested as in chapter 5).  No training.  ``t`` in steps of size ``eta``.

    Returns ``(L, T1)``: ``L[m]`` the predicted loss at ``t`` (over the ``P`` directions) and
    ``T1[m]`` the first predicted emergence time of width ``m`` (its clock), in steps."""
    widths = [check_int(f"widths[{i}]", int(m) if is_int(m) else m, 1)
              for i, m in enumerate(np.atleast_1d(widths))]
    require(len(widths) >= 1, "widths", widths, "a non-empty list of integers >= 1")
    check_real("eta", eta, 0.0, lo_open=True)
    check_int("d", d, 2)
    a = _check_teacher(a, d)
    check_int("seed", seed, 0)
    V = spherical_init(max(widths), d, sigma0, np.random.default_rng(int(seed)))
    L, T1 = {}, {}
    for m in widths:
        _, te, u0 = greedy_pairing(V[:m], a, k)
        T = transition_time(a[te], u0, k, eta)
        L[m] = greedy_toy_loss(t, a, te, T, curve)
        T1[m] = float(T[0])
    return L, T1


def toy_sum_widths(t, a: np.ndarray, T: np.ndarray, curve: ToyCurve, ms) -> np.ndarray:
    """:func:`toy_sum` for several widths at once: row ``i`` is ``toy_sum(t, a, T, curve,
    learnable=ms[i])`` (one cumulative sum over directions per time instead of one sum per width)."""
    t = np.atleast_1d(np.asarray(t, dtype=float))
    a = np.asarray(a, dtype=float)
    T = np.asarray(T, dtype=float)
    ms = np.minimum(np.asarray(ms, dtype=int), len(a))
    require(bool(np.all(ms >= 0)), "ms", ms, "integers >= 0")
    w = a * a
    total = float(np.sum(w))
    cw = np.concatenate([[0.0], np.cumsum(w)])
    out = np.empty((len(ms), len(t)))
    for i, ti in enumerate(t):
        cl = np.concatenate([[0.0], np.cumsum(w * (curve(ti / T) - 1.0))])
        out[:, i] = total + cl[ms]
    return out


def frontier(curves: dict, C_grid) -> tuple[np.ndarray, np.ndarray]:
    """Compute-optimal frontier: lower envelope over widths of ``L`` at compute ``C = m t``.

    ``curves`` maps width ``m`` to ``(t, L)``; ``L`` is interpolated in log-log coordinates and
    widths whose run does not reach ``C/m`` are skipped.  Returns ``(L_opt, m_opt)``.
    """
    C_grid = np.asarray(C_grid, dtype=float)
    best = np.full(C_grid.shape, np.inf)
    arg = np.full(C_grid.shape, np.nan)
    for m, (t, L) in curves.items():
        t = np.asarray(t, dtype=float)
        L = np.asarray(L, dtype=float)
        ok = t > 0
        tt = C_grid / m
        inside = (tt >= t[ok][0]) & (tt <= t[ok][-1])
        Li = np.full(C_grid.shape, np.inf)
        Li[inside] = np.exp(np.interp(np.log(tt[inside]), np.log(t[ok]), np.log(L[ok])))
        better = Li < best
        best[better] = Li[better]
        arg[better] = m
    return best, arg


def frontier_window(widths, T1: float, beta: float) -> tuple[float, float]:
    """Compute window ``(C_lo, C_hi)`` for fitting a compute frontier over ``widths`` (chapter 5's
    rule, used for the toy sum, the network and the prediction from the initialisation alike):
    from the narrowest width at ``4 T1`` to the widest width ``m_max`` at ``T1 (m_max/4)^beta``,
    the time by which it has learned about ``m_max/4`` directions, away from its own floor.
    ``T1``: first emergence time (any unit; ``C`` comes out in width x that unit)."""
    ws = np.atleast_1d(check_array("widths", widths, ndim=(0, 1)))
    require(ws.size >= 2 and bool(np.all(ws >= 1)), "widths", widths, "at least two widths >= 1")
    check_real("T1", T1, 0.0, lo_open=True)
    check_real("beta", beta, 0.0)
    m_lo, m_hi = float(ws.min()), float(ws.max())
    return m_lo * 4.0 * T1, m_hi * T1 * (m_hi / 4.0) ** beta


# ----------------------------------------------------------------------------------------------
# Analysis helpers used by the chapter
# ----------------------------------------------------------------------------------------------
def rise_width(res: GDResult, lo: float = 0.1, hi: float = 0.9) -> np.ndarray:
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


def unused_neurons(res: GDResult, t_end: float, *, late_factor: float = 2.0,
                   min_fraction: float = 0.25, level: float = 0.5,
                   max_growth: float = 10.0) -> UnusedNeurons:
    """Count the violations of Thm 2.1(a) in one run: which neurons outside the learned set grew.

    The *late* neurons are the greedy partners whose predicted time exceeds ``late_factor *
    t_end`` together with (so that the test is never empty) the last ``min_fraction`` of the greedy
    list, plus every neuron that the greedy pairing left without a partner (``m > P``).  A late
    neuron is a violation when it ends aligned with a direction other than its greedy partner's
    (*captured*) or, otherwise, when its squared norm grew by more than ``max_growth``.  Uses the
    final checkpoint (``res.norms[-1]``, ``res.meta['final_best_overlap'/'final_best_teacher']``).
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
    best_t = np.asarray(res.meta["final_best_teacher"])[late]
    best_o = np.asarray(res.meta["final_best_overlap"])[late]
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


def converged_pairs(res: GDResult, t_end: float, a: np.ndarray, margin: float = 3.0):
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
