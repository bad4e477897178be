r"""Exponential integrator of the group-resolved committee ODE for large K and L (K = M = 40 at
L = N = 512 in minutes).

**Structure it exploits.**  With the coefficients of :mod:`scalinglaws.committee.ode` (no weight
decay) every eigen-group l obeys a *linear* law whose matrices depend on the physical covariance
C only:

.. math::

   \frac{dR_l}{d\alpha} = a_l\,(G R_l + H T_l),\qquad
   \frac{dQ_l}{d\alpha} = a_l\,(G Q_l + Q_l G + H R_l^T + R_l H^T) + b_l F,

with :math:`a_l = \eta c_s\lambda_l`, :math:`b_l = \lambda_l f_l`, the K x K matrix
:math:`G = \mathcal A_{ss} - \mathrm{diag}(b)` (the student block of the :math:`I_3` coefficients,
*symmetric* because :math:`I_3`'s prefactor is), the K x M teacher block :math:`H` and the
:math:`\eta^2` forcing :math:`F` (:math:`I_4`, and :math:`I_2'` with output noise).  G, H, F are
shared by all groups.

**One step.**  Frozen at some C, the system is solved *exactly* over a step h in the eigenbasis
:math:`G = V\,\mathrm{diag}(d)\,V^T` (one 40 x 40 ``eigh`` for all groups): with
:math:`z_{l,a} = a_l h d_a`, :math:`\tilde R = V^T R`, :math:`P = V^T H T_l`, :math:`\tilde Q =
V^TQV`, :math:`X = V^THR_l^T V`, :math:`Y = V^THP^T`,

.. math::

   \tilde R' = e^{z_a}\tilde R + a_l h\,\varphi_1(z_a)\,P,\qquad
   \tilde Q'_{ab} = e^{z_a+z_b}\tilde Q_{ab}
     + a_l h\,[e^{z_b}\varphi_1(z_a) X_{ab} + e^{z_a}\varphi_1(z_b) X_{ba}]
     + a_l^2h^2\,[e[z_a{+}z_b, z_b, 0]\,Y_{ab} + e[z_a{+}z_b, z_a, 0]\,Y_{ba}]
     + h\,\varphi_1(z_a{+}z_b)\,b_l \tilde F_{ab},

where :math:`e[\cdot,\cdot,0]` is the second divided difference of exp (compiled kernels and their
NumPy references: :mod:`scalinglaws.numerics.committee_exp`).  Every group, however stiff
(:math:`a_l h d_a \to -\infty`), is propagated stably; the fast groups land on their quasi-static
values.

**Time stepping.**  The only approximation is freezing C over a step.  One *midpoint step* of
size h: a half step with the coefficients at its start predicts the midpoint, and the full step
uses the coefficients there (the exponential midpoint rule, second order).  Each accepted step
compares one midpoint step of size h with two of size h/2 (step doubling): their difference
over 3 estimates the local error of the two half steps, measured on the physical student
overlaps (:math:`|\Delta C| \le` ``atol`` + ``rtol`` :math:`|C|`), and the result is the
extrapolated :math:`y_{h/2} + (y_{h/2} - y_h)/3` (local extrapolation).  The step changes by
:math:`0.9\,\mathrm{err}^{-1/2}` (between 0.2 and 3).  The exponent is that of a local error
:math:`\propto h^2`, which is what the step shows in the specialised phase (order reduction: the stiff
groups sit at quasi-static values set by the coefficients frozen at the midpoint, not at the end of
the step; measured at K = M = 10, L = 128, β = 2 from α = 300, the local error in C grows 3.4-4.8x
per doubling of h, not 8x).  The previous rule, :math:`\mathrm{err}^{-1/3}` with growth up to 5,
over-stretched steps: at the Fig. 6 setting (K = M = 40, L = N = 512, β = 2, rtol 3e-3, α ≤ 10^4,
draw 1 of the specialisation chapter) it rejected 89 of 348 steps, and ε_g drifted 5.7 % from the
rtol 3e-4 solution late in the run (window exponent off by 0.0011); this rule rejects 60 of 327 and
stays within 0.75 % (exponent within 0.0003).  It buys accuracy, not speed: over the chapter's 15
draws the ODE took 544 s against 517 s before (same box; the run-to-run spread is about 5 %).
A first-order estimate (midpoint
against one frozen step) was tried first: it was too pessimistic by one to two orders of magnitude
in the slow late phase at K = 40 and forced steps of ~10 where ~200 are accurate.  Cost per step: 6
exact propagations and 4 coefficient evaluations (compiled :math:`I_4` sums).  At K = M = 40,
L = 512 one propagation takes about 11 ms (one fused compiled pass per group,
:func:`scalinglaws.numerics.committee_exp.propagate_groups`, with BLAS held to one thread inside
the kernel's threads; the batched NumPy form took about 50 ms, most of it temporaries of the full
state) and one :math:`I_4` sum about 12 ms on 2 cores.
Memory: a few copies of the state, :math:`8 L (K^2 + KM)` bytes each (6.6 MB at K = 40, L = 512),
instead of the :math:`L p^2` block Jacobians of the implicit methods (:math:`p = K(K+1)/2 + KM`),
which need about 24 GB there.

Validated against :func:`scalinglaws.committee.ode.integrate` (scipy BDF) at small K (the
difference shrinks with ``rtol``, see the tests) and against online SGD at K = 40 in the
specialisation chapter.
"""

