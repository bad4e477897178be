"""Theory of the emergence model: greedy maximum-selection pairing, predicted transition times
(Ren et al. 2025, Thm 2.1) and the one-direction toy reduction summed over directions."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from scalinglaws.errors import ParameterTypeError, check_array, check_int, check_real, require

from scalinglaws.emergence.model import _A_ALLOWED, _check_k, _check_positive_times, _check_teacher, _check_widths, _check_weights, spherical_init, tail_loss

__all__ = ['transition_time', 'greedy_pairing', 'half_alignment_delay', 'ToyCurve', 'toy_curve', 'toy_sum', 'greedy_toy_loss', 'greedy_toy', 'toy_sum_widths', 'frontier_window']

# ----------------------------------------------------------------------------------------------
# Greedy pairing and predicted transition times
# ----------------------------------------------------------------------------------------------
def transition_time(a_q, u0, k: int = 4, eta: float = 1.0, sigma_hat: float = 1.0):
    """Predicted emergence time ``T = 1/(k(k-2) sigma_hat^2 a eta u0^{(k-2)/2})`` in steps
    (``eta = 1``: GF time).  ``u0`` is the initial squared cosine ``s(0)^2`` (Ren et al. Thm 2.1);
    ``u0 = 0`` (a neuron orthogonal to the direction) gives ``T = inf``.  ``a_q`` must be positive
    (see :func:`~scalinglaws.emergence.gd.population_gd`)."""
    _check_k(k)
    require(k >= 4, "k", k, "an even integer >= 4 (for k = 2 there is no finite-time escape)")
    a_q = check_array("a_q", a_q)
    bad = np.flatnonzero(~(a_q.ravel() > 0))
    if bad.size:
        require(False, "a_q", float(a_q.ravel()[bad[0]]), _A_ALLOWED)
    u0 = check_array("u0", u0)
    bad = np.flatnonzero(~((u0.ravel() >= 0) & (u0.ravel() <= 1)))
    if bad.size:
        require(False, "u0", float(u0.ravel()[bad[0]]), "squared cosines in [0, 1]")
    try:
        np.broadcast_shapes(a_q.shape, u0.shape)
    except ValueError:
        require(False, "u0", f"shape {u0.shape}", f"a shape that broadcasts with a_q {a_q.shape}")
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
# Toy reduction: one direction, universal curve, sum over directions
# ----------------------------------------------------------------------------------------------
def _check_times(t) -> np.ndarray:
    """Times of a predicted loss curve: a scalar or a 1-d array of finite numbers >= 0."""
    t = check_array("t", t, ndim=(0, 1))
    bad = np.flatnonzero(~(np.atleast_1d(t) >= 0))
    if bad.size:
        require(False, "t", float(np.atleast_1d(t)[bad[0]]), "finite times >= 0")
    return t


def _check_curve(curve) -> None:
    """The universal single-direction curve: a :class:`ToyCurve` (from :func:`toy_curve`)."""
    if not isinstance(curve, ToyCurve):
        raise ParameterTypeError(f"curve={curve!r} is invalid: a ToyCurve from toy_curve(k, u0, "
                                 f"rho0) (got {type(curve).__name__})")


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
        from scalinglaws.analysis.fits import first_crossing
        return first_crossing(self.tau, self.ell, level, "down", scale="linear")


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
    check_real("u0", u0)
    require(0 < u0 < 0.5, "u0", u0, "a number in (0, 1/2)")
    check_real("rho0", rho0)
    require(0 < rho0 < 1, "rho0", rho0, "a number in (0, 1)")
    check_real("tau_max", tau_max)
    require(tau_max > 1, "tau_max", tau_max, "a number > 1")
    check_int("n", n, 2)
    check_real("rtol", rtol, 0.0, lo_open=True)
    check_real("atol", atol, 0.0, lo_open=True)
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
    emerge (width limit), the rest contribute their full ``a_p^2``.

    ``t`` finite times >= 0 (the unit of ``T``), ``a`` positive, ``T`` the same length as ``a``
    with times > 0 (``inf``: never emerges), ``curve`` a :class:`ToyCurve`, ``learnable`` an
    integer >= 0 or None."""
    t = _check_times(t)
    a = _check_teacher(a)
    T = _check_positive_times("T", T)
    require(T.shape == a.shape, "T", f"shape {T.shape}", f"one time per coefficient, shape {a.shape}")
    _check_curve(curve)
    check_int("learnable", learnable, 0, allow_none=True)
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
    :func:`greedy_pairing` or the extras of a :func:`~scalinglaws.emergence.gd.population_gd` run) emerges along the
    universal curve at its own time, every unpaired direction keeps its full weight::

        L(t) = sum_i a_{teachers[i]}^2 ell(t / T_pred[i]) + sum_{p unpaired} a_p^2.

    Over the ``P = len(a)`` directions (add :func:`~scalinglaws.emergence.model.tail_loss` for an infinite teacher); ``t`` and
    ``T_pred`` in the same unit.  Nothing is fitted: it is a prediction from the initial overlaps.
    The curve is that of one ``u0`` (its shape depends on ``u0`` only through the small
    half-alignment delay)."""
    _check_times(t)
    a = _check_teacher(a)
    te_ = check_array("teachers", teachers, ndim=1)
    require(bool(np.all(te_ == np.round(te_))), "teachers", teachers,
            "a 1-d array of integer direction indices")
    _check_positive_times("T_pred", T_pred)
    _check_curve(curve)
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
    initialisation of :func:`~scalinglaws.emergence.gd.population_gd` with the same ``seed`` (or that entry of ``seeds``)
    (widths nested as in chapter 5).  No training.  ``t`` in steps of size ``eta``.

    Returns ``(L, T1)``: ``L[m]`` the predicted loss at ``t`` (over the ``P`` directions) and
    ``T1[m]`` the first predicted emergence time of width ``m`` (its clock), in steps."""
    widths = _check_widths(widths)
    check_real("eta", eta, 0.0, lo_open=True)
    check_int("d", d, 2)
    a = _check_teacher(a, d)
    check_int("seed", seed, 0)
    _check_k(k)
    require(k >= 4, "k", k, "an even integer >= 4 (the transition times need k > 2)")
    check_real("sigma0", sigma0)
    require(0 < sigma0 <= 1, "sigma0", sigma0, "a number in (0, 1]")
    _check_times(t)
    _check_curve(curve)
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
