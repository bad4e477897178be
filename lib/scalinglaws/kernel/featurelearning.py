"""The solvable two-layer linear model with feature learning (Bordelon, Atanasov & Pehlevan 2024, (A)).

Model (see the book's sources appendix, chapters/sources_bordelon_atanasov_pehlevan.md): features
ψ ∈ R^M with covariance Λ = diag(λ_k), target y = w*·ψ, student f = (1/N) w^T A ψ with w ∈ R^N,
A ∈ R^{N×M}, w(0) = 0, A_ij(0) ~ N(0,1). Error vector v = w* − A^T w/N, test loss L = v^T Λ v
(no ½). Population GD (B = ∞) with step η (time t = steps × η) and the *projected* feature update:

    w ← w + η A Λ v,            A ← A + η γ w v^T Λ F_0,       F_0 = A(0)^T A(0)/N.

γ = 0 is the lazy (random-feature) model of :mod:`scalinglaws.kernel.dmft` with P = ∞.

Order parameters β̂ = A^T w/N, G = A^T A/N, c = ‖w‖²/N close the dynamics exactly (for any N) once
F_0 is given; at N = ∞, F_0 = I on any fixed set of modes and one obtains the reconstructed
infinite-width system of chapter 4 [our derivation, not from the paper; see the book's sources
appendix, chapters/sources_bordelon_atanasov_pehlevan.md]:

    dβ̂/dt = (G + γ c I) Λ v,   dG/dt = γ (Λ v β̂^T + β̂ v^T Λ),   dc/dt = 2 β̂^T Λ v.

Its mode-diagonal version (only G_kk kept) is cheap for M ~ 10^5 and reproduces
χ = 2β/(1+β) for hard tasks (checked in chapter 4).
"""

from __future__ import annotations

import numpy as np

from scalinglaws.kernel.dmft import _check_spectrum
from scalinglaws.errors import (DivergenceError, check_array, check_bool, check_cost, check_int, check_real,
                                require)
from scalinglaws.progress import progress
from scalinglaws.result import Curve

#: Default cost limit of the GD drivers (:func:`infinite_width_full`, :func:`simulate_projected`,
#: :func:`simulate_projected_reduced`): GD steps ``rint(t[-1]/eta)``, summed over seeds for the
#: simulations; raise it with ``max_steps=``.
DEFAULT_MAX_GD_STEPS = 10 ** 7

#: Default memory limit (bytes) of the functions that draw or hold M-dimensional random projections
#: or M-wide work arrays (:func:`width_floor`, :func:`instance_modes`, :func:`width_modes`,
#: :func:`simulate_projected_widths`); raise it with ``max_memory=``.
DEFAULT_MAX_MEMORY = 4e9

__all__ = ["infinite_width_diagonal", "infinite_width_full",
           "simulate_projected", "simulate_projected_reduced", "simulate_projected_widths", "width_floor",
           "instance_modes", "width_floor_de", "width_modes", "finite_width_theory",
           "sgd_batch_excess", "row_space_leak", "chi_map", "compute_map", "compute_exponent_two_term"]


def _curve(t, loss, meta: dict) -> Curve:
    """The result of every function of this module: time ``t`` in gradient-flow units
    (``t_unit="time"``; steps × η for the GD drivers), test loss v^TΛv (``loss_factor=1``, no ½).
    A 2-d ``loss[seed, time]`` becomes ``seeds``, its mean over seeds ``loss``."""
    meta = {"family": "kernel", "model": "feature-learning", **meta}
    if loss.ndim == 2:
        return Curve(t=t, loss=loss.mean(axis=0), t_unit="time", loss_factor=1.0, seeds=loss, meta=meta)
    return Curve(t=t, loss=loss, t_unit="time", loss_factor=1.0, meta=meta)


def _check_memory(name: str, value, estimate: float, max_memory, sizes: str) -> None:
    """The memory limit of the functions that hold M-wide arrays (``max_memory`` bytes); ``name``,
    ``value``: the input that drives the size."""
    max_memory = check_real("max_memory", max_memory, 0.0, lo_open=True, finite=False)
    check_cost(name, value, estimate, max_memory, what=f"of memory ({sizes})", limit_name="max_memory",
               memory=True)


def _check_common(lam, w2, gamma, t):
    """Spectrum (finite, lam > 0, w2 >= 0), richness gamma >= 0 and a finite increasing time grid."""
    lam, w2 = _check_spectrum(lam, w2)
    gamma = check_real("gamma", gamma, 0.0)
    t = np.atleast_1d(check_array("t", t, ndim=(0, 1), min_size=1))
    require(bool(np.all(np.diff(t) > 0)) and t[0] > 0, "t", "grid",
            "increasing positive finite times")
    return lam, w2, gamma, t


def _check_gd(eta, t, max_steps, runs: int = 1, seeds_name: str = "seeds"):
    """Step size and the cost limit of a GD driver: ``runs * rint(t[-1]/eta)`` GD steps."""
    eta = check_real("eta", eta, 0.0, lo_open=True)
    max_steps = check_int("max_steps", max_steps, 1)
    n = float(max(1.0, np.round(t[-1] / eta)))
    what = (f"GD steps (t[-1]/eta = {t[-1]:.4g}/{eta:.4g}" +
            (f", x {runs} {seeds_name})" if runs > 1 else ")"))
    check_cost("t", f"[..., {t[-1]:.6g}]", runs * n, max_steps, what=what, limit_name="max_steps")
    return eta


def _check_finite_width(lam, w2, gamma, t, N, seeds, seed, eta, max_steps):
    """The arguments shared by the finite-width GD drivers (:func:`simulate_projected` and
    :func:`simulate_projected_reduced`): spectrum, gamma, times, width, seeds, step and cost."""
    lam, w2, gamma, t = _check_common(lam, w2, gamma, t)
    check_int("N", N, 1)
    seeds = check_int("seeds", seeds, 1)
    check_int("seed", seed, 0)
    eta = _check_gd(eta, t, max_steps, runs=seeds)
    return lam, w2, gamma, t, seeds, eta