from __future__ import annotations

import math

import numpy as np

from scalinglaws.committee.ode import _physical_C, _validate_times, log_times
from scalinglaws.committee.setup import Overlaps, Setup, trajectory
from scalinglaws.errors import (DEFAULT_MAX_MEMORY, DIVERGENCE_LIMIT, DivergenceError, ParameterTypeError,
                                check_bool, check_cost, check_int, check_real, diverged,
                                divergence_message, require)
from scalinglaws.numerics import committee_exp as kx
from scalinglaws.progress import progress
from scalinglaws.result import Curve

__all__ = ["Frozen", "coefficients", "propagate", "integrate", "memory_estimate", "specialised_mode_sum",
           "DEFAULT_MAX_STEPS"]

#: Default cost limit: accepted + rejected steps (checked while the integrator runs).
DEFAULT_MAX_STEPS = 10 ** 6
#: Step-size rule: h <- h * 0.9 err^(-_P_STEP), at most _GROW_MAX times larger (module docstring).
_P_STEP = 0.5
_GROW_MAX = 3.0


class Frozen:
    """The shared coefficients at one physical covariance C: symmetric ``G`` (K, K), ``H`` (K, M)
    and the eta^2 forcing ``F`` (K, K) (already multiplied by eta^2 c_s^2)."""

    __slots__ = ("G", "H", "F")

    def __init__(self, G, H, F):
        self.G, self.H, self.F = G, H, F


def coefficients(setup: Setup, C: np.ndarray, compiled: bool = True) -> Frozen:
    r"""G, H, F of the module equations at the physical covariance ``C`` ((K+M) x (K+M)); the same
    :math:`I_3`/:math:`I_4` coefficients as :mod:`scalinglaws.committee.ode` (``_Coefficients``),
    with the :math:`I_4` sum compiled (``compiled=False``: the NumPy reference)."""
    K = setup.K
    act = setup.activation
    w = setup.weights_vector()
    A, Bc = act.i3_coefficients(C, a_idx=np.arange(K))
    Aw = A * w[None, :]
    G = Aw[:, :K] - np.diag((Bc * w[None, :]).sum(axis=1))
    H = np.ascontiguousarray(Aw[:, K:])
    if act.name == "linear":
        I4 = np.full((K, K), w @ C @ w)
    elif compiled:
        I4 = kx.i4_weighted(np.ascontiguousarray(C, dtype=float), K, np.ascontiguousarray(w, dtype=float))
    else:
        I4 = kx.i4_weighted_numpy(C, K, w)
    F = setup.eta ** 2 * setup.c_s ** 2 * I4
    if setup.sigma > 0:
        F = F + setup.eta ** 2 * setup.c_s ** 2 * setup.sigma ** 2 * act.i2p(C)[:K, :K]
    return Frozen(0.5 * (G + G.T), H, F)


