r"""Order-parameter ODEs of online SGD for two-layer student--teacher networks on structured data.

Model and conventions: :mod:`scalinglaws.conventions` (outputs :math:`c_s\sum_i g(x_i)`,
preactivations :math:`1/\sqrt N`, :math:`\varepsilon_g` with the ½, time :math:`\alpha` = steps/N).
Inputs have a covariance with L distinct eigenvalues :math:`\lambda_l` (fractions :math:`f_l` of
the coordinates).  The state is the set of eigen-group overlaps :math:`Q^{[l]}, R^{[l]}` (teacher
:math:`T^{[l]}` fixed), see :class:`scalinglaws.committee.setup.Overlaps`.  Averaging the SGD increment over
a fresh input and letting :math:`N\to\infty` gives (Worschech & Rosenow 2024, our
reconstruction, see the book's sources appendix, ``chapters/sources_worschech_rosenow.md``;
Saad & Solla 1995 for L = 1)

.. math::

   \frac{dR^{[l]}_{in}}{d\alpha} &= \eta c_s \sum_c w_c\, I_3(x_i, y_n^{[l]}, u_c)
        - \eta\kappa R^{[l]}_{in},\\
   \frac{dQ^{[l]}_{ik}}{d\alpha} &= \eta c_s \sum_c w_c\,[I_3(x_i, x_k^{[l]}, u_c) + (i\leftrightarrow k)]
        + \eta^2 c_s^2 f_l\lambda_l\Big[\sum_{cd} w_c w_d I_4(i,k,c,d) + \sigma^2 I_2'(i,k)\Big]
        - 2\eta\kappa Q^{[l]}_{ik},

where :math:`u_c` runs over the K student and M teacher preactivations, :math:`w = (-c_s,\dots,
+c_t,\dots)` are the signed output factors of the error :math:`y-\hat y`, and the auxiliary
variable :math:`b^{[l]} = \xi^T P_l(\cdot)/\sqrt N` has covariances :math:`\lambda_l G^{[l]}_{b\cdot}`
with the others.  :math:`I_3` is linear in those (:mod:`scalinglaws.numerics.gaussian`), so

.. math:: \frac{dX_l}{d\alpha} = \lambda_l\big[\mathcal L(C)\,X_l + g_l(C)\big] - \text{decay}\cdot X_l,
          \qquad C = \sum_l \lambda_l G^{[l]},

i.e. every group obeys the same linear law scaled by :math:`\lambda_l`, coupled only through the
physical covariance C.  With a power-law spectrum the rates span :math:`\eta\lambda_1 \dots
\eta\lambda_L` (stiff).  The default integrator (``method="auto"`` in :func:`integrate`) is
scipy's LSODA for L = 1 and, for L > 1, scipy's BDF on the state augmented by the physical overlaps
(:func:`bdf_structured`), which makes the Jacobian a sparse arrowhead (O(L p^2) non-zeros,
p = K(K+1)/2 + KM).  A linearly implicit Rosenbrock W-method (:func:`ros2`, block-diagonal +
rank-p Jacobian solved with the Woodbury identity), fixed-step explicit Euler (:func:`euler`, the
scheme of the classic peer codes pyscm/nn2pp; a compiled numba loop,
:mod:`scalinglaws.numerics.committee_rhs`, for erf and linear units) and any
``scipy.integrate.solve_ivp`` method are available for parity and cross-checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from scalinglaws.errors import (DEFAULT_MAX_MEMORY, DEFAULT_MAX_ODE_STEPS, DIVERGENCE_LIMIT, CostLimitError,
                     DivergenceError, ParameterTypeError, check_array, check_bool, check_choice,
                     check_cost, check_int, check_real, diverged, divergence_message, require)
from scalinglaws.committee.setup import Overlaps, Setup, trajectory
from scalinglaws.result import Curve
from scalinglaws.progress import progress

__all__ = ["log_times", "Packing", "rhs", "integrate", "check_limits", "check_memory", "euler",
           "euler_steps",
           "memory_estimate",
           "ros2", "jacobian_physical",
           "symmetric_fixed_point", "eps_g_trajectory", "bdf_structured"]


def log_times(t_max: float, n: int = 200, t_min: float = 1e-2, include_zero: bool = True) -> np.ndarray:
    """Log-spaced output times ``t_min .. t_max`` (n points), with a leading 0 by default."""
    t_max = check_real("t_max", t_max, 0.0, lo_open=True)
    t_min = check_real("t_min", t_min, 0.0, lo_open=True)
    require(t_min < t_max, "t_max", t_max, f"a number > t_min={t_min:g} (the first nonzero "
            "log-spaced output time; lower t_min or give explicit times)")
    n = check_int("n", n, 2)
    check_bool("include_zero", include_zero)
    t = np.logspace(math.log10(t_min), math.log10(t_max), int(n))
    return np.concatenate([[0.0], t]) if include_zero else t


# ----------------------------------------------------------------------------------------------
# state packing
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Packing:
    """Flat state layout: for each group, the upper triangle of Q^[l] then R^[l] (row-major)."""

    K: int
    M: int
    L: int

    @property
    def p(self) -> int:
        return self.K * (self.K + 1) // 2 + self.K * self.M

    @property
    def iu(self):
        return np.triu_indices(self.K)

    def pack(self, Qg: np.ndarray, Rg: np.ndarray) -> np.ndarray:
        iu = self.iu
        lead = Qg.shape[:-2]
        return np.concatenate([Qg[..., iu[0], iu[1]], Rg.reshape(*lead, self.K * self.M)], axis=-1)

    def unpack(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        K, M = self.K, self.M
        nq = K * (K + 1) // 2
        lead = X.shape[:-1]
        Q = np.zeros((*lead, K, K))
        iu = self.iu
        Q[..., iu[0], iu[1]] = X[..., :nq]
        Q[..., iu[1], iu[0]] = X[..., :nq]
        R = X[..., nq:].reshape(*lead, K, M)
        return Q, R


# ----------------------------------------------------------------------------------------------
# right-hand side
# ----------------------------------------------------------------------------------------------
class _Coefficients:
    """Everything in the RHS that depends on the physical covariance C only."""

    __slots__ = ("Aw_s", "Aw_t", "b", "forcing_q")

    def __init__(self, setup: Setup, C: np.ndarray):
        K = setup.K
        act = setup.activation
        w = setup.weights_vector()
        A, B = act.i3_coefficients(C, a_idx=np.arange(K))
        Aw = A * w[None, :]
        self.Aw_s = Aw[:, :K]
        self.Aw_t = Aw[:, K:]
        self.b = (B * w[None, :]).sum(axis=1)
        if act.name == "linear":
            I4 = np.full((K, K), w @ C @ w)
        else:
            I4 = (act.i4(C, np.arange(K), np.arange(K)) @ w) @ w
        f = setup.eta ** 2 * setup.c_s ** 2 * I4
        if setup.sigma > 0:
            f = f + setup.eta ** 2 * setup.c_s ** 2 * setup.sigma ** 2 * act.i2p(C)[:K, :K]
        self.forcing_q = f


def _physical_C(setup: Setup, Qg, Rg, Tg) -> np.ndarray:
    lam = setup.spectrum.eigenvalues
    Q = np.einsum("l,lik->ik", lam, Qg)
    R = np.einsum("l,lin->in", lam, Rg)
    T = np.einsum("l,lnm->nm", lam, Tg)
    return np.block([[Q, R], [R.T, T]])


def _group_rhs(setup: Setup, co: _Coefficients, Qg, Rg, Tg, forcing: bool = True):
    """lambda_l [L(C) X_l + g_l(C)] - decay, for a batch of groups (leading axis = groups)."""
    ec = setup.eta * setup.c_s
    lam = setup.spectrum.eigenvalues
    # D[:, :, :K] = Aw_s Q + Aw_t R^T - b Q ;  D[:, :, K:] = Aw_s R + Aw_t T - b R
    DQ = co.Aw_s @ Qg + co.Aw_t @ np.swapaxes(Rg, -1, -2) - co.b[:, None] * Qg
    DR = co.Aw_s @ Rg - co.b[:, None] * Rg
    if forcing:
        DR = DR + co.Aw_t @ Tg
    dQ = ec * (DQ + np.swapaxes(DQ, -1, -2))
    dR = ec * DR
    if forcing:
        dQ = dQ + (setup.spectrum.fractions[:, None, None]) * co.forcing_q
    dQ = lam[:, None, None] * dQ
    dR = lam[:, None, None] * dR
    return dQ, dR


def rhs(setup: Setup, Qg: np.ndarray, Rg: np.ndarray, Tg: np.ndarray):
    """Time derivatives (dQ^[l]/dalpha, dR^[l]/dalpha) of the group overlaps (arrays (L,K,K), (L,K,M))."""
    C = _physical_C(setup, Qg, Rg, Tg)
    co = _Coefficients(setup, C)
    dQ, dR = _group_rhs(setup, co, Qg, Rg, Tg)
    if setup.weight_decay:
        ek = setup.eta * setup.weight_decay
        dQ = dQ - 2 * ek * Qg
        dR = dR - ek * Rg
    return dQ, dR


# ----------------------------------------------------------------------------------------------
# the problem object used by all integrators
# ----------------------------------------------------------------------------------------------
class _Problem:
    def __init__(self, setup: Setup, init: Overlaps, limit: float = DIVERGENCE_LIMIT,
                 max_nfev: int | None = None):
        init.validate(setup)
        self.limit = limit
        self.trial_limit = limit      # raised for methods whose f sees trial (not accepted) states
        self.max_nfev = max_nfev
        self.setup = setup
        self.pk = Packing(setup.K, setup.M, setup.L)
        self.Tg = init.T.copy()
        self.y0 = self.pk.pack(init.Q, init.R).ravel()
        self.lam = setup.spectrum.eigenvalues
        self.nfev = 0
        self.njev = 0
        p = self.pk.p
        nq = setup.K * (setup.K + 1) // 2
        dec = np.concatenate([np.full(nq, 2.0), np.ones(p - nq)])
        self.decay = setup.eta * setup.weight_decay * dec

    def split(self, y):
        return self.pk.unpack(y.reshape(self.setup.L, self.pk.p))

    def C(self, y) -> np.ndarray:
        Qg, Rg = self.split(y)
        return _physical_C(self.setup, Qg, Rg, self.Tg)

    def f(self, t, y) -> np.ndarray:
        self.nfev += 1
        _check_budget(self, t)
        _check_finite(self, t, y, self.trial_limit)
        Qg, Rg = self.split(y)
        dQ, dR = rhs(self.setup, Qg, Rg, self.Tg)
        return self.pk.pack(dQ, dR).ravel()

    def structured_jacobian(self, y, eps: float = 1e-7):
        """Blocks of J = blockdiag(lam_l Lop - decay) + U V^T with V_l = lam_l I.

        Returns (Lop (p,p), U (L,p,p)) where U_l = lam_l d/dC [Lop(C) X_l + g_l(C)].
        """
        self.njev += 1
        s, pk = self.setup, self.pk
        K, M, p = s.K, s.M, pk.p
        X = y.reshape(s.L, p)
        Qg, Rg = pk.unpack(X)
        C = _physical_C(s, Qg, Rg, self.Tg)
        co = _Coefficients(s, C)
        # linear operator: apply the unforced, unscaled group map to the p basis vectors
        one = _Problem.__new__(_Problem)  # lightweight: reuse _group_rhs with lam = 1
        basisQ, basisR = pk.unpack(np.eye(p))
        ec = s.eta * s.c_s
        DQ = co.Aw_s @ basisQ + co.Aw_t @ np.swapaxes(basisR, -1, -2) - co.b[:, None] * basisQ
        DR = co.Aw_s @ basisR - co.b[:, None] * basisR
        Lop = pk.pack(ec * (DQ + np.swapaxes(DQ, -1, -2)), ec * DR).T  # (p, p): column j = L e_j
        del one
        base_Q, base_R = _group_rhs(s, co, Qg, Rg, self.Tg)
        base = pk.pack(base_Q, base_R)  # (L, p) = lam_l [L X_l + g_l]
        U = np.empty((s.L, p, p))
        Cp = pk.pack(C[:K, :K][None], C[:K, K:][None])[0]
        for j in range(p):
            h = eps * max(1.0, abs(Cp[j]))
            e = np.zeros(p)
            e[j] = h
            dq, dr = pk.unpack(e)
            C2 = C.copy()
            C2[:K, :K] += dq
            C2[:K, K:] += dr
            C2[K:, :K] += dr.T
            co2 = _Coefficients(s, C2)
            q2, r2 = _group_rhs(s, co2, Qg, Rg, self.Tg)
            U[:, :, j] = (pk.pack(q2, r2) - base) / h
        return Lop, U


# ----------------------------------------------------------------------------------------------
# integrators
# ----------------------------------------------------------------------------------------------
def _check_finite(prob: _Problem, t: float, y: np.ndarray, limit: float | None = None) -> None:
    """The divergence rule shared with SGD (:func:`scalinglaws.errors.diverged`): a physical
    student overlap |Q_ik| = |sum_l lambda_l Q^[l]_ik| above the limit, or any non-finite state."""
    limit = prob.limit if limit is None else limit
    y = np.asarray(y)
    s = prob.setup
    n = s.L * prob.pk.p
    nq = s.K * (s.K + 1) // 2
    Qphys = prob.lam @ y[:n].reshape(s.L, prob.pk.p)[:, :nq]
    if not np.all(np.isfinite(y)) or diverged(Qphys, limit):
        raise DivergenceError(divergence_message(
            s, t, f"a physical overlap |Q| > {limit:g} or non-finite", "the order-parameter ODE"))


def _divergence_event(prob: _Problem):
    """``solve_ivp`` event: the shared divergence rule on *accepted* steps (terminal); positive
    while every physical |Q_ik| is below the limit."""
    s = prob.setup
    n, p = s.L * prob.pk.p, prob.pk.p
    nq = s.K * (s.K + 1) // 2

    def event(t, y):
        m = float(np.max(np.abs(prob.lam @ y[:n].reshape(s.L, p)[:, :nq])))
        return prob.limit - m if np.isfinite(m) else -prob.limit

    event.terminal = True
    event.direction = -1
    return event


def _raise_if_event(prob: _Problem, sol) -> None:
    if sol.status == 1 and sol.t_events and len(sol.t_events[0]):
        raise DivergenceError(divergence_message(
            prob.setup, float(sol.t_events[0][0]),
            f"a physical overlap |Q| > {prob.limit:g} or non-finite", "the order-parameter ODE"))


def _check_budget(prob: _Problem, t: float) -> None:
    """Refuse to go on past ``max_steps`` right-hand-side evaluations (adaptive methods)."""
    if prob.max_nfev is not None and prob.nfev > prob.max_nfev:
        raise CostLimitError(
            f"max_steps={prob.max_nfev!r} is invalid: the ODE used more than {prob.max_nfev:.3g} "
            f"right-hand-side evaluations and reached only alpha={t:.4g} (very stiff, very long or "
            "diverging dynamics); shorten t_max, or pass max_steps= with a larger value (command "
            "line: --max-steps) to allow it")


def _validate_times(times, t_max) -> np.ndarray:
    times = check_array("times", times, finite=False)
    require(times.ndim == 1 and times.size >= 1, "times", f"shape {times.shape}",
            "a non-empty 1-d array")
    require(bool(np.all(np.isfinite(times)) and np.all(times >= 0)), "times", "negative/NaN",
            "finite values >= 0")
    require(bool(np.all(np.diff(times) > 0)), "times", "not increasing", "strictly increasing")
    return times


#: Code path of :func:`euler` used by :func:`integrate`: ``"auto"`` (compiled when numba is
#: installed and the activation has a compiled closed form, erf or linear), ``"numba"`` (require
#: the compiled path) or ``"numpy"`` (the reference).  Private switch for tests and benchmarks.
_EULER_KERNEL = "auto"


def _euler_compiled_available(setup: Setup) -> bool:
    from scalinglaws.numerics.committee_rhs import HAVE_NUMBA
    from scalinglaws.numerics.gaussian import Erf, Linear
    return HAVE_NUMBA and type(setup.activation) in (Erf, Linear)


def euler(prob: _Problem, times: np.ndarray, dt: float, show_progress: bool = True,
          kernel: str = "auto") -> np.ndarray:
    """Fixed-step explicit Euler: y_{n+1} = y_n + dt f(y_n).  Output at step round(t/dt).

    This is bit-for-bit the scheme of pyscm / nn2pp (each step evaluates the full right-hand side
    at the start of the step).  Match the *step count*, not the nominal time, when comparing.

    ``kernel``: ``"auto"`` runs the compiled loop of
    :mod:`scalinglaws.numerics.committee_rhs` (numba; erf and linear activations) when available,
    else the NumPy reference (``"numpy"``); ``"numba"`` requires the compiled loop.  Both record
    at the same steps (:func:`euler_steps`), check the divergence rule on every state and agree
    to round-off.
    """
    dt = check_real("dt", dt, 0.0, lo_open=True)
    check_choice("kernel", kernel, ("auto", "numba", "numpy"))
    if kernel != "numpy":
        ok = _euler_compiled_available(prob.setup)
        if kernel == "numba":
            require(ok, "kernel", kernel, "'numpy' or 'auto' (the compiled Euler loop needs numba "
                    "and the erf or linear activation)")
        if ok:
            return _euler_compiled(prob, times, dt, show_progress)
    steps = euler_steps(times, dt)
    out = np.empty((times.size, prob.y0.size))
    y = prob.y0.copy()
    n = 0
    bar = progress(total=int(steps[-1]), desc="Euler", disable=None if show_progress else True)
    for k, target in enumerate(steps):
        while n < target:
            y = y + dt * prob.f(n * dt, y)
            n += 1
            if n % 1000 == 0:
                _check_finite(prob, n * dt, y)
                bar.update(1000)
        _check_finite(prob, n * dt, y)
        out[k] = y
    bar.close()
    return out


def _euler_compiled(prob: _Problem, times: np.ndarray, dt: float, show_progress: bool) -> np.ndarray:
    """:func:`euler` through the compiled kernel: one call for the whole run, or, while a
    progress bar shows, calls of whole thousands of steps sized to ~0.1 s each (the bar advances
    by 1000 per 1000 steps, as in the reference)."""
    import time

    from scalinglaws.numerics.committee_rhs import ACT_ERF, ACT_LINEAR, euler_kernel
    from scalinglaws.numerics.gaussian import Erf

    s = prob.setup
    K, M, L, p = s.K, s.M, s.L, prob.pk.p
    steps = euler_steps(times, dt)
    Qg, Rg = prob.split(prob.y0)
    Qg = np.ascontiguousarray(Qg, dtype=float)
    Rg = np.ascontiguousarray(Rg, dtype=float)
    Tg = np.ascontiguousarray(prob.Tg, dtype=float)
    lam = np.ascontiguousarray(prob.lam, dtype=float)
    Tphys = np.ascontiguousarray(np.einsum("l,lnm->nm", lam, Tg))
    frac = np.ascontiguousarray(s.spectrum.fractions, dtype=float)
    w = np.ascontiguousarray(s.weights_vector(), dtype=float)
    act = ACT_ERF if type(s.activation) is Erf else ACT_LINEAR
    ec = s.eta * s.c_s
    e2c2 = s.eta ** 2 * s.c_s ** 2
    e2c2s2 = s.eta ** 2 * s.c_s ** 2 * s.sigma ** 2
    ek = s.eta * s.weight_decay
    out = np.empty((times.size, L * p))
    run = euler_kernel()
    total = int(steps[-1])
    bar = progress(total=total, desc="Euler", disable=None if show_progress else True)
    n = k = 0
    chunk = total if bar.disable else 1000
    while True:
        stop = min(total, n + chunk)
        t0 = time.perf_counter()
        n_new, k, status = run(Qg, Rg, Tg, Tphys, lam, frac, w, act, ec, e2c2, e2c2s2,
                               s.sigma > 0, ek, bool(s.weight_decay), float(dt), float(prob.limit),
                               steps, k, n, stop, out)
        if not bar.disable:
            thousands = int(n_new) // 1000 - n // 1000
            if thousands:
                bar.update(1000 * thousands)
            took = time.perf_counter() - t0
            if n_new - n >= 1000 and took > 0:   # next call ~0.1 s, in whole thousands of steps
                chunk = max(1000, int(round(0.1 * (n_new - n) / took / 1000.0)) * 1000)
        prob.nfev += n_new - n
        n = int(n_new)
        if status:
            bar.close()
            raise DivergenceError(divergence_message(
                s, n * dt, f"a physical overlap |Q| > {prob.limit:g} or non-finite",
                "the order-parameter ODE"))
        if n >= total:
            break
    bar.close()
    return out


_GAMMA = 1.0 + 1.0 / math.sqrt(2.0)


def ros2(prob: _Problem, times: np.ndarray, rtol: float = 1e-6, atol: float = 1e-9,
         h0: float | None = None, h_max: float | None = None, show_progress: bool = True) -> np.ndarray:
    r"""Adaptive ROS2 (Verwer et al. 1999), a 2nd-order L-stable linearly implicit W-method.

    .. math::
        (I-\gamma hJ)k_1 = f(y_n),\quad (I-\gamma hJ)k_2 = f(y_n + hk_1) - 2k_1,\quad
        y_{n+1} = y_n + \tfrac32 hk_1 + \tfrac12 hk_2,

    :math:`\gamma = 1 + 1/\sqrt2`, local error estimate :math:`\tfrac12 h(k_1+k_2)`.  The Jacobian
    is block-diagonal (one p x p block per eigen-group, :math:`\lambda_l\mathcal L(C)`) plus a
    rank-p coupling through the physical covariance; linear solves use the Woodbury identity.
    Error weights: ``atol * f_l`` per group component (group overlaps scale with the group
    fraction) plus ``rtol * |y|``.
    """
    require(rtol > 0 and atol > 0, "rtol/atol", (rtol, atol), "both > 0")
    s = prob.setup
    L, p = s.L, prob.pk.p
    lam = prob.lam
    wscale = np.repeat(s.spectrum.fractions, p)
    t_end = float(times[-1])
    y = prob.y0.copy()
    t = 0.0
    out = np.empty((times.size, y.size))
    k_out = 0
    while k_out < times.size and times[k_out] <= 0.0:
        out[k_out] = y
        k_out += 1
    rate = s.eta * max(1.0, float(lam.max()))
    h = h0 if h0 is not None else min(1e-2 / rate, 1e-2)
    h_max = h_max if h_max is not None else max(t_end / 20, 1.0)
    eye = np.eye(p)
    bar = progress(total=100, desc="ODE (ROS2)", disable=None if show_progress else True)
    done_pct = 0
    n_steps = n_rej = 0
    while k_out < times.size:
        h = min(h, h_max, times[k_out] - t)
        Lop, U = prob.structured_jacobian(y)
        gh = _GAMMA * h
        A = eye[None] - gh * (lam[:, None, None] * Lop[None] - np.einsum("p,pq->pq", prob.decay, eye)[None])
        Ainv = np.linalg.inv(A)
        Y = Ainv @ (gh * U)  # (L, p, p)
        S = eye - np.einsum("l,lpq->pq", lam, Y)
        Sinv = np.linalg.inv(S)

        def solve(r):
            a = np.einsum("lpq,lq->lp", Ainv, r.reshape(L, p))
            z = a + np.einsum("lpq,q->lp", Y, Sinv @ np.einsum("l,lp->p", lam, a))
            return z.ravel()

        f0 = prob.f(t, y)
        k1 = solve(f0)
        k2 = solve(prob.f(t + h, y + h * k1) - 2.0 * k1)
        y_new = y + 1.5 * h * k1 + 0.5 * h * k2
        err = 0.5 * h * (k1 + k2)
        sc = atol * wscale + rtol * np.maximum(np.abs(y), np.abs(y_new))
        en = float(np.sqrt(np.mean((err / sc) ** 2))) if np.all(np.isfinite(y_new)) else np.inf
        if en <= 1.0:
            t = t + h
            y = y_new
            n_steps += 1
            _check_finite(prob, t, y)
            if abs(t - times[k_out]) <= 1e-12 * max(1.0, t):
                t = float(times[k_out])
                out[k_out] = y
                k_out += 1
            pct = int(100 * t / t_end)
            if pct > done_pct:
                bar.update(pct - done_pct)
                done_pct = pct
            fac = 0.9 * en ** (-1.0 / 2.0) if en > 0 else 5.0
            h = h * min(5.0, max(0.2, fac))
        else:
            n_rej += 1
            if not np.isfinite(en):
                h *= 0.1
            else:
                h = h * max(0.1, 0.9 * en ** (-1.0 / 2.0))
            if h < 1e-14 * max(1.0, t):
                _check_finite(prob, t, y_new)
                raise DivergenceError(f"ROS2 step size underflow at alpha={t:.4g}: the dynamics is "
                                      f"singular or diverging (eta={s.eta} too large?)")
    bar.close()
    prob.stats = {"steps": n_steps, "rejected": n_rej}
    return out


def bdf_structured(prob: _Problem, times: np.ndarray, rtol: float = 1e-7, atol: float = 1e-10,
                   method: str = "BDF") -> np.ndarray:
    r"""scipy's BDF on the state augmented by the physical overlaps, with a sparse Jacobian.

    The group equations couple only through the physical covariance C.  Carrying its variable part
    :math:`Z = \sum_l \lambda_l X_l` as extra unknowns (with :math:`dZ/d\alpha = \sum_l \lambda_l
    dX_l/d\alpha`, a linear invariant that BDF preserves) makes each group depend only on itself and
    Z, so the Jacobian is an *arrowhead*: L diagonal p x p blocks
    :math:`\lambda_l\mathcal L(C) - {\rm decay}`, a border column :math:`\partial F_l/\partial Z`,
    a border row :math:`\lambda_l\,\partial F_l/\partial X_l` and a p x p corner; nnz = O(L p^2).
    scipy's sparse LU then makes each Newton solve O(L p^2) instead of O((Lp)^3).
    """
    from scipy import sparse

    s, pk = prob.setup, prob.pk
    L, p, K = s.L, pk.p, s.K
    lam = prob.lam
    Tphys = np.einsum("l,lnm->nm", lam, prob.Tg)
    nX = L * p

    def C_of(Zp):
        q, r = pk.unpack(Zp)
        return np.block([[q, r], [r.T, Tphys]])

    def groups_f(X, co):
        Qg, Rg = pk.unpack(X)
        dQ, dR = _group_rhs(s, co, Qg, Rg, prob.Tg)
        F = pk.pack(dQ, dR) - prob.decay[None, :] * X
        return F

    def fun(t, ya):
        prob.nfev += 1
        _check_budget(prob, t)
        _check_finite(prob, t, ya, prob.trial_limit)
        X = ya[:nX].reshape(L, p)
        co = _Coefficients(s, C_of(ya[nX:]))
        F = groups_f(X, co)
        return np.concatenate([F.ravel(), lam @ F])

    # sparsity pattern indices (fixed)
    bi = np.arange(L)[:, None, None] * p + np.arange(p)[None, :, None]
    bj = np.arange(L)[:, None, None] * p + np.arange(p)[None, None, :]
    blk_r = np.broadcast_to(bi, (L, p, p)).ravel()
    blk_c = np.broadcast_to(bj, (L, p, p)).ravel()
    col_r = blk_r
    col_c = np.broadcast_to(nX + np.arange(p)[None, None, :], (L, p, p)).ravel()
    row_r = np.broadcast_to(nX + np.arange(p)[None, :, None], (L, p, p)).ravel()
    row_c = blk_c
    cor_r = np.repeat(nX + np.arange(p), p)
    cor_c = np.tile(nX + np.arange(p), p)
    rows = np.concatenate([blk_r, col_r, row_r, cor_r])
    cols = np.concatenate([blk_c, col_c, row_c, cor_c])
    eye = np.eye(p)
    n = nX + p

    def jac(t, ya):
        prob.njev += 1
        X = ya[:nX].reshape(L, p)
        Zp = ya[nX:]
        C = C_of(Zp)
        co = _Coefficients(s, C)
        basisQ, basisR = pk.unpack(eye)
        ec = s.eta * s.c_s
        DQ = co.Aw_s @ basisQ + co.Aw_t @ np.swapaxes(basisR, -1, -2) - co.b[:, None] * basisQ
        DR = co.Aw_s @ basisR - co.b[:, None] * basisR
        Lop = pk.pack(ec * (DQ + np.swapaxes(DQ, -1, -2)), ec * DR).T
        B = lam[:, None, None] * Lop[None] - np.diag(prob.decay)[None]
        base = groups_f(X, co)
        U = np.empty((L, p, p))
        for j in range(p):
            h = 1e-7 * max(1.0, abs(Zp[j]))
            Z2 = Zp.copy()
            Z2[j] += h
            U[:, :, j] = (groups_f(X, _Coefficients(s, C_of(Z2))) - base) / h
        vals = np.concatenate([B.ravel(), U.ravel(), (lam[:, None, None] * B).ravel(),
                               np.einsum("l,lpq->pq", lam, U).ravel()])
        return sparse.csc_matrix((vals, (rows, cols)), shape=(n, n))

    Z0 = lam @ prob.y0.reshape(L, p)
    y0 = np.concatenate([prob.y0, Z0])
    sc = np.concatenate([np.repeat(s.spectrum.fractions, p), np.ones(p)]) * atol
    sol = solve_ivp(fun, (0.0, float(times[-1])), y0, method=method, t_eval=times, rtol=rtol,
                    atol=sc, jac=jac, events=_divergence_event(prob))
    _raise_if_event(prob, sol)
    if not sol.success or sol.y.shape[1] != times.size:
        last = sol.y[:, -1] if sol.y.size else y0
        _check_finite(prob, float(sol.t[-1]) if sol.t.size else 0.0, last)
        raise DivergenceError(f"solve_ivp({method}) failed at alpha={sol.t[-1] if sol.t.size else 0:.4g}: "
                              f"{sol.message} (eta={s.eta} too large?)")
    Y = sol.y.T[:, :nX]
    for k in range(Y.shape[0]):
        _check_finite(prob, float(times[k]), Y[k])
    prob.stats = {"nfev": sol.nfev, "njev": sol.njev, "nlu": sol.nlu}
    return Y


_METHODS = ("auto", "bdf", "ros2", "euler", "RK45", "RK23", "DOP853", "LSODA", "BDF", "Radau")


def euler_steps(times: np.ndarray, dt: float) -> np.ndarray:
    """Step numbers ``rint(t / dt)`` at which :func:`euler` records the output ``times``; raises
    ``ValueError`` naming ``dt`` when two output times fall on the same step or a time t > 0 on
    step 0 (the output would carry a wrong time label)."""
    steps = np.rint(np.asarray(times, float) / dt).astype(np.int64)
    bad = np.flatnonzero(np.diff(steps) == 0)
    if bad.size or (times[0] > 0 and steps[0] == 0):
        gaps = np.diff(np.concatenate([[0.0], times]))
        gap = float(gaps[gaps > 0].min())
        where = (f"t={times[0]:.4g} falls on step 0" if (times[0] > 0 and steps[0] == 0) else
                 f"t={times[bad[0]]:.4g} and t={times[bad[0] + 1]:.4g} fall on the same step")
        raise ValueError(f"dt={dt!r} is invalid: the Euler step must resolve the output times "
                         f"({where}; the smallest spacing of the output times, from 0, is "
                         f"{gap:.4g}, the last time {times[-1]:.4g}); use a dt below {gap:.4g} "
                         "or coarser output times")
    return steps


def memory_estimate(setup: Setup, method: str, n_out: int) -> float:
    """Rough peak memory (bytes) of :func:`integrate`: the output, the Gaussian integrals of one
    right-hand side (I4: K^2 (K+M)^2 per temporary) and the Jacobian of the implicit methods."""
    K, M, L = setup.K, setup.M, setup.L
    p = K * (K + 1) // 2 + K * M
    n = K + M
    words = 4.0 * n_out * L * K * n            # output, unpacked Q, R (x2)
    words += 12.0 * K * K * n * n              # I4 and its temporaries
    words += 6.0 * p * K * n                   # unpacked basis of the structured Jacobian
    if method in ("bdf", "ros2"):
        words += 12.0 * L * p * p              # blocks, border, inverses / sparse LU
    elif method in ("LSODA", "BDF", "Radau"):
        words += 6.0 * (L * p) ** 2            # dense Jacobian and its LU (complex for Radau)
    else:
        words += 10.0 * L * p
    return 8.0 * words


def check_memory(setup: Setup, method: str, n_out: int,
                 max_memory: float = DEFAULT_MAX_MEMORY) -> str:
    """Refuse (:class:`~scalinglaws.errors.CostLimitError`) a run whose :func:`memory_estimate`
    exceeds ``max_memory``; returns the method ``"auto"`` resolves to."""
    if method == "auto":
        method = "LSODA" if setup.L == 1 else "bdf"
    n = "n_times" if n_out > 1000 * max(setup.K, setup.M) ** 2 else \
        ("K" if setup.K >= setup.M else "M")
    value = n_out - 1 if n == "n_times" else getattr(setup, n)
    check_cost(n, value, memory_estimate(setup, method, n_out), max_memory,
               what=f"of memory (K={setup.K}, M={setup.M}, L={setup.L}, {n_out} output "
               f"times, method {method!r})", limit_name="max_memory", cli_option="--max-memory",
               memory=True)
    return method


def check_limits(setup: Setup, method: str, times, dt: float | None = None,
                 max_steps: int = DEFAULT_MAX_ODE_STEPS,
                 max_memory: float = DEFAULT_MAX_MEMORY) -> str:
    """The cost checks of :func:`integrate` (before any work): the memory estimate against
    ``max_memory`` and, for ``"euler"``, the step count ``t_max/dt`` against ``max_steps``
    (raise :class:`~scalinglaws.errors.CostLimitError`).  Returns the method ``"auto"`` resolves
    to."""
    times = np.asarray(times, dtype=float)
    method = check_memory(setup, method, times.size, max_memory)
    if method == "euler":
        steps = euler_steps(times, dt)
        check_cost("dt", dt, float(steps[-1]), max_steps,
                   what=f"Euler steps (t_max/dt = {times[-1]:.4g}/{dt:.3g})",
                   limit_name="max_steps", cli_option="--max-steps")
    return method


def integrate(setup: Setup, init: Overlaps, t_max: float | None = None, times=None,
              method: str = "auto", rtol: float = 1e-7, atol: float = 1e-10, dt: float | None = None,
              n_times: int = 200, keep_groups: bool = False, show_progress: bool = True, *,
              t_min: float = 1e-2, max_steps: int = DEFAULT_MAX_ODE_STEPS,
              max_memory: float = DEFAULT_MAX_MEMORY,
              divergence_limit: float = DIVERGENCE_LIMIT) -> Curve:
    r"""Integrate the order-parameter ODEs from ``init``.

    Parameters
    ----------
    setup : Setup
    init : Overlaps
        Initial group overlaps (e.g. ``Overlaps.from_weights(J, B, spectrum)``).
    t_max : float
        Final time alpha (steps/N); used with ``n_times`` and ``t_min`` to build
        :func:`log_times` when ``times`` is not given.
    times : array, optional
        Output times (strictly increasing, >= 0).  Give either ``times`` or ``t_max`` (both only
        if ``t_max == times[-1]``).
    method : {"auto", "bdf", "ros2", "euler"} or a ``scipy.integrate.solve_ivp`` method name
        ``"auto"`` (default): ``"LSODA"`` for L = 1 (tolerances tightened to at most 1e-8 / 1e-11),
        ``"bdf"`` for L > 1.  ``"bdf"``: scipy's BDF with the sparse arrowhead Jacobian of
        :func:`bdf_structured`.  ``"ros2"``: structured Rosenbrock W-method, see :func:`ros2`.
        ``"euler"``: fixed step ``dt`` (parity with pyscm/nn2pp; compiled with numba for erf and
        linear units when numba is installed, the NumPy reference loop otherwise).  ``"RK45"``, ``"RK23"``,
        ``"DOP853"``, ``"LSODA"``, ``"BDF"``, ``"Radau"``: plain scipy (dense Jacobians; small L only).
    rtol, atol : float
        Tolerances of the adaptive methods (finite, > 0; not used by ``"euler"``).
    dt : float
        Step of ``"euler"`` (required there, refused for the adaptive methods).  It must resolve
        the output times: no two of them (and no time > 0 and 0) may round to the same step.
    n_times, t_min : int, float
        The :func:`log_times` grid (0 plus ``n_times`` log-spaced points from ``t_min`` to
        ``t_max``) when ``times`` is not given.
    keep_groups : bool
        Also return the group-resolved overlaps in the extra ``groups``.
    max_steps : int
        Cost limit (default :data:`scalinglaws.errors.DEFAULT_MAX_ODE_STEPS` = 10^7): Euler steps
        ``t_max/dt`` (checked before the run), or right-hand-side evaluations of the adaptive
        methods (checked while they run).  Raise it explicitly for longer runs.
    max_memory : float
        Memory limit in bytes (default 4 GiB) for the estimate of :func:`memory_estimate`.
    divergence_limit : float
        The shared divergence rule (:func:`scalinglaws.errors.diverged`, default 10^6, the same
        as SGD's): a physical overlap above it raises :class:`~scalinglaws.errors.DivergenceError`.

    Returns
    -------
    Curve
        The committee curve (:func:`scalinglaws.committee.setup.trajectory`).
        eps_g and physical Q, R at the output times (alpha = steps/N).

    Raises
    ------
    ValueError
        Bad parameters (before any work); :class:`~scalinglaws.errors.CostLimitError` (a
        ``ValueError``) beyond ``max_steps``/``max_memory``.
    DivergenceError
        The dynamics blew up (typically eta above the stability bound).
    """
    # ---------------- validation (no work before this is done) ----------------
    if not isinstance(setup, Setup):
        raise ParameterTypeError(f"setup must be a scalinglaws.committee.setup.Setup, got "
                                 f"{type(setup).__name__}")
    if not isinstance(init, Overlaps):
        raise ParameterTypeError(f"init must be a scalinglaws.committee.setup.Overlaps, got "
                                 f"{type(init).__name__}")
    check_choice("method", method, _METHODS)
    t_max = check_real("t_max", t_max, 0.0, lo_open=True, allow_none=True)
    n_times = check_int("n_times", n_times, 2)
    t_min = check_real("t_min", t_min, 0.0, lo_open=True)
    keep_groups = check_bool("keep_groups", keep_groups)
    show_progress = check_bool("show_progress", show_progress)
    max_steps = check_int("max_steps", max_steps, 1)
    max_memory = check_real("max_memory", max_memory, 0.0, lo_open=True, finite=False)
    divergence_limit = check_real("divergence_limit", divergence_limit, 0.0, lo_open=True)
    if method == "euler":
        require(dt is not None, "dt", dt, "a step size > 0 is required for method='euler'")
        dt = check_real("dt", dt, 0.0, lo_open=True)
    else:
        require(dt is None, "dt", dt, f"only used by method='euler' (method={method!r} chooses "
                "its own steps; control it with rtol/atol)")
        rtol = check_real("rtol", rtol, 0.0, lo_open=True)
        atol = check_real("atol", atol, 0.0, lo_open=True)
    require((init.K, init.M, init.L) == (setup.K, setup.M, setup.L), "overlaps",
            f"K={init.K}, M={init.M}, L={init.L}",
            f"must match setup K={setup.K}, M={setup.M}, L={setup.L}")
    if times is None:
        require(t_max is not None, "t_max", t_max, "give t_max or times")
        require(t_min < t_max, "t_max", t_max, f"a number > t_min={t_min:g} (the first nonzero "
                "output time of the log-spaced grid); lower t_min or give explicit times")
        check_memory(setup, method, n_times + 1, max_memory)
        times = log_times(float(t_max), n=n_times, t_min=t_min)
    times = _validate_times(times, t_max)
    auto = method == "auto"
    if t_max is not None:
        require(abs(t_max - times[-1]) <= 1e-12 * max(1.0, t_max), "t_max", t_max,
                f"give either t_max or times, not both (times end at {times[-1]:.6g})")
    method = check_limits(setup, method, times, dt, max_steps, max_memory)
    if method == "LSODA" and auto:   # non-stiff L = 1: tighter tolerances cost little
        rtol, atol = min(rtol, 1e-8), min(atol, 1e-11)
    init.validate(setup)
    prob = _Problem(setup, init, divergence_limit, max_nfev=max_steps)
    _check_finite(prob, 0.0, prob.y0)
    if method != "euler":   # f sees trial states: only a runaway 100x the limit stops it there;
        prob.trial_limit = 100.0 * divergence_limit       # the rule acts on accepted states

    # ---------------- run ----------------
    if method == "euler":
        Y = euler(prob, times, float(dt), show_progress, kernel=_EULER_KERNEL)
    elif method == "bdf":
        Y = bdf_structured(prob, times, rtol, atol)
    elif method == "ros2":
        Y = ros2(prob, times, rtol, atol, show_progress=show_progress)
    else:
        def fun(t, y):
            return prob.f(t, y)
        sol = solve_ivp(fun, (0.0, float(times[-1])), prob.y0, method=method, t_eval=times,
                        rtol=rtol, atol=atol, events=_divergence_event(prob))
        _raise_if_event(prob, sol)
        if not sol.success:
            _check_finite(prob, float(sol.t[-1]) if sol.t.size else 0.0,
                          sol.y[:, -1] if sol.y.size else prob.y0)
            raise DivergenceError(f"solve_ivp({method}) failed: {sol.message}")
        Y = sol.y.T
        for k in range(Y.shape[0]):
            _check_finite(prob, float(times[k]), Y[k])
    return _trajectory(prob, times, Y, method, keep_groups)


def _trajectory(prob: _Problem, times, Y, method, keep_groups) -> Curve:
    s = prob.setup
    K = s.K
    Qg, Rg = prob.pk.unpack(Y.reshape(len(times), s.L, prob.pk.p))
    lam = prob.lam
    Q = np.einsum("l,tlik->tik", lam, Qg)
    R = np.einsum("l,tlin->tin", lam, Rg)
    T = np.einsum("l,lnm->nm", lam, prob.Tg)
    eps = np.empty(len(times))
    for i in range(len(times)):
        C = np.block([[Q[i], R[i]], [R[i].T, T]])
        eps[i] = s.eps_g(C)
    # ε_g is a sum of squares; at the integrator's tolerance floor round-off can leave it at
    # -1e-14: report 0 there (no negative "exact" losses); positive values are untouched
    eps = np.maximum(eps, 0.0)
    meta = dict(s.describe(), method=method, source="ode")
    meta["nfev"] = prob.nfev
    groups = {"Q": Qg, "R": Rg, "T": prob.Tg} if keep_groups else None
    del K
    return trajectory(np.asarray(times, float), eps, Q, R, T, groups=groups, meta=meta)


def eps_g_trajectory(setup: Setup, traj: Curve) -> np.ndarray:
    """Recompute eps_g from a trajectory's physical overlaps (consistency helper)."""
    out = np.empty(len(traj.t))
    for i in range(len(traj.t)):
        C = np.block([[traj.Q[i], traj.R[i]], [traj.R[i].T, traj.T]])
        out[i] = setup.eps_g(C)
    return out


# ----------------------------------------------------------------------------------------------
# fixed points and linearisation
# ----------------------------------------------------------------------------------------------
def jacobian_physical(setup: Setup, state: Overlaps, eps: float = 1e-7) -> np.ndarray:
    """Full Jacobian of the flat group-resolved RHS at ``state`` (dense; central differences)."""
    prob = _Problem(setup, state)
    y0 = prob.y0
    n = y0.size
    J = np.empty((n, n))
    for j in range(n):
        h = eps * max(1.0, abs(y0[j]))
        e = np.zeros(n)
        e[j] = h
        J[:, j] = (prob.f(0, y0 + e) - prob.f(0, y0 - e)) / (2 * h)
    return J


def symmetric_fixed_point(K: int) -> tuple[float, float]:
    r"""O(eta) symmetric plateau of the realisable K = M erf problem with T = 1 (any output norm):
    :math:`Q_{ik} = 1/(2K-1)`, :math:`R_{in} = 1/\sqrt{K(2K-1)}` (Saad & Solla 1995)."""
    K = check_int("K", K, 1)
    return 1.0 / (2 * K - 1), 1.0 / math.sqrt(K * (2 * K - 1))