def infinite_width_diagonal(lam, w2, gamma: float, t, *, rel_step: float = 0.01) -> Curve:
    """Mode-diagonal infinite-width rich dynamics (chapter 4, Eq. eq-rich), population gradient
    flow.

    dβ̂_k/dt = (G_kk + γc) λ_k v_k,  dG_kk/dt = 2γ λ_k v_k β̂_k,  dc/dt = 2 Σ_k λ_k β̂_k v_k,
    v = w* − β̂, G_kk(0) = 1, c(0) = 0. Exponential integrator: over each step the error decays
    exactly for the frozen kernel, v_k ← v_k e^{−(G_kk+γc) λ_k Δt}, then G and c take a
    midpoint-rule step. Step Δt = rel_step · max(t, 1), so the cost is O(M log t_max / rel_step).
    γ = 0 is exact: L = Σ λ_k w*_k² e^{−2λ_k t}.

    Returns
    -------
    Curve
        ``t`` as given (``t_unit="time"``, gradient-flow time), ``loss`` = v^TΛv
        (``loss_factor=1``, no ½), no seeds (a theory).  ``meta``: ``family="kernel"``,
        ``model="feature-learning"``, ``solver="infinite-width-diagonal"``, ``gamma``,
        ``rel_step`` (no ``eta``: gradient flow).  No extras.
    """
    lam, w2, gamma, t = _check_common(lam, w2, gamma, t)
    rel_step = check_real("rel_step", rel_step, 0.0, 0.1, lo_open=True)
    meta = {"solver": "infinite-width-diagonal", "gamma": gamma, "rel_step": rel_step}
    ws = np.sqrt(w2)
    if gamma == 0:
        return _curve(t, (w2 * lam) @ np.exp(-2 * np.outer(lam, t)), meta)
    v = ws.copy()
    G = np.ones_like(lam)
    c = 0.0
    now = 0.0
    out = np.empty(t.size)
    for i, te in enumerate(t):
        while now < te:
            dt = min(rel_step * max(now, 1.0), te - now)
            K = G + gamma * c
            v_new = v * np.exp(-K * lam * dt)
            vm = 0.5 * (v + v_new)
            bm = ws - vm
            G = G + dt * 2 * gamma * lam * vm * bm
            c = c + dt * 2 * np.dot(lam * bm, vm)
            v = v_new
            now += dt
        out[i] = np.dot(lam * v, v)
    return _curve(t, out, meta)


def _gd_map(bh, G, c, lam, ws, gamma, eta, F0=None):
    """One exact population-GD step of the projected model in order parameters (any N, F_0; with
    F_0 = I the NumPy reference of the compiled loop of :func:`infinite_width_full`)."""
    v = ws - bh
    Lv = lam * v
    u = Lv if F0 is None else F0 @ Lv
    g = G @ Lv
    s = bh @ Lv
    bh_new = bh + eta * g + eta * gamma * c * u + eta ** 2 * gamma * s * u
    G_new = G + eta * gamma * (np.outer(u, bh) + np.outer(bh, u)) + (eta * gamma) ** 2 * c * np.outer(u, u)
    c_new = c + 2 * eta * s + eta ** 2 * (Lv @ g)
    return bh_new, G_new, c_new


_FULL_KERNEL = None


def _full_kernel():
    """Compile (once) the GD loop of :func:`infinite_width_full`: :func:`_gd_map` with the G update
    fused into the pass that computes GΛv (one pass over G per step, no N×N temporaries)."""
    global _FULL_KERNEL
    if _FULL_KERNEL is None:
        import numba as nb

        @nb.njit(cache=True, nogil=True, fastmath=True)
        def run(lam, ws, gamma, eta, steps, out, limit):  # pragma: no cover - compiled
            n = lam.size
            bh = np.zeros(n)
            G = np.eye(n)
            u = np.empty(n)
            g = np.empty(n)
            c = 0.0
            a = eta * gamma
            s_ = 0
            j = 0
            while j < steps.size:
                while j < steps.size and steps[j] == s_:
                    v = 0.0
                    for k in range(n):
                        d = ws[k] - bh[k]
                        v += lam[k] * d * d
                    out[j] = v
                    if not (abs(v) <= limit):            # non-finite or runaway: the caller raises
                        return j
                    j += 1
                if j == steps.size:
                    break
                s = 0.0
                for k in range(n):
                    u[k] = lam[k] * (ws[k] - bh[k])
                    s += bh[k] * u[k]
                q = 0.0
                for i in range(n):                       # (G u)_i with the old row, then the row's update
                    acc = 0.0
                    for k in range(n):
                        acc += G[i, k] * u[k]
                    g[i] = acc
                    q += u[i] * acc
                    a1, a2 = a * u[i], a * bh[i] + a * a * c * u[i]
                    for k in range(n):
                        G[i, k] += a1 * bh[k] + a2 * u[k]
                f = a * c + eta * a * s
                for i in range(n):
                    bh[i] += eta * g[i] + f * u[i]
                c = c + 2.0 * eta * s + eta * eta * q
                s_ += 1
                if not (c < 1e12):
                    return j
            return j

        _FULL_KERNEL = run
    return _FULL_KERNEL