def _one_blas_thread():
    """Context limiting BLAS to one thread (threadpoolctl; a no-op without it)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a declared dependency
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _left(A, X):
    """A @ X_l for every group l: X (L, K, n) -> (L, K, n) as one matrix product."""
    return np.ascontiguousarray(np.tensordot(X, A, axes=([1], [1])).transpose(0, 2, 1))


def _sandwich(A, X):
    """A @ X_l @ A^T for every l (X symmetric)."""
    return _left(A, np.ascontiguousarray(_left(A, X).transpose(0, 2, 1)))


def propagate(setup: Setup, Qg, Rg, Tg, fr: Frozen, h: float, compiled: bool = True):
    r"""Exact solution over a step ``h`` (in α) of the group equations with the coefficients
    ``fr`` held fixed (module docstring); returns the new ``(Qg, Rg)``."""
    lam = setup.spectrum.eigenvalues
    a = lam * (setup.eta * setup.c_s)
    bq = lam * setup.spectrum.fractions
    d, V = np.linalg.eigh(fr.G)
    VT = np.ascontiguousarray(V.T)
    Ht = VT @ fr.H
    Ft = VT @ fr.F @ V
    if compiled and kx.HAVE_NUMBA:   # one fused pass per group (in cache); the NumPy path is the reference
        return kx.propagate_groups(Qg, Rg, Tg, np.ascontiguousarray(V), d, np.ascontiguousarray(Ht),
                                   np.ascontiguousarray(Ft), a, bq, float(h))
    Rt = _left(VT, Rg)
    P = np.ascontiguousarray(np.tensordot(Tg, Ht, axes=([1], [1])).transpose(0, 2, 1))   # Ht T_l
    Qt = _sandwich(VT, Qg)
    zR = np.ascontiguousarray((a * h)[:, None] * d[None, :])
    X1 = np.ascontiguousarray(np.tensordot(Rt, Ht, axes=([2], [1])).transpose(0, 2, 1))
    Y2 = np.ascontiguousarray(np.tensordot(P, Ht, axes=([2], [1])).transpose(0, 2, 1))
    Rn = kx.r_update_numpy(zR, Rt, P, a, float(h))
    Qn = kx.q_update_numpy(zR, Qt, X1, Y2, Ft, a, bq, float(h))
    return _sandwich(V, Qn), _left(V, Rn)


def _midpoint(setup, Qg, Rg, Tg, fr0, h, compiled):
    """One exponential midpoint step: half step with ``fr0``, full step with the coefficients at
    the predicted midpoint."""
    Qm, Rm = propagate(setup, Qg, Rg, Tg, fr0, 0.5 * h, compiled)
    frm = coefficients(setup, _physical_C(setup, Qm, Rm, Tg), compiled)
    return propagate(setup, Qg, Rg, Tg, frm, h, compiled)


def memory_estimate(setup: Setup, n_out: int, keep_groups: bool = False) -> float:
    """Peak memory (bytes) of :func:`integrate`: about 24 copies of the group state (the three
    propagations and their temporaries), the output and the coefficient kernels."""
    K, M, L = setup.K, setup.M, setup.L
    state = L * (K * K + K * M + M * M)
    words = 24.0 * state + n_out * K * (K + M) * 2 + 4.0 * (K + M) ** 2
    if keep_groups:
        words += n_out * L * (K * K + K * M)
    return 8.0 * words


def integrate(setup: Setup, init: Overlaps, t_max: float | None = None, times=None, *,
              rtol: float = 1e-4, atol: float | None = None, n_times: int = 200,
              t_min: float = 1e-2, keep_groups: bool = False, show_progress: bool = True,
              max_steps: int = DEFAULT_MAX_STEPS, max_memory: float = DEFAULT_MAX_MEMORY,
              divergence_limit: float = DIVERGENCE_LIMIT, compiled: bool = True) -> Curve:
    r"""Integrate the group-resolved ODE with the exponential midpoint rule (module docstring).

    Same inputs and output as :func:`scalinglaws.committee.ode.integrate` where they overlap
    (``t_max``/``times``/``n_times``/``t_min`` output grid, ``keep_groups``, ``max_memory``,
    ``divergence_limit``); ``rtol``/``atol`` bound the local error of each physical student
    overlap per step, :math:`|\Delta C_{ij}| \le` ``atol`` + ``rtol`` :math:`|C_{ij}|`.  The default
    ``atol`` is ``1e-2 * rtol`` times the largest student overlap, so entries below 1 % of the overlap
    scale are held to an absolute accuracy: a purely relative rule on the tiny, exponentially growing
    cross overlaps of the units that are about to specialise forced steps of ~3 where ~50 are accurate
    for ε_g.  ``max_steps`` limits accepted + rejected steps.
    ``compiled=False`` uses the NumPy references of the kernels (slow; for tests).  The default
    ``rtol`` = 1e-4 keeps the relative error of :math:`\varepsilon_g` near 1e-4 (measured against
    scipy BDF at K = 2, 4).

    Raises ``ValueError`` before any work for a setup with weight decay (use
    :func:`scalinglaws.committee.ode.integrate`), non-finite or non-realisable overlaps, bad
    tolerances or output times, and :class:`~scalinglaws.errors.CostLimitError` (a ``ValueError``)
    when the memory estimate exceeds ``max_memory`` (K, L too large).  While running:
    :class:`~scalinglaws.errors.DivergenceError` under the shared divergence rule or when no step
    down to 1e-12 of the current α meets the tolerance.
    """
    if not isinstance(setup, Setup):
        raise ParameterTypeError(f"setup must be a scalinglaws.committee.setup.Setup, got {type(setup).__name__}")
    if not isinstance(init, Overlaps):
        raise ParameterTypeError(f"init must be a scalinglaws.committee.setup.Overlaps, got {type(init).__name__}")
    require(setup.weight_decay == 0, "setup.weight_decay", setup.weight_decay,
            "0 for the exponential integrator (use scalinglaws.committee.ode.integrate with weight decay)")
    require(setup.activation.name in ("erf", "linear"), "setup.activation", setup.activation.name,
            "'erf' or 'linear'")
    rtol = check_real("rtol", rtol, 0.0, lo_open=True, hi=0.1)
    atol = None if atol is None else check_real("atol", atol, 0.0, lo_open=True)
    t_max = check_real("t_max", t_max, 0.0, lo_open=True, allow_none=True)
    n_times = check_int("n_times", n_times, 2)
    t_min = check_real("t_min", t_min, 0.0, lo_open=True)
    keep_groups = check_bool("keep_groups", keep_groups)
    show_progress = check_bool("show_progress", show_progress)
    compiled = check_bool("compiled", compiled)
    max_steps = check_int("max_steps", max_steps, 1)
    max_memory = check_real("max_memory", max_memory, 0.0, lo_open=True, finite=False)
    divergence_limit = check_real("divergence_limit", divergence_limit, 0.0, lo_open=True)
    require((init.K, init.M, init.L) == (setup.K, setup.M, setup.L), "init",
            f"K={init.K}, M={init.M}, L={init.L}", f"must match setup K={setup.K}, M={setup.M}, L={setup.L}")
    if times is None:
        require(t_max is not None, "t_max", t_max, "give t_max or times")
        require(t_min < t_max, "t_max", t_max, f"a number > t_min={t_min:g}")
        times = log_times(float(t_max), n=n_times, t_min=t_min)
    times = _validate_times(times, t_max)
    if t_max is not None:
        require(abs(t_max - times[-1]) <= 1e-12 * max(1.0, t_max), "t_max", t_max,
                f"give either t_max or times, not both (times end at {times[-1]:.6g})")
    check_cost("K", setup.K, memory_estimate(setup, times.size, keep_groups), max_memory,
               what=f"of memory (K={setup.K}, M={setup.M}, L={setup.L}, exponential integrator)",
               limit_name="max_memory", memory=True)
    init.validate(setup)

    K = setup.K
    Qg, Rg, Tg = (np.ascontiguousarray(x, dtype=float) for x in (init.Q, init.R, init.T))
    lam = setup.spectrum.eigenvalues
    nt = times.size
    Cs = np.empty((nt, K + setup.M, K + setup.M))
    G_out = {"Q": np.empty((nt, *Qg.shape)), "R": np.empty((nt, *Rg.shape)), "T": Tg.copy()} if keep_groups else None
    t, k = 0.0, 0
    C = _physical_C(setup, Qg, Rg, Tg)

    def record(C):
        nonlocal k
        Cs[k] = C
        if keep_groups:
            G_out["Q"][k], G_out["R"][k] = Qg, Rg
        k += 1

    while k < nt and times[k] <= 0.0:
        record(C)
    h = 1e-2 / (setup.eta * float(lam.max()))
    fr0 = coefficients(setup, C, compiled)
    n_acc = n_rej = 0
    bar = progress(total=100, desc=f"ODE (exponential, K={K}, L={setup.L})",
                   disable=None if show_progress else True)
    done = 0
    # BLAS held to one thread for the whole run: the compiled kernels thread over groups and (i, k)
    # pairs, and idle multi-threaded BLAS workers spinning after NumPy's small products took the
    # cores from them (K = 40, L = 512, 2 cores: propagation + coefficients 54 ms -> 30 ms)
    with _one_blas_thread():
        while k < nt:
            require(n_acc + n_rej < max_steps, "max_steps", max_steps,
                    f"enough for the run (reached at alpha={t:.4g} of {times[-1]:.4g}; raise max_steps)")
            h = min(h, times[k] - t)
            Q1, R1 = _midpoint(setup, Qg, Rg, Tg, fr0, h, compiled)
            Qa, Ra = _midpoint(setup, Qg, Rg, Tg, fr0, 0.5 * h, compiled)
            fra = coefficients(setup, _physical_C(setup, Qa, Ra, Tg), compiled)
            Q2, R2 = _midpoint(setup, Qa, Ra, Tg, fra, 0.5 * h, compiled)
            C1 = _physical_C(setup, Q1, R1, Tg)
            C2 = _physical_C(setup, Q2, R2, Tg)
            scale = float(np.max(np.abs(C2[:K, :K])))
            sc = (atol if atol is not None else 1e-2 * rtol * scale) + rtol * np.abs(C2[:K])
            err = float(np.max(np.abs(C2[:K] - C1[:K]) / sc)) / 3.0
            if not math.isfinite(err):
                err = math.inf
            if err <= 1.0:
                n_acc += 1
                t += h
                Qg, Rg = Q2 + (Q2 - Q1) / 3.0, R2 + (R2 - R1) / 3.0
                C = _physical_C(setup, Qg, Rg, Tg)
                if diverged(C[:K], divergence_limit):
                    raise DivergenceError(divergence_message(setup, t, "non-finite or runaway overlaps", "ODE"))
                if abs(t - times[k]) <= 1e-12 * max(1.0, t):
                    t = float(times[k])
                    record(C)
                fr0 = coefficients(setup, C, compiled)
                h *= _GROW_MAX if err == 0 else min(_GROW_MAX, max(0.2, 0.9 * err ** (-_P_STEP)))
                pct = int(100 * t / times[-1])
                if pct > done:
                    bar.update(pct - done)
                    done = pct
            else:
                n_rej += 1
                h *= 0.1 if not math.isfinite(err) else max(0.1, 0.9 * err ** (-_P_STEP))
                if h < 1e-12 * max(1.0, t):
                    if diverged(C2[:K], divergence_limit):
                        raise DivergenceError(divergence_message(setup, t, "non-finite trial state", "ODE"))
                    raise DivergenceError(f"exponential integrator: no step down to {h:.3g} meets rtol={rtol:g} "
                                          f"at alpha={t:.4g} (the dynamics is singular or diverging; "
                                          f"eta={setup.eta} too large?)")
    bar.close()
    Q = Cs[:, :K, :K]
    R = Cs[:, :K, K:]
    eps = np.maximum(np.array([setup.eps_g(c) for c in Cs]), 0.0)
    meta = dict(setup.describe(), method="exponential", source="ode", steps=n_acc, rejected=n_rej,
                rtol=rtol)
    return trajectory(times.copy(), eps, Q, R, Cs[0, K:, K:], groups=G_out, meta=meta)


def specialised_mode_sum(setup: Setup, init: Overlaps, times, *, max_memory: float = DEFAULT_MAX_MEMORY) -> np.ndarray:
    r"""Linearised decay of :math:`\varepsilon_g` in the specialised phase, from the group overlaps
    ``init`` of a state near the perfectly specialised one (K = M, student i on teacher i): the
    shape of the mode sum, normalised to 1 at α = 0; its log-log slope is the prediction.

    **Linearisation.**  Write the weights of coordinate j (eigen-group l) as :math:`J_j = B_j + u_j`
    (u_j a K-vector).  With the coefficients frozen at the fixed point :math:`C^*` (Q = R = T) the
    group equations of this module move every coordinate by the same K x K operator,
    :math:`\dot u_j = a_l G^* u_j` with :math:`a_l = \eta c_s\lambda_l` (:func:`coefficients`;
    :math:`G^*` symmetric, eigenpairs :math:`(d_a, v_a)`, :math:`d_a < 0`).  For gradient flow this
    operator is minus the K x K factor of the Hessian :math:`\Sigma\otimes H_K` of
    :math:`\varepsilon_g` in weight space, so :math:`\varepsilon_g \propto \sum_l \lambda_l
    \mathrm{tr}(-G^* D_l)` with the deviation overlaps :math:`D_l = Q_l - R_l - R_l^T + T_l =
    \sum_{j\in l} u_j u_j^T/N`, and

    .. math::

       \varepsilon_{\rm lin}(\alpha) \propto \sum_l \lambda_l \sum_a |d_a|\,
       (v_a^T D_l v_a)\, e^{2 a_l d_a \alpha}.

    The rates :math:`2\eta c_s\lambda_l|d_a|` combine the data spectrum with the committee's own
    spectrum :math:`d_a`, whose soft modes (units with similar teachers) stretch the power law.
    Neglected: the coupling of the deviations through the coefficients (the collective
    combinations :math:`\sum_l \lambda_l B_l u_l^T`), the :math:`\eta^2` SGD-noise forcing and
    terms of second order in u; how much they matter is measured against the ODE in the
    specialisation chapter.

    Raises ``ValueError`` before any work for K != M, a non-erf/linear activation, overlaps that do
    not match the setup or whose students are not matched to their own teachers (the largest
    teacher coefficient of student i, :func:`~scalinglaws.committee.specialisation.teacher_coefficients`,
    must be teacher i), bad ``times``, and a memory need above ``max_memory``.
    """
    from scalinglaws.committee.specialisation import teacher_coefficients
    if not isinstance(setup, Setup):
        raise ParameterTypeError(f"setup must be a scalinglaws.committee.setup.Setup, got {type(setup).__name__}")
    if not isinstance(init, Overlaps):
        raise ParameterTypeError(f"init must be a scalinglaws.committee.setup.Overlaps, got {type(init).__name__}")
    require(setup.K == setup.M, "setup.K", setup.K, f"equal to setup.M={setup.M} (a specialised state pairs units)")
    require(setup.activation.name in ("erf", "linear"), "setup.activation", setup.activation.name,
            "'erf' or 'linear'")
    require((init.K, init.M, init.L) == (setup.K, setup.M, setup.L), "init",
            f"K={init.K}, M={init.M}, L={init.L}", f"must match setup K={setup.K}, M={setup.M}, L={setup.L}")
    init.validate(setup)
    times = _validate_times(times, None)
    max_memory = check_real("max_memory", max_memory, 0.0, lo_open=True, finite=False)
    K, L = setup.K, setup.L
    check_cost("times", times.size, 8.0 * times.size * L * K * 2, max_memory,
               what=f"of memory (times x L x K = {times.size} x {L} x {K})", limit_name="max_memory",
               memory=True)
    C0 = init.physical(setup.spectrum)
    A = np.abs(teacher_coefficients(C0[:K, K:], C0[K:, K:]))
    matched = np.argmax(A, axis=1)
    require(bool(np.all(matched == np.arange(K))), "init", f"students matched to teachers {matched.tolist()}",
            "a state near the specialised one with student i on teacher i (largest teacher coefficient)")
    T = np.ascontiguousarray(init.T, dtype=float)
    Cs = _physical_C(setup, T, T, T)                    # the fixed point: Q = R = T
    d, V = np.linalg.eigh(coefficients(setup, Cs).G)
    require(bool(np.all(d < 0)), "init", f"largest eigenvalue of G* = {d.max():.3g}",
            "a stable specialised fixed point (all eigenvalues of G* negative)")
    D = init.Q - init.R - np.swapaxes(init.R, 1, 2) + init.T
    w = np.einsum("ai,lij,ja->la", V.T, D, V)           # v_a^T D_l v_a
    lam = setup.spectrum.eigenvalues
    weight = (lam[:, None] * (-d)[None, :] * w).ravel()
    rate = (2.0 * setup.eta * setup.c_s * lam[:, None] * d[None, :]).ravel()
    out = np.exp(np.multiply.outer(times, rate)) @ weight
    return out / weight.sum()