def infinite_width_full(lam, w2, gamma: float, t, *, eta: float = 0.05,
                        max_steps: int = DEFAULT_MAX_GD_STEPS, compiled: bool = True) -> Curve:
    """Infinite-width dynamics with the full M×M kernel G (chapter 4, Eq. eq-rich), discrete
    population GD.

    Exact image of the GD map of the projected model on (β̂, G, c) with F_0 = I (N = ∞):
    β̂ ← β̂ + η(G + γcI)Λv + η²γ(β̂ᵀΛv)Λv, G ← G + ηγ(Λvβ̂ᵀ + β̂vᵀΛ) + η²γ²c ΛvvᵀΛ,
    c ← c + 2ηβ̂ᵀΛv + η² vᵀΛGΛv. Times are rounded to whole steps (t = steps × η). O(M²) per step,
    in a compiled loop (numba) that makes one pass over G per step; ``compiled=False`` runs the
    NumPy reference (same map, round-off differences only; for tests).
    Runs of more than ``max_steps`` steps (``rint(t[-1]/eta)``) are refused before any work.

    Returns
    -------
    Curve
        ``t`` = steps × η (``t_unit="time"``), ``loss`` = v^TΛv (``loss_factor=1``, no ½), no
        seeds (a theory).  ``meta``: ``family="kernel"``, ``model="feature-learning"``,
        ``solver="infinite-width-full"``, ``gamma``, ``eta``.  No extras.
    """
    lam, w2, gamma, t = _check_common(lam, w2, gamma, t)
    eta = _check_gd(eta, t, max_steps)
    compiled = check_bool("compiled", compiled)
    ws = np.sqrt(w2)
    steps = np.maximum(1, np.round(t / eta).astype(np.int64))
    out = np.empty(t.size)
    L0 = float(w2 @ lam)
    if compiled:
        k = _full_kernel()(lam, ws, gamma, eta, steps, out, 1e6 * L0)
        if k < steps.size:
            raise DivergenceError(f"infinite_width_full diverged at t={steps[min(k, steps.size - 1)] * eta:.3g}; "
                                  f"reduce eta={eta}")
        return _curve(steps * eta, out, {"solver": "infinite-width-full", "gamma": gamma, "eta": eta})
    bh = np.zeros_like(lam)
    G = np.eye(lam.size)
    c = 0.0
    n = 0
    for i, ns in enumerate(steps):
        while n < ns:
            bh, G, c = _gd_map(bh, G, c, lam, ws, gamma, eta)
            n += 1
            if not (np.isfinite(c) and c < 1e12):
                raise DivergenceError(f"infinite_width_full diverged at t={n * eta:.3g}; reduce eta={eta}")
        v = ws - bh
        out[i] = v @ (lam * v)
        if not np.isfinite(out[i]) or out[i] > 1e6 * L0:
            raise DivergenceError(f"infinite_width_full diverged at t={ns * eta:.3g}; reduce eta={eta}")
    return _curve(steps * eta, out,
                  {"solver": "infinite-width-full", "gamma": gamma, "eta": eta})


def simulate_projected(lam, w2, N: int, gamma: float, t, *, eta: float = 0.05, seeds: int = 4,
                       seed: int = 0, batch: int | None = None,
                       max_steps: int = DEFAULT_MAX_GD_STEPS) -> Curve:
    """Direct simulation of the projected two-layer linear model: trainable w ∈ R^N and A ∈ R^{N×M}.

    Population gradients (``batch=None``, B = ∞), GD step η, from w = 0, A(0) ~ N(0,1):
    w ← w + η A Λ v, A ← A + η γ w (F_0 Λ v)^T with F_0 Λ v = A(0)^T (A(0) Λ v)/N,
    v = w* − A^T w/N. Returns the test loss v^T Λ v per seed on the step grid t/η (rounded).

    Online minibatch SGD (``batch=B``; the paper's online training): each step draws B fresh
    Gaussian features ψ ~ N(0, Λ) (rows of Ψ_t ∈ R^{B×M}) and replaces Λ by Σ̂_B = Ψ_t^T Ψ_t/B in both updates,
    w ← w + η A Σ̂_B v, A ← A + η γ w (F_0 Σ̂_B v)^T. E[Σ̂_B] = Λ, so B → ∞ is the population path.
    A(0) of seed r comes from ``default_rng([seed, r])`` (the same for every ``batch``), the
    minibatches from ``default_rng([seed, r, 1])``. The test loss is still exact (v^TΛv).
    Runs of more than ``max_steps`` GD steps summed over seeds (``seeds * rint(t[-1]/eta)``) are
    refused before any work.

    Returns
    -------
    Curve
        ``t`` = steps × η (``t_unit="time"``), ``loss`` = mean over seeds of v^TΛv
        (``loss_factor=1``, no ½), ``seeds[seed, time]`` = the per-seed losses (always 2-d, also
        for ``seeds=1``), ``sem`` over seeds (ddof = 1; None for one seed).  ``meta``:
        ``family="kernel"``, ``model="feature-learning"``, ``solver="projected"``, ``gamma``,
        ``width`` (N), ``eta``, ``seeds``, ``seed``, ``batch``.  No extras.
    """
    check_int("batch", batch, 1, allow_none=True)
    lam, w2, gamma, t, seeds, eta = _check_finite_width(lam, w2, gamma, t, N, seeds, seed, eta, max_steps)
    ws = np.sqrt(w2)
    sl = np.sqrt(lam)
    steps = np.maximum(1, np.round(t / eta).astype(int))
    out = np.empty((seeds, t.size))
    for r in progress(range(seeds), desc="seeds"):
        rng = np.random.default_rng([seed, r])
        A0 = rng.standard_normal((N, lam.size))
        brng = None if batch is None else np.random.default_rng([seed, r, 1])
        A = A0.copy()
        w = np.zeros(N)
        n = 0
        for i, ns in enumerate(steps):
            while n < ns:
                v = ws - A.T @ w / N
                if brng is None:
                    Lv = lam * v
                else:
                    Psi = brng.standard_normal((batch, lam.size)) * sl
                    Lv = Psi.T @ (Psi @ v) / batch          # Σ̂_B v
                ALv = A @ Lv
                u = A0.T @ (A0 @ Lv) / N
                A += (eta * gamma) * np.outer(w, u)      # uses w before its update (simultaneous GD)
                w += eta * ALv
                n += 1
                if not np.isfinite(w[0]) or abs(w[0]) > 1e12:
                    raise DivergenceError(f"simulate_projected diverged at t={n * eta:.3g}; reduce eta={eta}")
            v = ws - A.T @ w / N
            out[r, i] = v @ (lam * v)
            if not np.isfinite(out[r, i]) or out[r, i] > 1e6 * (w2 @ lam):
                raise DivergenceError(f"simulate_projected diverged at t={ns * eta:.3g}; reduce eta={eta}")
    return _curve(steps * eta, out,
                  {"solver": "projected", "gamma": gamma, "width": N, "eta": eta, "seeds": seeds,
                   "seed": seed, "batch": batch})


def width_floor(lam, w2, N: int, *, draws: int = 8, seed: int = 0,
                max_memory: float = DEFAULT_MAX_MEMORY) -> np.ndarray:
    """Best loss reachable in the row space of A(0): min_u (w* − A0ᵀu)ᵀ Λ (w* − A0ᵀu), per draw.

    The projected update keeps the row space of A(t) equal to that of A(0) for every γ, so this is
    the t → ∞ loss of both the lazy and the rich model at width N (population gradients):
    L_floor = w*ᵀΛw* − bᵀ K⁻¹ b with K = A0 Λ A0ᵀ, b = A0 Λ w*. Memory: two N×M arrays per draw
    (``max_memory`` bytes, checked before any work).
    """
    lam, w2 = _check_spectrum(lam, w2)
    check_int("N", N, 1)
    require(N < lam.size, "N", N, f"an integer in [1, M) with M = {lam.size}")
    check_int("draws", draws, 1)
    check_int("seed", seed, 0)
    _check_memory("N", N, 16.0 * N * lam.size + 8.0 * N * N, max_memory, f"N={N}, M={lam.size}")
    from scipy import linalg
    rng = np.random.default_rng(seed)
    ws = np.sqrt(w2)
    out = np.empty(draws)
    for i in range(draws):
        A0 = rng.standard_normal((N, lam.size))
        B = A0 * lam
        K = B @ A0.T
        b = B @ ws
        out[i] = ws @ (lam * ws) - b @ linalg.solve(K, b, assume_a="pos")
    return out


def simulate_projected_reduced(lam, w2, N: int, gamma: float, t, *, eta: float = 0.05, seeds: int = 4,
                               seed: int = 0, max_steps: int = DEFAULT_MAX_GD_STEPS) -> Curve:
    """The GD map of :func:`simulate_projected`, run exactly in N-dimensional coordinates.

    The projected update keeps A(t) = Q(t) A(0) with Q ∈ R^{N×N}, Q(0) = I. With
    K = A(0) Λ A(0)^T (N×N), b = A(0) Λ w* and u = Q^T w/N (so v = w* − A(0)^T u), one step of
    Eq. (eq-projected) reads, exactly,

        r = A(0) Λ v = b − K u,     w ← w + η Q r,     Q ← Q + (ηγ/N) w r^T   (old w),

    and the test loss is L = w*^TΛw* − 2 u·b + u^T K u. The cost per step is O(N²) instead of
    O(NM), so M only enters through K and b (computed once per seed, O(N²M)). The draws of A(0)
    are those of :func:`simulate_projected` with the same ``seed`` (``default_rng([seed, r])``), so
    both functions give the same trajectories up to round-off. Seeds are advanced together
    (batched matrix products). K is diagonalised once, K = U D U^T, and the recursion is run for
    Q' = Q U, r' = U^T r, which makes the K-product diagonal. Time t = steps × η (rounded).
    Runs of more than ``max_steps`` GD steps summed over seeds (``seeds * rint(t[-1]/eta)``) are
    refused before any work.

    Returns
    -------
    Curve
        As :func:`simulate_projected`: ``t`` = steps × η (``t_unit="time"``), ``loss`` = mean over
        seeds of v^TΛv (``loss_factor=1``, no ½), ``seeds[seed, time]`` (always 2-d), ``sem``
        (ddof = 1; None for one seed).  ``meta``: ``family="kernel"``,
        ``model="feature-learning"``, ``solver="projected-reduced"``, ``gamma``, ``width`` (N),
        ``eta``, ``seeds``, ``seed``.  No extras.
    """
    lam, w2, gamma, t, seeds, eta = _check_finite_width(lam, w2, gamma, t, N, seeds, seed, eta, max_steps)
    ws = np.sqrt(w2)
    L0 = float(ws @ (lam * ws))
    steps = np.maximum(1, np.round(t / eta).astype(int))
    D = np.empty((seeds, N))
    bp = np.empty((seeds, N))
    Qp = np.empty((seeds, N, N))
    for r in range(seeds):
        A0 = np.random.default_rng([seed, r]).standard_normal((N, lam.size))
        B = A0 * lam
        d, U = np.linalg.eigh(B @ A0.T)
        D[r], bp[r], Qp[r] = d, U.T @ (B @ ws), U          # Q(0) U = U
    w = np.zeros((seeds, N))
    out = np.empty((seeds, t.size))
    c = eta * gamma / N
    n = 0
    for i, ns in enumerate(steps):
        while n < ns:
            u = np.matmul(w[:, None, :], Qp)[:, 0, :] / N            # U^T Q^T w / N
            rp = bp - D * u
            Qr = np.matmul(Qp, rp[:, :, None])[:, :, 0]
            if gamma != 0:
                Qp += c * w[:, :, None] * rp[:, None, :]
            w += eta * Qr
            n += 1
        u = np.matmul(w[:, None, :], Qp)[:, 0, :] / N
        out[:, i] = L0 - 2 * np.sum(u * bp, axis=1) + np.sum(D * u * u, axis=1)
        if not np.all(np.isfinite(out[:, i])) or np.max(out[:, i]) > 1e6 * L0:
            raise DivergenceError(f"simulate_projected_reduced diverged at t={ns * eta:.3g}; reduce eta={eta}")
    return _curve(steps * eta, out,
                  {"solver": "projected-reduced", "gamma": gamma, "width": N, "eta": eta, "seeds": seeds,
                   "seed": seed})


_REDUCED_KERNEL = None


def _reduced_kernel():
    """Compile (once) one seed's reduced GD loop (:func:`simulate_projected_widths`): the
    recursion of :func:`simulate_projected_reduced` fused into one pass over Q' per step."""
    global _REDUCED_KERNEL
    if _REDUCED_KERNEL is None:
        import numba as nb

        @nb.njit(cache=True, nogil=True, fastmath=True)
        def run(Qp, D, bp, L0, eta, c, steps, out, limit):  # pragma: no cover - compiled
            n = D.size
            w = np.zeros(n)
            u = np.zeros(n)
            r = np.empty(n)
            s = 0
            j = 0
            while j < steps.size:
                while j < steps.size and steps[j] == s:
                    v = L0
                    for k in range(n):
                        v += u[k] * (D[k] * u[k] - 2.0 * bp[k])
                    out[j] = v
                    if not (abs(v) <= limit):            # non-finite or runaway: stop, the caller raises
                        return j
                    j += 1
                if j == steps.size:
                    break
                for k in range(n):
                    r[k] = bp[k] - D[k] * u[k]
                    u[k] = 0.0
                for i in range(n):                       # row i: (Q'r)_i, rank-1 update, u += w_i^new Q'_i
                    acc = 0.0
                    for k in range(n):
                        acc += Qp[i, k] * r[k]
                    cw = c * w[i]
                    w[i] += eta * acc
                    wi = w[i] / n
                    for k in range(n):
                        Qp[i, k] += cw * r[k]
                        u[k] += wi * Qp[i, k]
                s += 1
            return j

        _REDUCED_KERNEL = run
    return _REDUCED_KERNEL


def simulate_projected_widths(lam, w2, widths, gamma: float, times, *, eta: float = 0.05, seeds: int = 4,
                              seed: int = 0, max_steps: int = DEFAULT_MAX_GD_STEPS,
                              max_memory: float = DEFAULT_MAX_MEMORY, show_progress: bool = True) -> list[Curve]:
    """:func:`simulate_projected_reduced` at several widths at once, compiled.

    The draw of seed r, A(0) = ``default_rng([seed, r]).standard_normal((N, M))``, fills rows in
    order, so the width-N instance is the first N rows of the widest one: K = A(0)ΛA(0)ᵀ and
    b = A(0)Λw* are drawn and multiplied once per seed at the largest width and sliced (leading
    block) for the others. Every width therefore sees exactly the instances of
    :func:`simulate_projected_reduced` with the same ``seed`` (equal to round-off, unit-tested),
    nested across widths. The GD recursion runs in a compiled loop (numba) that makes one pass over
    the N×N state per step, O(N²).

    Parameters
    ----------
    widths : sequence of int
        Distinct widths N, each in [1, M).
    times : sequence of arrays
        One increasing positive time grid per width (t = steps × η, rounded).
    seeds, seed, eta, gamma : as :func:`simulate_projected_reduced`.
    max_steps : int
        Cost limit: GD steps summed over widths and seeds, refused before any work.
    max_memory : float
        Limit in bytes of the per-seed draw and kernel (16 M N_max + 24 N_max² bytes).

    Returns
    -------
    list of Curve
        One per width, in the order of ``widths``, as :func:`simulate_projected_reduced`
        (``solver="projected-reduced"``; the loss is the same to round-off).
    """
    lam, w2 = _check_spectrum(lam, w2)
    gamma = check_real("gamma", gamma, 0.0)
    require(isinstance(widths, (list, tuple, np.ndarray)) and len(widths) >= 1, "widths", widths,
            "a non-empty sequence of integers in [1, M)")
    Ns = [check_int("widths[i]", N, 1, lam.size - 1) for N in widths]
    require(len(set(Ns)) == len(Ns), "widths", list(Ns), "distinct widths")
    require(isinstance(times, (list, tuple)) and len(times) == len(Ns), "times", f"{type(times).__name__}",
            f"a list of {len(Ns)} time grids, one per width")
    seeds = check_int("seeds", seeds, 1)
    check_int("seed", seed, 0)
    eta = check_real("eta", eta, 0.0, lo_open=True)
    max_steps = check_int("max_steps", max_steps, 1)
    show_progress = check_bool("show_progress", show_progress)
    ts, steps = [], []
    for i, t in enumerate(times):
        t = np.atleast_1d(check_array(f"times[{i}]", t, ndim=(0, 1), min_size=1))
        require(bool(np.all(np.diff(t) > 0)) and t[0] > 0, f"times[{i}]", "grid", "increasing positive finite times")
        ts.append(t)
        steps.append(np.maximum(1, np.round(t / eta)).astype(np.int64))
    total = seeds * sum(int(st[-1]) for st in steps)
    check_cost("times", "grids", total, max_steps, what=f"GD steps (summed over {len(Ns)} widths x {seeds} seeds)",
               limit_name="max_steps")
    n_max, M = max(Ns), lam.size
    _check_memory("widths", n_max, 16.0 * M * n_max + 24.0 * n_max * n_max, max_memory, f"N_max={n_max}, M={M}")
    run = _reduced_kernel()
    ws = np.sqrt(w2)
    L0 = float(ws @ (lam * ws))
    out = [np.empty((seeds, t.size)) for t in ts]
    for r in progress(range(seeds), desc=f"reduced GD, {len(Ns)} widths, gamma={gamma:g}",
                      disable=None if show_progress else True):
        A0 = np.random.default_rng([seed, r]).standard_normal((n_max, M))
        B = A0 * lam
        Kf, bf = B @ A0.T, B @ ws
        del A0, B
        for i, N in enumerate(Ns):
            d, U = np.linalg.eigh(Kf[:N, :N])
            Qp = np.ascontiguousarray(U)
            k = run(Qp, d, U.T @ bf[:N], L0, eta, eta * gamma / N, steps[i], out[i][r], 1e6 * L0)
            if k < steps[i].size:
                raise DivergenceError(f"simulate_projected_widths diverged at t={steps[i][k] * eta:.3g} "
                                      f"(N={N}, seed {r}); reduce eta={eta}")
    return [_curve(st * eta, o, {"solver": "projected-reduced", "gamma": gamma, "width": N, "eta": eta,
                                 "seeds": seeds, "seed": seed})
            for N, st, o in zip(Ns, steps, out)]


def sgd_batch_excess(loss_pop, loss_sgd: dict, t) -> tuple[dict, dict]:
    """B × relative SGD excess over population GD, averaged over the late half of the log-time grid.

    ``loss_pop[seed, time]``: population-GD losses; ``loss_sgd[B][seed, time]``: online-SGD losses
    of the same initialisations (paired); ``t``: the time grid.  Per seed,
    x_B = B · mean_{t late}(L_SGD/L_GD − 1) with "late" = t ≥ √(t_first t_last); returns the mean over
    seeds and its standard error, ``({B: mean}, {B: s.e.})``.  An SGD term ∝ 1/B gives the same
    value at every B; a B-independent excess gives values ∝ B (this is what the chapter's check of
    the 1/B amplitude compares).
    """
    loss_pop = np.asarray(loss_pop, dtype=float)
    t = np.asarray(t, dtype=float)
    require(loss_pop.ndim == 2 and loss_pop.shape[0] >= 2 and loss_pop.shape[1] == t.size, "loss_pop",
            loss_pop.shape, f"(seeds >= 2, {t.size} times)")
    late = t >= np.sqrt(t[0] * t[-1])
    mean, se = {}, {}
    for B, L in loss_sgd.items():
        L = np.asarray(L, dtype=float)
        require(L.shape == loss_pop.shape, f"loss_sgd[{B}]", L.shape,
                f"the shape of loss_pop {loss_pop.shape}")
        x = B * (L / loss_pop - 1)[:, late].mean(axis=1)
        mean[B] = float(x.mean())
        se[B] = float(x.std(ddof=1) / np.sqrt(x.size))
    return mean, se


def row_space_leak(lam, w2, N: int, gamma: float, *, eta: float = 0.05, steps: int = 400,
                   seed: int = 0, replica: int = 0) -> float:
    """How far the projected update moves A(t) out of the row space of A(0): a relative leak.

    Replays ``steps`` population-GD steps of Eq. (eq-projected) (the update of
    :func:`simulate_projected`, with the draw of A(0) of its seed ``replica``:
    ``default_rng([seed, replica])``) and returns ‖(I − Π)A(t)ᵀ‖ / ‖A(t)ᵀ − A(0)ᵀ‖ with Π the
    orthogonal projector onto the row space of A(0) (Frobenius norms).  The update
    A ← A + ηγ w (F_0 Λ v)ᵀ, F_0 = A(0)ᵀA(0)/N, keeps the rows of A in that space exactly, so the
    result is round-off (~1e-15 per step in float64); chapter 4 checks it is below 1e-10.
    """
    lam, w2 = _check_spectrum(lam, w2)
    N = check_int("N", N, 1)
    gamma = check_real("gamma", gamma, 0.0, lo_open=True)
    eta = check_real("eta", eta, 0.0, lo_open=True)
    steps = check_int("steps", steps, 1)
    check_int("seed", seed, 0)
    check_int("replica", replica, 0)
    A0 = np.random.default_rng([seed, replica]).standard_normal((N, lam.size))
    A = A0.copy()
    w = np.zeros(N)
    ws = np.sqrt(w2)
    for _ in range(steps):
        v = ws - A.T @ w / N
        Lv = lam * v
        ALv = A @ Lv
        A += eta * gamma * np.outer(w, A0.T @ (A0 @ Lv) / N)
        w += eta * ALv
    Q, _ = np.linalg.qr(A0.T)
    return float(np.linalg.norm(A.T - Q @ (Q.T @ A.T)) / np.linalg.norm(A.T - A0.T))


# ----------------------------------------------------------------------------------------------
# finite width: the deterministic-equivalent theory of the projected model
# ----------------------------------------------------------------------------------------------
def _de_solve(z, lam, N, m, tol=1e-12, maxiter=60):
    """Newton for the companion Stieltjes transform m(z) of K̃ = A0 Λ A0ᵀ/N,
    z = −1/m + (1/N) Σ_k λ_k/(1 + λ_k m), vectorised over ``z`` from the start values ``m``
    (Im m > 0 kept; a fixed-point step where Newton leaves the upper half plane)."""
    m = np.array(m, dtype=complex)
    act = np.arange(m.size)
    for _ in range(maxiter):
        ma = m[act]
        q = 1 / (1 + np.outer(ma, lam))
        f = -1 / ma + (q @ lam) / N - z[act]
        bad_res = np.abs(f * ma) >= tol
        if not bad_res.any():
            return m
        act, ma, q, f = act[bad_res], ma[bad_res], q[bad_res], f[bad_res]
        mn = ma - f / (1 / ma ** 2 - ((q * q) @ (lam * lam)) / N)
        off = ~(np.isfinite(mn) & (mn.imag > 0))
        if off.any():
            mn[off] = 1 / (-z[act][off] + q[off] @ lam / N)
        m[act] = mn
    raise DivergenceError(f"width_modes: the deterministic-equivalent equation did not converge at "
                          f"{act.size} points (first z = {complex(z[act[0]]):.3g}); raise n_line")


def _de_fields(z, m, lam, w2):
    """(m, m_a, z m) at z: eigenvalue count, task power Σλw*²-weighted and first moment."""
    q = 1 / (1 + np.outer(m, lam))
    return np.stack([m, -(q @ (lam * w2)) / z, z * m])


def instance_modes(lam, w2, N: int, *, seed: int = 0, r: int = 0,
                   max_memory: float = DEFAULT_MAX_MEMORY) -> tuple[np.ndarray, np.ndarray, float]:
    """The exact N modes of one random instance: A(0) from ``default_rng([seed, r])`` (the draw of
    seed ``r`` of :func:`simulate_projected` and :func:`simulate_projected_reduced`).

    With K̃ = A(0)ΛA(0)ᵀ/N = U diag(σ) Uᵀ and b = A(0)Λw*: σ (decreasing), task powers
    p_i = (Uᵀb)_i²/(Nσ_i) and the floor L0 − Σp. :func:`finite_width_theory` with
    ``modes=instance_modes(...)`` reproduces that instance's GD trajectory to round-off. Memory: two
    N×M arrays (``max_memory`` bytes, checked before any work)."""
    lam, w2 = _check_spectrum(lam, w2)
    N = check_int("N", N, 1)
    require(N < lam.size, "N", N, f"an integer in [1, M) with M = {lam.size}")
    check_int("seed", seed, 0)
    check_int("r", r, 0)
    _check_memory("N", N, 16.0 * N * lam.size + 16.0 * N * N, max_memory, f"N={N}, M={lam.size}")
    A0 = np.random.default_rng([seed, r]).standard_normal((N, lam.size))
    B = A0 * lam
    sig, U = np.linalg.eigh(B @ A0.T / N)
    p = (U.T @ (B @ np.sqrt(w2))) ** 2 / (N * sig)
    return sig[::-1].copy(), p[::-1].copy(), float(w2 @ lam - p.sum())


def width_floor_de(lam, w2, N: int) -> float:
    """Deterministic equivalent of :func:`width_floor`: L_floor = κ Σ_k λ_k w*_k²/(λ_k + κ) with κ
    the root of (1/N) Σ_k λ_k/(λ_k + κ) = 1 (the t → ∞ loss of the width-N projected model,
    lazy and rich alike; exact as N, M → ∞ at fixed ratio). Requires 1 <= N < M."""
    from scipy.optimize import brentq
    lam, w2 = _check_spectrum(lam, w2)
    N = check_int("N", N, 1)
    require(N < lam.size, "N", N, f"an integer in [1, M) with M = {lam.size}")
    g = lambda k: np.sum(lam / (lam + k)) / N - 1.0          # noqa: E731 - decreasing in k
    hi = float(lam.max())
    while g(hi) > 0:
        hi *= 2
    kap = brentq(g, 0.0, hi, xtol=1e-300, rtol=1e-14)
    return float(kap * np.sum(lam * w2 / (lam + kap)))


def width_modes(lam, w2, N: int, *, n_line: int = 300, eps: float = 0.08,
                n_seg: int = 8, max_memory: float = DEFAULT_MAX_MEMORY) -> tuple[np.ndarray, np.ndarray, float]:
    """The width-N projected model's spectrum as N deterministic modes (σ_i, p_i) plus its floor.

    At width N the dynamics of the projected model lives in the N-dimensional row space of A(0):
    with K̃ = A(0) Λ A(0)ᵀ/N = U diag(σ) Uᵀ and b = A(0) Λ w*, the exact reduced dynamics
    (:func:`simulate_projected_reduced`) is the infinite-width system of
    :func:`infinite_width_full` on the N modes σ_i with task powers p_i = (Uᵀb)_i²/(N σ_i)
    (w*_i² = p_i/σ_i), plus the floor L0 − Σ p_i. Here (σ_i, p_i) are replaced by their
    deterministic equivalent (N, M → ∞ at fixed ratio): the eigenvalue distribution of K̃ and the
    task power along it follow from the companion Stieltjes transform m(z),
    z = −1/m + (1/N) Σ_k λ_k/(1 + λ_k m) (Silverstein), and m_a(z) = −(1/z) Σ_k λ_k w*_k²/(1 + λ_k m).
    The N modes are the N quantile bins of the eigenvalue distribution, each with its mean
    eigenvalue and its task power.

    Numerics: the cumulative counts, task powers and first moments above x are real-axis
    integrals of Im m/π etc.; they are taken along the line z = x(1 + iε) (fine enough for
    features of relative width ε) and closed by vertical segments (Gauss–Legendre, ``n_seg``
    nodes), so narrow outliers (the top modes at large N) are integrated exactly by Cauchy's
    theorem. Cost O(n_line · n_seg · M), independent of time. The defaults move the loss by less
    than 1e-3 (relative) against n_line = 1500, n_seg = 20, ε = 0.05 at M = 4096, N = 32 and 256.
    Memory: about four complex ``n_line`` × M work arrays (``max_memory`` bytes, checked before any
    work).

    Returns
    -------
    sigma, p : numpy.ndarray
        N mode eigenvalues (decreasing) and task powers (Σ p = L0 − floor up to the quadrature).
    floor : float
        :func:`width_floor_de`.
    """
    lam, w2 = _check_spectrum(lam, w2)
    floor = width_floor_de(lam, w2, N)
    n_line = check_int("n_line", n_line, 50, 100_000)
    eps = check_real("eps", eps, 0.0, 0.5, lo_open=True)
    n_seg = check_int("n_seg", n_seg, 2, 64)
    _check_memory("n_line", n_line, 64.0 * n_line * lam.size, max_memory, f"n_line={n_line}, M={lam.size}")
    x = np.geomspace(0.05 * float(np.sort(lam)[::-1][N - 1]), 2 * (lam.max() + lam.sum() / N), n_line)[::-1]
    zl = x * (1 + 1j * eps)
    m = np.empty(n_line, dtype=complex)
    prev = -1 / zl[0]
    for j in range(n_line):                           # continuation from above the spectrum downwards
        prev = m[j] = _de_solve(zl[j:j + 1], lam, N, [prev])[0]
    fl_ = _de_fields(zl, m, lam, w2)
    cum = np.concatenate([np.zeros((3, 1)), np.cumsum(0.5 * (fl_[:, 1:] + fl_[:, :-1]) * np.diff(zl), axis=1)],
                         axis=1)                      # ∫ from x_hi down to x_j along the line (dz < 0)
    s, wgt = np.polynomial.legendre.leggauss(n_seg)
    s, wgt = 0.5 * eps * (s + 1), 0.5 * eps * wgt
    order = np.argsort(-s)
    V = np.zeros((3, n_line), dtype=complex)          # ∫ from x to x(1 + iε) vertically
    ms = m.copy()
    for k in order:                                   # continuation down each vertical segment
        zs = x * (1 + 1j * s[k])
        ms = _de_solve(zs, lam, N, ms)
        V += _de_fields(zs, ms, lam, w2) * (1j * x * wgt[k])
    # real-axis integral from x_j up to x_hi = V(x_j) − ∫_line(x_hi → x_j) − V(x_hi)
    F, P, X = ((V - cum - V[:, :1]).imag / np.pi)
    F = np.maximum.accumulate(np.clip(F, 0.0, None))  # mass above x, x decreasing
    require(F[-1] >= 1 - 1e-6, "n_line", n_line, "a grid reaching below the spectrum (F < 1 at its end)")
    lev = np.arange(N + 1) / N
    Pe, Xe = np.interp(lev, F, P), np.interp(lev, F, X)
    sigma, p = np.diff(Xe) * N, np.diff(Pe)
    if not (np.all(np.isfinite(sigma)) and np.all(sigma > 0) and np.all(p >= -1e-12)):
        raise DivergenceError("width_modes: non-positive mode eigenvalue or task power; raise n_line or lower eps")
    return sigma, np.maximum(p, 0.0), floor


def finite_width_theory(lam, w2, N: int, gamma: float, t, *, eta: float = 0.05, modes=None,
                        max_steps: int = DEFAULT_MAX_GD_STEPS) -> Curve:
    """Deterministic-equivalent theory of the projected model at width N (population GD, step η).

    The exact GD map of the projected model in order parameters (:func:`infinite_width_full`, full
    N×N kernel G, G(0) = I) run on the N deterministic modes of :func:`width_modes`, plus the
    deterministic floor: no random instance enters. γ = 0 is the lazy DMFT of paper (B) at
    P = ∞ (up to the binning of the spectrum into N modes). Pass ``modes`` (the output of
    :func:`width_modes`) to reuse them across γ. Cost: the modes once, then O(N²) per GD step,
    against O(N²) per step *per instance* plus O(N² M) per instance for the average it predicts.

    Returns
    -------
    Curve
        ``t`` = steps × η (``t_unit="time"``), ``loss`` = L_floor + vᵀΣv (``loss_factor=1``, no ½),
        no seeds (a theory). ``meta``: ``family="kernel"``, ``model="feature-learning"``,
        ``solver="finite-width-de"``, ``gamma``, ``width`` (N), ``eta``. No extras.
    """
    lam, w2, gamma, t = _check_common(lam, w2, gamma, t)
    N = check_int("N", N, 1)
    eta = _check_gd(eta, t, max_steps)
    if modes is None:
        modes = width_modes(lam, w2, N)
    require(isinstance(modes, tuple) and len(modes) == 3, "modes", type(modes).__name__,
            f"the (sigma, p, floor) tuple of width_modes(lam, w2, N={N}) or instance_modes")
    sigma = check_array("modes[0]", modes[0], ndim=1, min_size=1)
    p = check_array("modes[1]", modes[1], ndim=1, min_size=1)
    floor = check_real("modes[2]", modes[2], 0.0)
    require(sigma.size == N and p.size == N, "modes", f"{sigma.size} eigenvalues, {p.size} task powers",
            f"N={N} of each (the output of width_modes(lam, w2, N={N}))")
    require(bool(np.all(sigma > 0)), "modes[0]", f"min {sigma.min():.3g}", "positive mode eigenvalues")
    require(bool(np.all(p >= 0)), "modes[1]", f"min {p.min():.3g}", "non-negative task powers")
    core = infinite_width_full(sigma, p / sigma, gamma, t, eta=eta, max_steps=max_steps)
    return _curve(core.t, core.loss + float(floor),
                  {"solver": "finite-width-de", "gamma": gamma, "width": N, "eta": eta})


# ----------------------------------------------------------------------------------------------
# the closed-form exponents of Bordelon, Atanasov & Pehlevan 2025 (A) (chapter 4's phase diagrams)
# ----------------------------------------------------------------------------------------------
def chi_map(alpha, beta, rich: bool):
    """Time exponent χ of L ~ t^-χ at infinite width, as a function of (α, β) (vectorised).

    Lazy (γ = 0): χ = β.  Rich (γ > 0): χ = β·max(1, 2/(1+β)), i.e. 2β/(1+β) for hard tasks
    (β < 1) and β for easy ones (Bordelon et al. 2025 (A) Eq. 10).  α does not enter (kept for
    the signature shared with :func:`compute_map`).  Time: gradient-flow time.
    """
    be = np.asarray(beta, dtype=float) if np.ndim(beta) else beta     # lists too; scalars unchanged
    return be * np.maximum(1.0, 2 / (1 + be)) if rich else be


def compute_map(alpha, beta, rich: bool):
    """Compute-optimal exponent of L* ~ C^-x (C = N t, population gradients), vectorised in (α, β).

    Three task classes (the tables of the book's sources appendix on Bordelon et al. 2025 (A)):
    hard (β < 1) αβ/(α+1) lazy and 2αβ/(α(1+β)+2) rich (paper's Table 1); easy
    (1 < β < 2 − 1/α) αβ/(αβ+1), the same lazy and rich (our derivation from the four-term law);
    super-easy (β > 2 − 1/α) 1 − 1/(2α) (SGD-noise limited; our derivation).
    """
    al, be = alpha, beta
    hard = 2 * al * be / (al * (1 + be) + 2) if rich else al * be / (al + 1)
    easy = al * be / (al * be + 1)
    super_easy = 1 - 1 / (2 * al)
    return np.where(be < 1, hard, np.where(be < 2 - 1 / al, easy, super_easy))


def compute_exponent_two_term(alpha, beta):
    """Compute-optimal exponent αβ/(1+α) = (a−1)/(1+b) of the two-term balance
    t^-(a-1)/b + N^-(a-1) of Bordelon et al. 2024 (B) Eq. 17 (paper (B) notation a = αβ+1,
    b = α); for easy tasks it misses the finite-width transient that sets the optimum."""
    return alpha * beta / (1 + alpha)
