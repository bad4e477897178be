"""Two-layer ReLU MLP on the circle in the mean-field / muP parameterisation with richness gamma0.

Model (our construction for the "nonlinear check" of Bordelon, Atanasov & Pehlevan 2025, §2.3/§7;
the paper's exact network setup is not known to us):

    x = (cos θ, sin θ),   h_i(x) = w_i · x + b_i,   f(x) = 1/(γ₀ N) Σ_i a_i relu(h_i(x)),

with w_i ~ N(0, I_2), b_i ~ N(0, 1), a_i ~ N(0, 1).  The init is *symmetrised* (neurons N/2..N-1
copy neurons 0..N/2-1 with a_i -> -a_i), so f ≡ 0 at t = 0 for every γ₀.  Full-batch gradient
descent on half the grid squared error with the mean-field step η_param = η γ₀² N:

    θ ← θ - η γ₀² N ∇_θ ½ mean_grid (f - y)²,      time t = steps × η.

With this scaling the neural tangent kernel K(x,x') = γ₀² N Σ_θ ∂f(x)/∂θ ∂f(x')/∂θ is O(1) for
all γ₀ and N, feature movement is O(γ₀): γ₀ -> 0 is the lazy (kernel) limit, γ₀ = O(1) is rich.
In the lazy limit the grid residual obeys dr/dt = -(K/P) r, so mode k decays as exp(-λ_k t), with
λ_k the eigenvalues of the circulant K/P (Fourier modes, `ntk_mode_spectrum`).

Online SGD (:func:`train_online`, section 4.5): each step draws B fresh angles θ_b ~ U[0, 2π)
and descends ½ (1/B) Σ_b (f(x_b) - y(θ_b))² with the same mean-field step; the loss is measured
on held-out test angles (:func:`held_out_grid`).  Its lazy (N = ∞) expected test loss is exact
(:func:`lazy_loss_online`).

Loss convention: L = mean_grid (f - y)² (no ½), as in chapter 4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalinglaws.errors import (DivergenceError, ParameterTypeError, check_array, check_choice, check_cost,
                     check_int, check_real, is_int, require)
from scalinglaws.result import Curve

try:  # numba is optional: it speeds up train_gd by ~5x (same algorithm, round-off differences only)
    import numba as _numba
except Exception:  # pragma: no cover
    _numba = None

#: Default cost limit of :func:`train_gd`: GD steps ``rint(t_record[-1] / eta)`` of one network
#: (about 10 minutes on one core at P = N = 256 with the compiled loop); raise it with
#: ``max_steps=``.
DEFAULT_MAX_GD_STEPS = 10 ** 7
#: Default cost limit of :func:`train_online`: SGD steps ``rint(t_record[-1] / eta)`` summed over
#: the networks of one call (about 10 minutes on one core at N = 1024, batch 16); raise it with
#: ``max_steps=``.
DEFAULT_MAX_ONLINE_STEPS = 10 ** 7

__all__ = ["MLPParams", "init_params", "circle_grid", "forward", "loss", "gradients",
           "empirical_ntk", "ntk_infinite", "ntk_mode_spectrum", "circle_target",
           "train_gd", "lazy_loss_infinite", "fit_window_from_modes", "neuron_mode_spectra",
           "gap_exceeds_spread", "agree_within_spread", "lazy_fit_window", "record_times", "window_exponent",
           "lazy_loss_linearised", "target_coefficients", "fourier_series", "held_out_grid", "train_online",
           "lazy_loss_online", "exponent_gap"]


@dataclass
class MLPParams:
    """Parameters of the two-layer net: ``W`` (N, 2), ``b`` (N,), ``a`` (N,); richness ``gamma0``."""

    W: np.ndarray
    b: np.ndarray
    a: np.ndarray
    gamma0: float

    @property
    def N(self) -> int:
        return int(self.a.shape[0])

    def copy(self) -> "MLPParams":
        return MLPParams(self.W.copy(), self.b.copy(), self.a.copy(), self.gamma0)


def init_params(N: int, gamma0: float, seed: int | np.random.Generator) -> MLPParams:
    """Symmetrised Gaussian init (f ≡ 0 at t = 0).

    Parameters
    ----------
    N : int
        Width, even and >= 2.
    gamma0 : float
        Richness γ₀ > 0.
    seed : int or numpy.random.Generator
        Source of randomness.
    """
    check_int("N", N, 2)
    require(N % 2 == 0, "N", N, "an even integer >= 2")
    gamma0 = check_real("gamma0", gamma0, 0.0, lo_open=True)
    if not isinstance(seed, np.random.Generator):
        check_int("seed", seed, 0)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    h = N // 2
    W = rng.standard_normal((h, 2))
    b = rng.standard_normal(h)
    a = rng.standard_normal(h)
    return MLPParams(np.concatenate([W, W]), np.concatenate([b, b]), np.concatenate([a, -a]),
                     float(gamma0))


def circle_grid(P: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform grid θ_j = 2πj/P and inputs X = (cos θ, sin θ), shape (P, 2)."""
    check_int("P", P, 4)
    th = 2 * np.pi * np.arange(P) / P
    return th, np.stack([np.cos(th), np.sin(th)], axis=1)


def _check_X(X) -> np.ndarray:
    """Inputs X: a finite (P, 2) array (NaN/inf rejected before any work)."""
    X = check_array("X", X, finite=False)
    require(X.ndim == 2 and X.shape[1] == 2 and X.shape[0] >= 1, "X.shape", X.shape, "(P, 2)")
    require(bool(np.all(np.isfinite(X))), "X", "contains NaN/inf",
            "finite inputs (x = (cos θ, sin θ) on the circle)")
    return X


def _check_params(p) -> "MLPParams":
    """Parameters: an :class:`MLPParams` with finite weights of consistent shapes and gamma0 > 0."""
    if not isinstance(p, MLPParams):
        raise ParameterTypeError(f"p={_short(p)} is invalid: an MLPParams (see init_params) "
                                 f"(got {type(p).__name__})")
    a = check_array("p.a", p.a, ndim=1, min_size=1)
    check_array("p.W", p.W, shape=(a.size, 2))
    check_array("p.b", p.b, shape=(a.size,))
    check_real("p.gamma0", p.gamma0, 0.0, lo_open=True)
    return p


def _short(x) -> str:
    r = repr(x)
    return r if len(r) <= 60 else r[:57] + "..."


def forward(p: MLPParams, X) -> np.ndarray:
    """Network output f(x) = 1/(γ₀N) Σ a_i relu(w_i·x + b_i) on inputs X (P, 2)."""
    X = _check_X(X)
    H = X @ p.W.T + p.b
    return np.maximum(H, 0.0) @ p.a / (p.gamma0 * p.N)


def loss(p: MLPParams, X, y) -> float:
    """Grid loss L = mean (f - y)²."""
    return float(np.mean((forward(p, X) - np.asarray(y, dtype=float)) ** 2))


def gradients(p: MLPParams, X, y) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ½ mean (f - y)² with respect to (W, b, a) (plain, not rescaled)."""
    X = _check_X(X)
    y = np.asarray(y, dtype=float)
    require(y.shape == (X.shape[0],), "y.shape", y.shape, f"({X.shape[0]},)")
    H = X @ p.W.T + p.b
    Phi = np.maximum(H, 0.0)
    c = 1.0 / (p.gamma0 * p.N)
    r = (Phi @ p.a * c - y) / X.shape[0]
    ga = Phi.T @ r * c
    G = np.outer(r, p.a * c) * (H > 0)
    return G.T @ X, G.sum(axis=0), ga


def empirical_ntk(p: MLPParams, X) -> np.ndarray:
    """Empirical NTK with the mean-field rate, K = γ₀² N Σ_θ ∂f/∂θ ∂f/∂θ (P x P).

    K(x,x') = (1/N) Σ_i [relu(h_i)relu(h_i') + a_i² 1(h_i>0) 1(h_i'>0) (x·x' + 1)].
    """
    X = _check_X(X)
    H = X @ p.W.T + p.b
    Phi = np.maximum(H, 0.0)
    D = (H > 0) * p.a
    return (Phi @ Phi.T + (D @ D.T) * (X @ X.T + 1.0)) / p.N


def ntk_infinite(delta) -> np.ndarray:
    """Infinite-width NTK at init as a function of the angle Δ = θ - θ' (closed form).

    The pre-activations at x, x' are jointly Gaussian with variance 2 and covariance 1 + cos Δ,
    so with ρ = (1+cos Δ)/2 and ψ = arccos ρ (arc-cosine kernels, Cho & Saul 2009):
    K(Δ) = (2/2π)(sin ψ + (π-ψ) cos ψ) + (1 + cos Δ)(π-ψ)/(2π).
    """
    d = np.asarray(delta, dtype=float)
    rho = np.clip((1 + np.cos(d)) / 2, -1.0, 1.0)
    psi = np.arccos(rho)
    return (np.sin(psi) + (np.pi - psi) * rho) / np.pi + (1 + np.cos(d)) * (np.pi - psi) / (2 * np.pi)


def ntk_mode_spectrum(P: int, K: np.ndarray | None = None) -> np.ndarray:
    """Eigenvalues λ_k, k = 0..P/2, of the grid operator K/P on P uniform angles.

    If ``K`` (P x P Gram matrix on `circle_grid(P)`) is given, its circulant part is used (average of
    the diagonals, then the discrete Fourier transform); otherwise the closed form `ntk_infinite`.
    """
    require(isinstance(P, (int, np.integer)) and P >= 4 and P % 2 == 0, "P", P, "an even integer >= 4")
    if K is None:
        row = ntk_infinite(2 * np.pi * np.arange(P) / P)
    else:
        K = np.asarray(K, dtype=float)
        require(K.shape == (P, P), "K.shape", K.shape, f"({P}, {P})")
        idx = (np.arange(P)[None, :] + np.arange(P)[:, None]) % P
        row = K[np.arange(P)[:, None], idx].mean(axis=0)
    return np.real(np.fft.rfft(row)) / P


def neuron_mode_spectra(p: MLPParams, X, chunk: int = 1024) -> np.ndarray:
    """Per-neuron contributions to the circulant NTK spectrum on the grid ``X = circle_grid(P)[1]``.

    The eNTK is an average over neurons, K = (1/N) Σ_i k_i with k_i(x,x') = Σ_u u_i(x) u_i(x') over
    the four features u ∈ {relu(h_i), a_i s_i, a_i s_i cos θ, a_i s_i sin θ}, s_i = 1(h_i > 0).
    For a rank-one kernel u uᵀ the Fourier eigenvalue of its circulant part is abs(U_k)²/P² (U the
    DFT of u), so row i of the result is λ_k^{(i)} = Σ_u abs(U_k)²/P², k = 0..P/2, and the column
    mean equals ``ntk_mode_spectrum(P, empirical_ntk(p, X))``.  The spread over neurons gives the
    Monte-Carlo standard error of the finite-width spectrum (use one neuron of each symmetric pair:
    rows 0..N/2-1 are independent).
    """
    X = _check_X(X)
    P = X.shape[0]
    require(P % 2 == 0, "P", P, "an even number of grid points")
    require(isinstance(chunk, (int, np.integer)) and chunk >= 1, "chunk", chunk, "an integer >= 1")
    out = np.empty((p.N, P // 2 + 1))
    for lo in range(0, p.N, chunk):
        sl = slice(lo, min(lo + chunk, p.N))
        H = X @ p.W[sl].T + p.b[sl]
        S = (H > 0) * p.a[sl]
        acc = np.abs(np.fft.rfft(np.maximum(H, 0.0), axis=0)) ** 2
        for u in (S, S * X[:, :1], S * X[:, 1:]):
            acc += np.abs(np.fft.rfft(u, axis=0)) ** 2
        out[sl] = acc.T / P ** 2
    return out


def circle_target(theta, lam: np.ndarray, beta: float, kmax: int, seed: int = 0,
                  total_power: float = 1.0, phases: str = "zero") -> tuple[np.ndarray, np.ndarray]:
    """Target y(θ) = Σ_{k=1}^{kmax} c_k cos(kθ + φ_k) with source exponent β for the spectrum λ.

    The power of mode k in the loss is c_k²/2; we set c_k²/2 ∝ λ_k^β - λ_{k+1}^β so that the tail
    power Σ_{ℓ≥k} c_ℓ²/2 = A(λ_k^β - λ_{kmax+1}^β) ~ λ_k^β (source condition of chapter 4); in the
    lazy limit L(t) = Σ_k (c_k²/2) e^{-2λ_k t} ~ t^{-β}.

    ``phases="zero"`` (default): φ_k = 0, y = Σ c_k cos kθ, the inferred form of the paper's
    targets (Σ_k k^{-q} cos kθ); its Fourier tail comes from one localised singularity at θ = 0
    (c_k ~ k^{-q}: abs(θ)^{q-1} for q < 1, log abs(θ) for q = 1, a kink abs(θ) for q = 2).
    ``phases="random"``: φ_k uniform on [0, 2π) drawn with
    ``seed``; the same power spectrum, but the roughness is spread over the whole circle.
    The lazy (kernel) dynamics depends only on the power spectrum, not on the phases.

    Returns
    -------
    y : ndarray, the target on ``theta``;  power : ndarray (kmax,), c_k²/2 for k = 1..kmax.
    """
    require(np.isfinite(beta) and beta > 0, "beta", beta, "a finite float > 0")
    require(phases in ("zero", "random"), "phases", phases, "'zero' or 'random'")
    lam = np.asarray(lam, dtype=float)
    require(isinstance(kmax, (int, np.integer)) and 1 <= kmax <= lam.size - 2, "kmax", kmax,
            f"an integer in [1, {lam.size - 2}]")
    lk = lam[1:kmax + 2]
    require(bool(np.all(lk > 0) and np.all(np.diff(lk) < 0)), "lam", "not decreasing",
            "positive and strictly decreasing on k = 1..kmax+1")
    power = lk[:-1] ** beta - lk[1:] ** beta
    power *= total_power / power.sum()
    if phases == "zero":
        phi = np.zeros(kmax)
    else:
        phi = np.random.default_rng(seed).uniform(0, 2 * np.pi, kmax)
    k = np.arange(1, kmax + 1)
    th = np.asarray(theta, dtype=float)
    y = np.cos(np.multiply.outer(th, k) + phi) @ np.sqrt(2 * power)
    return y, power


_NUMBA_KERNEL = None


_NUMBA_FORWARD = None


def _numba_forward():
    """Compile (once) the network's forward pass f_q = Σ_i a_i ReLU(w_i·x_q + b_i) (written into
    ``f``), shared by the compiled GD loop and the online test loss."""
    global _NUMBA_FORWARD
    if _NUMBA_FORWARD is None:
        @_numba.njit(cache=True, nogil=True)
        def forward(W, b, a, X, f):  # pragma: no cover - compiled
            f[:] = 0.0
            for i in range(a.shape[0]):
                w0, w1, bi, ai = W[i, 0], W[i, 1], b[i], a[i]
                for q in range(X.shape[0]):
                    h = w0 * X[q, 0] + w1 * X[q, 1] + bi
                    if h > 0.0:
                        f[q] += ai * h

        _NUMBA_FORWARD = forward
    return _NUMBA_FORWARD


def _numba_kernel():
    """Compile (once) the fused GD loop; the same algorithm as the NumPy path of `train_gd`."""
    global _NUMBA_KERNEL
    if _NUMBA_KERNEL is None:
        nb = _numba
        forward = _numba_forward()

        @nb.njit(cache=True, nogil=True)
        def run(W, b, a, X, y, c, lr, steps, L):  # pragma: no cover - compiled
            P, N = X.shape[0], a.shape[0]
            f = np.empty(P)
            r = np.empty(P)
            j = 0
            s = 0
            L0 = -1.0
            while j < steps.size:
                forward(W, b, a, X, f)
                Lnow = 0.0
                for q in range(P):
                    r[q] = f[q] * c - y[q]
                    Lnow += r[q] * r[q]
                Lnow /= P
                while j < steps.size and steps[j] == s:
                    L[j] = Lnow
                    j += 1
                if L0 < 0.0:
                    L0 = Lnow
                if j >= steps.size:
                    break
                if not np.isfinite(Lnow) or Lnow > 1e3 * max(L0, 1e-300):
                    return s, Lnow
                for q in range(P):
                    r[q] *= c / P
                for i in range(N):
                    w0, w1, bi, ai = W[i, 0], W[i, 1], b[i], a[i]
                    g0 = 0.0
                    g1 = 0.0
                    gb = 0.0
                    ga = 0.0
                    for q in range(P):
                        h = w0 * X[q, 0] + w1 * X[q, 1] + bi
                        if h > 0.0:
                            rq = r[q]
                            ga += h * rq
                            g0 += rq * X[q, 0]
                            g1 += rq * X[q, 1]
                            gb += rq
                    W[i, 0] = w0 - lr * ai * g0
                    W[i, 1] = w1 - lr * ai * g1
                    b[i] = bi - lr * ai * gb
                    a[i] = ai - lr * ga
                s += 1
            return -1, 0.0

        _NUMBA_KERNEL = run
    return _NUMBA_KERNEL


def _check_gd_inputs(X, y, eta, t_record, method, max_steps):
    """Validate the inputs of :func:`train_gd` shared by all networks; returns (X, y, eta, t)."""
    X = _check_X(X)
    y = check_array("y", y, shape=(X.shape[0],))
    eta = check_real("eta", eta, 0.0, lo_open=True)
    check_choice("method", method, ("auto", "numpy", "numba"))
    require(method != "numba" or _numba is not None, "method", method, "'numpy' (numba not installed)")
    max_steps = check_int("max_steps", max_steps, 1)
    tr = check_array("t_record", t_record, ndim=1, min_size=1)
    require(bool(np.all(tr >= 0)) and bool(np.all(np.diff(tr) >= 0)), "t_record",
            _short(tr.tolist()), "a non-empty non-decreasing 1-d array of finite times >= 0")
    check_cost("t_record", f"[..., {tr[-1]:.6g}]", float(np.rint(tr[-1] / eta)), max_steps,
               what=f"GD steps (t_record[-1]/eta = {tr[-1]:.4g}/{eta:.4g})", limit_name="max_steps")
    return X, y, eta, tr


def train_gd(p, X, y, eta: float, t_record, method: str = "auto", workers: int | None = None, *,
             max_steps: int = DEFAULT_MAX_GD_STEPS):
    """Full-batch GD with the mean-field step: θ ← θ - η γ₀² N ∇θ ½ mean (f-y)².

    Parameters
    ----------
    p : MLPParams or sequence of MLPParams
        Initial parameters (not modified).  A sequence trains several independent networks
        (e.g. seeds) concurrently in threads: each exactly as if trained alone (results identical
        to serial calls), returned in the order of ``p``.  The compiled loop releases the GIL, so
        on k cores up to k networks train at once.  Every input is checked (for every network)
        before any network starts.
    X, y : inputs (P, 2) and targets (P,).
    eta : float
        Time step (time per step); stability needs η λ_max < 2 with λ_max the top eigenvalue of K/P
        (in rich training the kernel grows, so λ_max grows during training).
    t_record : array_like
        Times at which L is recorded (rounded to whole steps; t = 0 allowed).
    method : {"auto", "numpy", "numba"}
        Code path; "auto" uses the compiled loop when numba is available.  Both paths run the same
        algorithm (all gradients of a neuron from the parameters before the step) and agree to
        round-off.
    workers : int, optional
        Sequence only: the most threads (default: the cores this process may use); ``workers=1``
        runs the networks serially.
    max_steps : int
        Cost limit: runs of more than ``max_steps`` GD steps (``rint(t_record[-1] / eta)``) per
        network are refused before any work (default ``DEFAULT_MAX_GD_STEPS`` = 10^7); raise it
        explicitly for longer runs.

    Returns
    -------
    Curve, or a list of Curve (one per network, in order) when ``p`` is a sequence
        ``t`` = steps × η (``t_unit="time"``), ``loss`` = the grid loss mean (f − y)²
        (``loss_factor=1``, no ½), no seeds (one network).  ``meta``: ``family="kernel"``,
        ``model="mlp"``, ``eta``, ``width`` (N), ``gamma0``, ``P`` (grid points), ``method``
        (the code path used: "numpy" or "numba").  ``extras``: ``params`` = the final
        :class:`MLPParams`.

    Raises
    ------
    ValueError
        Bad inputs (non-finite X, y or parameters, times that are not finite, ...), before any
        work; :class:`~scalinglaws.errors.CostLimitError` (a ``ValueError``) beyond ``max_steps``.
    DivergenceError
        If the loss becomes non-finite or exceeds 1e3 × its initial value (η too large).
    """
    if isinstance(p, MLPParams):
        check_int("workers", workers, 1, allow_none=True)
        _check_params(p)
        return _train_one(p, X, y, eta, t_record, method, max_steps)
    return _train_many(p, X, y, eta, t_record, method, workers, max_steps)


def _train_one(p: MLPParams, X, y, eta, t_record, method, max_steps) -> Curve:
    """One network (see :func:`train_gd`); ``p`` already checked."""
    X, y, eta, tr = _check_gd_inputs(X, y, eta, t_record, method, max_steps)
    steps = np.rint(tr / eta).astype(np.int64)
    q = p.copy()
    W, b, a = q.W, q.b, q.a
    P, N, g = X.shape[0], q.N, q.gamma0
    c = 1.0 / (g * N)
    lr = eta * g * g * N
    meta = {"family": "kernel", "model": "mlp", "eta": eta, "width": N, "gamma0": g, "P": P}

    def result(L, params, path):
        return Curve(t=steps * eta, loss=L, t_unit="time", loss_factor=1.0,
                     meta={**meta, "method": path}, extras={"params": params})

    if method == "numba" or (method == "auto" and _numba is not None):
        L = np.empty(steps.size)
        W = np.ascontiguousarray(W)
        s_div, L_div = _numba_kernel()(W, b, a, np.ascontiguousarray(X), y, c, lr, steps, L)
        if s_div >= 0:
            raise DivergenceError(f"GD diverged at step {s_div} (loss {L_div!r}); eta={eta} too large "
                                  "for the top NTK eigenvalue (need eta*lambda_max < 2)")
        return result(L, MLPParams(W, b, a, g), "numba")
    XT = X.T
    L = np.empty(steps.size)
    L0 = None
    j = 0
    s = 0
    while j < steps.size:
        H = X @ W.T + b
        M = H > 0
        Phi = H * M
        r = Phi @ a * c - y
        while j < steps.size and steps[j] == s:
            L[j] = float(r @ r) / P
            j += 1
        if L0 is None:
            L0 = float(r @ r) / P
        if j >= steps.size:
            break
        Lnow = float(r @ r) / P
        if not np.isfinite(Lnow) or Lnow > 1e3 * max(L0, 1e-300):
            raise DivergenceError(f"GD diverged at step {s} (loss {Lnow!r}); eta={eta} too large "
                                  "for the top NTK eigenvalue (need eta*lambda_max < 2)")
        r *= c / P
        G = np.outer(r, a) * M
        ga = Phi.T @ r
        W -= lr * (XT @ G).T
        b -= lr * G.sum(axis=0)
        a -= lr * ga
        s += 1
    return result(L, q, "numpy")


def _train_many(params, X, y, eta, t_record, method, workers, max_steps) -> list[Curve]:
    """Several networks, concurrently in threads (see :func:`train_gd`)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    if isinstance(params, (str, bytes)) or not hasattr(params, "__iter__"):
        _check_params(params)        # raises: names the type, "an MLPParams"
    params = list(params)
    require(len(params) >= 1, "p", params, "an MLPParams or a non-empty sequence of MLPParams")
    for i, p in enumerate(params):
        try:
            _check_params(p)
        except ValueError as e:      # name the network
            raise type(e)(f"p[{i}]: {e}") from None
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = check_int("workers", workers, 1)
    # the shared inputs once, before any network starts (_train_one repeats these cheap checks)
    _check_gd_inputs(X, y, eta, t_record, method, max_steps)
    if workers == 1 or len(params) == 1:
        return [_train_one(p, X, y, eta, t_record, method, max_steps) for p in params]
    if method in ("auto", "numba") and _numba is not None:
        _numba_kernel()        # compile (or load) once before the threads start
    with ThreadPoolExecutor(max_workers=min(int(workers), len(params))) as ex:
        return list(ex.map(lambda p: _train_one(p, X, y, eta, t_record, method, max_steps), params))


def lazy_loss_infinite(t, lam: np.ndarray, power: np.ndarray, eta: float = 0.0) -> np.ndarray:
    """Grid loss of lazy training at infinite width, L(t) = Σ_k p_k (1 - η λ_k)^{2 t/η}.

    With the infinite-width NTK the grid operator K/P is circulant, cos kθ and sin kθ are its
    eigenvectors with eigenvalue λ_k (`ntk_mode_spectrum`), and the residual of mode k decays by
    (1 - η λ_k) per GD step; η = 0 gives gradient flow, Σ_k p_k e^{-2 λ_k t}.  ``power`` holds
    p_k = c_k²/2 for k = 1..len(power) (as returned by `circle_target`).
    """
    t = np.asarray(t, dtype=float)
    power = np.asarray(power, dtype=float)
    require(eta >= 0 and np.isfinite(eta), "eta", eta, "a finite float >= 0")
    lk = np.asarray(lam, dtype=float)[1:power.size + 1]
    require(lk.size == power.size, "power.size", power.size, f"<= {np.asarray(lam).size - 1}")
    if eta == 0:
        rate = -2 * lk
    else:
        require(bool(np.all(np.abs(1 - eta * lk) < 1)), "eta", eta, "0 < eta*lambda_k < 2")
        rate = 2 * np.log(np.abs(1 - eta * lk)) / eta
    return np.exp(np.multiply.outer(t, rate)) @ power


def fit_window_from_modes(lam: np.ndarray, k_lo: int, k_hi: int) -> tuple[float, float]:
    """A priori fit window (1/(2λ_{k_lo}), 1/(2λ_{k_hi})): the times at which lazy training
    learns the modes k_lo..k_hi (mode k decays as e^{-2λ_k t})."""
    lam = np.asarray(lam, dtype=float)
    require(isinstance(k_lo, (int, np.integer)) and 1 <= k_lo, "k_lo", k_lo, "an integer >= 1")
    require(isinstance(k_hi, (int, np.integer)) and k_lo < k_hi < lam.size, "k_hi", k_hi,
            f"an integer in ({k_lo}, {lam.size})")
    return float(1 / (2 * lam[k_lo])), float(1 / (2 * lam[k_hi]))


def lazy_fit_window(lam: np.ndarray, power: np.ndarray, beta: float, k_lo: int, k_hi: int,
                    eta: float = 0.0, tol: float = 0.03,
                    n_grid: int = 2000) -> tuple[tuple[float, float], str]:
    """Fit window for a time exponent, fixed from the exact lazy (infinite-width) loss alone.

    Rule (decided before any rich run, see section 4.5):

    (a) keep the a priori window `fit_window_from_modes` (k_lo, k_hi) if the least-squares
        exponent of `lazy_loss_infinite` on it is within ``tol`` of ``beta``;
    (b) otherwise take the longest stretch (largest t_b/t_a) of a log grid on
        [1/(2λ_{k_lo}), 1/(2λ_{k_max})] (k_max = ``power.size``) on which the local exponent
        -d log L/d log t of the lazy loss is within ``tol`` of ``beta`` at every grid point.

    Returns ``((t_a, t_b), rule)`` with rule ``"a priori"`` or ``"local exponent"``.  Raises
    ``ValueError`` if no grid stretch satisfies (b).  The lazy exponent on a rule-(b) window is
    within ``tol`` of ``beta`` by construction, so it is no test of the lazy theory.
    """
    from scalinglaws.analysis.fits import fit_power_law

    lam = np.asarray(lam, dtype=float)
    power = np.asarray(power, dtype=float)
    require(np.isfinite(beta) and beta > 0, "beta", beta, "a finite float > 0")
    require(np.isfinite(tol) and tol > 0, "tol", tol, "a finite float > 0")
    require(isinstance(n_grid, (int, np.integer)) and n_grid >= 10, "n_grid", n_grid, "an integer >= 10")
    w0 = fit_window_from_modes(lam, k_lo, k_hi)
    require(power.size > k_hi, "power.size", power.size, f"> k_hi = {k_hi}")
    t = np.geomspace(w0[0], 1 / (2 * lam[power.size]), n_grid)
    L = lazy_loss_infinite(t, lam, power, eta)
    if abs(-fit_power_law(t, L, w0).slope - beta) <= tol:
        return w0, "a priori"
    ok = np.abs(-np.gradient(np.log(L), np.log(t)) - beta) <= tol
    # maximal runs of True: starts and ends from the edges of the padded indicator
    edges = np.diff(np.concatenate([[0], ok.astype(int), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    if starts.size == 0 or np.all(starts == ends):
        raise ValueError(f"no time stretch on which the lazy local exponent is within {tol} of "
                         f"beta = {beta}: raise kmax (power.size) or tol")
    i = int(np.argmax(np.log(t[ends]) - np.log(t[starts])))
    return (float(t[starts[i]]), float(t[ends[i]])), "local exponent"


def _seed_exponents(chi, name: str) -> np.ndarray:
    chi = np.asarray(chi, dtype=float)
    require(chi.ndim == 1 and chi.size >= 2 and bool(np.all(np.isfinite(chi))), name, chi,
            "a 1-d array of >= 2 finite per-seed exponents")
    return chi


def gap_exceeds_spread(chi_rich, chi_lazy) -> tuple[bool, float, float]:
    """Decision of section 4.5's hard-target checks: is rich training faster than lazy training
    by more than the seed spread?

    ``chi_rich``: per-seed fitted exponents of the rich runs.  ``chi_lazy``: either a scalar (the
    exact infinite-width lazy exponent, no spread) or per-seed lazy exponents of the same
    initialisations (paired).  Scalar: gap = mean(χ_rich) − χ_lazy, spread = s.d.(χ_rich);
    paired: d = χ_rich − χ_lazy per seed, gap = mean(d), spread = s.d.(d) (sample s.d., ddof=1).
    Passes when gap ≥ spread (``checks.passes("ge", spread, gap, 0)``).  Returns
    ``(passed, gap, spread)``.  Equal rich and lazy exponents (gap ≈ 0) fail it.
    """
    from scalinglaws.book.checks import passes

    chi_rich = _seed_exponents(chi_rich, "chi_rich")
    if np.ndim(chi_lazy) == 0:
        gap, spread = float(chi_rich.mean() - float(chi_lazy)), float(chi_rich.std(ddof=1))
    else:
        chi_lazy = _seed_exponents(chi_lazy, "chi_lazy")
        require(chi_lazy.shape == chi_rich.shape, "chi_lazy", chi_lazy.shape,
                f"a scalar or one exponent per seed {chi_rich.shape}")
        d = chi_rich - chi_lazy
        gap, spread = float(d.mean()), float(d.std(ddof=1))
    return passes("ge", spread, gap, 0.0)[0], gap, spread


def agree_within_spread(chi_rich, chi_lazy: float) -> tuple[bool, float, float]:
    """Decision of section 4.5's easy-target check: ``|mean(χ_rich) − χ_lazy| ≤ s.d.(χ_rich)``.

    A null test ("no difference within the seed spread"; the spread is the sample s.d. over seeds,
    which does not shrink with more seeds, so a lag smaller than the spread always passes).  Returns
    ``(passed, |gap|, spread)``.  Rich exponents that differ from ``chi_lazy`` by more than their
    spread (e.g. the hard-task law 2β/(1+β) continued to β > 1) fail it.
    """
    from scalinglaws.book.checks import passes

    chi_rich = _seed_exponents(chi_rich, "chi_rich")
    require(np.ndim(chi_lazy) == 0 and np.isfinite(chi_lazy), "chi_lazy", chi_lazy, "a finite scalar")
    diff, spread = float(abs(chi_rich.mean() - float(chi_lazy))), float(chi_rich.std(ddof=1))
    return passes("le", spread, diff, 0.0)[0], diff, spread


def record_times(window: tuple[float, float], eta: float, n_log: int = 60, n_window: int = 30) -> np.ndarray:
    """Times at which section 4.5 records the loss of a run fitted on ``window`` = (t_a, t_b):
    ``n_log`` log-spaced times from one step (η) to t_b, densified by ``n_window`` log-spaced
    times inside the window, rounded to whole GD steps and made unique (t = steps × η)."""
    t_a, t_b = (check_real("window[0]", window[0], 0.0, lo_open=True),
                check_real("window[1]", window[1], 0.0, lo_open=True))
    require(t_a < t_b, "window", (t_a, t_b), "(t_a, t_b) with 0 < t_a < t_b")
    eta = check_real("eta", eta, 0.0, lo_open=True)
    check_int("n_log", n_log, 2)
    check_int("n_window", n_window, 2)
    return np.unique(np.rint(np.concatenate([np.geomspace(eta, t_b, n_log), np.geomspace(t_a, t_b, n_window)])
                             / eta)) * eta


def window_exponent(t, L, window: tuple[float, float]) -> float:
    """Time exponent χ = −slope of the least-squares fit log L = c − χ log t on ``window``
    (:func:`scalinglaws.analysis.fits.fit_power_law`): the exponent section 4.5 fits to every run."""
    from scalinglaws.analysis.fits import fit_power_law

    return -fit_power_law(t, L, window).slope


def lazy_loss_linearised(ev, V, y, t, eta: float) -> np.ndarray:
    """Grid loss of the linearised (γ₀ → 0) GD dynamics with a fixed kernel, from the eigenpairs
    (``ev``, ``V``) of K/P (``numpy.linalg.eigh``; P = len(y)):
    L(t) = (1/P) Σ_i (V_iᵀ y)² abs(1 − η μ_i)^{2 rint(t/η)}, the residual r_{s+1} = (1 − ηK/P) r_s of
    full-batch GD from f = 0 (t = steps × η, no ½).  With the infinite-width K this is
    :func:`lazy_loss_infinite` (on the target's modes); with an empirical K it is the finite-width
    lazy limit of section 4.5."""
    ev = check_array("ev", ev, ndim=1)
    V = check_array("V", V, shape=(ev.size, ev.size))
    y = check_array("y", y, shape=(ev.size,))
    t = check_array("t", t, ndim=1)
    eta = check_real("eta", eta, 0.0, lo_open=True)
    return ((V.T @ y)[None, :] ** 2 * np.abs(1 - eta * ev) ** (2 * np.rint(t / eta))[:, None]).sum(1) / ev.size


# ----------------------------------------------------------------------------------------------
# online SGD on fresh samples, test loss on held-out angles (section 4.5)
# ----------------------------------------------------------------------------------------------
def target_coefficients(lam: np.ndarray, beta: float, kmax: int, seed: int = 0, total_power: float = 1.0,
                        phases: str = "zero") -> np.ndarray:
    """Fourier coefficients of the target of :func:`circle_target`, for evaluation at any angle.

    Returns ``coef`` of shape (2, kmax) with
    y(θ) = Σ_{k=1}^{kmax} coef[0, k-1] cos kθ + coef[1, k-1] sin kθ, i.e.
    coef = (c_k cos φ_k, −c_k sin φ_k) for y = Σ c_k cos(kθ + φ_k); the same β, spectrum ``lam``,
    phases (``"zero"``, or ``"random"`` drawn from ``seed`` exactly as :func:`circle_target`) and
    total power.  :func:`fourier_series` evaluates it; it equals ``circle_target(theta, ...)[0]`` up to
    round-off.
    """
    _, power = circle_target(np.zeros(1), lam, beta, kmax, seed, total_power, phases)   # validates
    phi = np.zeros(kmax) if phases == "zero" else np.random.default_rng(seed).uniform(0, 2 * np.pi, kmax)
    c = np.sqrt(2 * power)
    return np.stack([c * np.cos(phi), -c * np.sin(phi)])


def _check_coef(coef) -> np.ndarray:
    coef = check_array("coef", coef, ndim=2, min_size=2)
    require(coef.shape[0] == 2, "coef.shape", coef.shape, "(2, kmax): cosine and sine coefficients of k = 1..kmax")
    return np.ascontiguousarray(coef)


def fourier_series(coef, theta) -> np.ndarray:
    """y(θ) = Σ_k coef[0, k-1] cos kθ + coef[1, k-1] sin kθ (k = 1..kmax) at the angles ``theta``."""
    coef = _check_coef(coef)
    th = check_array("theta", theta)
    k = np.arange(1, coef.shape[1] + 1)
    arg = np.multiply.outer(th, k)
    return np.cos(arg) @ coef[0] + np.sin(arg) @ coef[1]


def held_out_grid(n_test: int) -> tuple[np.ndarray, np.ndarray]:
    """The held-out test angles of :func:`train_online`: θ_j = 2π(j + ½)/n_test, j = 0..n_test−1
    (a uniform grid shifted by half a step), and the inputs X = (cos θ, sin θ), shape (n_test, 2).

    The mean over this grid is the population mean over θ ~ Uniform[0, 2π) up to the quadrature
    error of the grid (exact for trigonometric polynomials of degree < n_test); the training angles
    of online SGD are drawn from the continuum and are never these points (probability zero)."""
    n_test = check_int("n_test", n_test, 4)
    th = 2 * np.pi * (np.arange(n_test) + 0.5) / n_test
    return th, np.stack([np.cos(th), np.sin(th)], axis=1)


_NUMBA_ONLINE = None


def _numba_online():
    """Compile (once) the fused online-SGD block and the test-loss loop (same algorithm as the
    NumPy path of :func:`train_online`)."""
    global _NUMBA_ONLINE
    if _NUMBA_ONLINE is None:
        nb = _numba
        forward = _numba_forward()

        @nb.njit(cache=True, nogil=True)
        def sgd_block(W, b, a, coef, th, c, lr, lim, H, Xb, yb, r):  # pragma: no cover - compiled
            S, B = th.shape
            N, K = a.shape[0], coef.shape[1]
            for s in range(S):
                for q in range(B):
                    x0, x1 = np.cos(th[s, q]), np.sin(th[s, q])
                    ck, sk, yq = x0, x1, 0.0          # cos kθ, sin kθ by rotation, k = 1..K
                    for k in range(K):
                        yq += coef[0, k] * ck + coef[1, k] * sk
                        ck, sk = ck * x0 - sk * x1, sk * x0 + ck * x1
                    Xb[q, 0], Xb[q, 1], yb[q], r[q] = x0, x1, yq, 0.0
                for i in range(N):
                    w0, w1, bi, ai = W[i, 0], W[i, 1], b[i], a[i]
                    for q in range(B):
                        h = w0 * Xb[q, 0] + w1 * Xb[q, 1] + bi
                        H[i, q] = h
                        if h > 0.0:
                            r[q] += ai * h
                Lb = 0.0
                for q in range(B):
                    r[q] = r[q] * c - yb[q]
                    Lb += r[q] * r[q]
                if not np.isfinite(Lb) or Lb > lim * B:
                    return s
                for q in range(B):
                    r[q] *= c / B
                for i in range(N):
                    ai = a[i]
                    g0 = 0.0
                    g1 = 0.0
                    gb = 0.0
                    ga = 0.0
                    for q in range(B):
                        h = H[i, q]
                        if h > 0.0:
                            rq = r[q]
                            ga += h * rq
                            g0 += rq * Xb[q, 0]
                            g1 += rq * Xb[q, 1]
                            gb += rq
                    W[i, 0] -= lr * ai * g0
                    W[i, 1] -= lr * ai * g1
                    b[i] -= lr * ai * gb
                    a[i] = ai - lr * ga
            return -1

        @nb.njit(cache=True, nogil=True)
        def test_loss(W, b, a, X, y, c):  # pragma: no cover - compiled
            n = X.shape[0]
            f = np.empty(n)
            forward(W, b, a, X, f)
            L = 0.0
            for q in range(n):
                d = f[q] * c - y[q]
                L += d * d
            return L / n

        _NUMBA_ONLINE = (sgd_block, test_loss)
    return _NUMBA_ONLINE


def _online_numpy_block(W, b, a, coef, th, c, lr, lim) -> int:
    """NumPy path of one block of online SGD steps (angles ``th``, shape (steps, B)); returns the
    index of a step whose batch loss mean (f − y)² is non-finite or above ``lim``, or -1."""
    k = np.arange(1, coef.shape[1] + 1)
    B = th.shape[1]
    for s in range(th.shape[0]):
        X = np.stack([np.cos(th[s]), np.sin(th[s])], axis=1)
        arg = np.multiply.outer(th[s], k)
        y = np.cos(arg) @ coef[0] + np.sin(arg) @ coef[1]
        H = X @ W.T + b
        M = H > 0
        Phi = H * M
        r = Phi @ a * c - y
        if not np.isfinite(r @ r) or r @ r > lim * B:
            return s
        r *= c / B
        G = np.outer(r, a) * M
        ga = Phi.T @ r
        W -= lr * (X.T @ G).T
        b -= lr * G.sum(axis=0)
        a -= lr * ga
    return -1


def _online_one(p: MLPParams, coef, eta, steps, batch, seed, Xt, yt, block, path, bar) -> tuple:
    """One network of :func:`train_online` (inputs already checked): (test losses, final params)."""
    q = p.copy()
    W, b, a = np.ascontiguousarray(q.W), q.b, q.a
    g, N = q.gamma0, q.N
    c, lr = 1.0 / (g * N), eta * g * g * N
    rng = np.random.default_rng(seed)
    if path == "numba":
        sgd_block, test_loss = _numba_online()
        H, Xb, yb, r = np.empty((N, batch)), np.empty((batch, 2)), np.empty(batch), np.empty(batch)
        tloss = lambda: test_loss(W, b, a, Xt, yt, c)  # noqa: E731
    else:
        tloss = lambda: float(np.mean((np.maximum(Xt @ W.T + b, 0.0) @ a * c - yt) ** 2))  # noqa: E731
    L = np.empty(steps.size)
    L0 = tloss()
    lim = 1e3 * max(L0, 1e-300)
    if path == "numba":
        step = lambda th: sgd_block(W, b, a, coef, th, c, lr, lim, H, Xb, yb, r)  # noqa: E731
    else:
        step = lambda th: _online_numpy_block(W, b, a, coef, th, c, lr, lim)  # noqa: E731
    s = 0
    for j, target in enumerate(steps):
        while s < target:
            n = int(min(block, target - s))
            bad = step(rng.random((n, batch)) * (2 * np.pi))     # fresh angles, one row per step
            if bad >= 0:
                raise DivergenceError(f"online SGD diverged at step {s + bad} (minibatch loss non-finite or "
                                      f"above 1e3 x the test loss at t = 0); eta={eta} too large")
            s += n
            if bar is not None:
                bar.update(n)
        L[j] = tloss()
        if not np.isfinite(L[j]) or L[j] > 1e3 * max(L0, 1e-300):
            raise DivergenceError(f"online SGD diverged at step {s} (test loss {L[j]!r} vs {L0!r} at t = 0); "
                                  f"eta={eta} too large (need eta*lambda_max < 2)")
    return L, MLPParams(W, b, a, g)


def train_online(p, coef, eta: float, t_record, *, batch: int, seed, n_test: int = 1024,
                 method: str = "auto", workers: int | None = None, block: int = 4096,
                 max_steps: int = DEFAULT_MAX_ONLINE_STEPS) -> Curve:
    """Online SGD on fresh samples with the mean-field step, and the loss on held-out test angles.

    Every step draws ``batch`` fresh angles θ_b ~ Uniform[0, 2π) (inputs x_b = (cos θ_b, sin θ_b),
    labels y(θ_b) from the Fourier coefficients ``coef``) and descends half the minibatch squared
    error with the mean-field step η γ₀² N,

        θ ← θ − η γ₀² N ∇_θ ½ (1/B) Σ_b (f(x_b) − y(θ_b))²,      time t = steps × η,

    so that the expected update is that of population gradient descent (full-batch GD on the
    continuum of angles).  At the record times the **test loss** L = mean over the ``n_test``
    held-out angles of :func:`held_out_grid` of (f − y)² (no ½) is evaluated.

    Parameters
    ----------
    p : MLPParams or sequence of MLPParams
        Initial parameters (not modified).  A sequence trains independent networks (e.g. seeds),
        concurrently in threads (the compiled loop releases the GIL); each exactly as if trained
        alone.  Every input is checked for every network before any network starts.
    coef : array_like, shape (2, kmax)
        The target's cosine and sine coefficients (:func:`target_coefficients`).
    eta : float
        Time per step (stability: η λ_max < 2 for the top eigenvalue of the kernel operator).
    t_record : array_like
        Non-decreasing times >= 0 at which the test loss is recorded (rounded to whole steps).
    batch : int
        Fresh samples per step, B >= 1.
    seed : int or sequence of int
        Seed of each network's data stream, ``numpy.random.default_rng(seed)``: one int for one
        network, one per network for a sequence.  The angles of a step are the next row of
        ``rng.random((steps, B)) * 2π``, so the numbers do not depend on ``block`` or ``workers``.
    n_test : int
        Held-out test angles (default 1024).
    method : {"auto", "numpy", "numba"}
        Code path; "auto" uses the compiled loop when numba is available.  Both run the same
        algorithm (all gradients from the parameters before the step) and agree to round-off.
    workers : int, optional
        Sequence only: the most threads (default: the cores this process may use).
    block : int
        Steps whose angles are drawn at once (memory ``block × B`` floats; no effect on results).
    max_steps : int
        Cost limit: SGD steps ``rint(t_record[-1] / eta)`` summed over the networks; refused
        before any work above it (default ``DEFAULT_MAX_ONLINE_STEPS`` = 10^7).

    Returns
    -------
    Curve
        ``t`` = steps × η (``t_unit="time"``), ``loss`` = test loss mean (f − y)² (``loss_factor=1``;
        for a sequence the mean over networks, with ``seeds`` = the per-network losses (networks ×
        times) and ``sem``).  ``meta``: ``family="kernel"``, ``model="mlp"``,
        ``training="online SGD"``, ``eta``, ``batch``, ``width``, ``gamma0``, ``n_test``,
        ``seed`` (the data seeds), ``method``.  ``extras``: ``params`` = the final
        :class:`MLPParams` (a list for a sequence).

    Raises
    ------
    ValueError
        Bad inputs, before any work; :class:`~scalinglaws.errors.CostLimitError` (a ``ValueError``)
        beyond ``max_steps``.
    DivergenceError
        A minibatch loss mean (f − y)² or a test loss that is non-finite or above 1e3 × the test
        loss at t = 0.
    """
    import os

    single = isinstance(p, MLPParams)
    if single:
        params = [_check_params(p)]
        require(is_int(seed) and seed >= 0, "seed", seed, "an integer >= 0 (one network)")
        seeds = [int(seed)]
    else:
        if isinstance(p, (str, bytes)) or not hasattr(p, "__iter__"):
            _check_params(p)
        params = list(p)
        require(len(params) >= 1, "p", params, "an MLPParams or a non-empty sequence of MLPParams")
        for i, pi in enumerate(params):
            try:
                _check_params(pi)
            except ValueError as e:
                raise type(e)(f"p[{i}]: {e}") from None
        ok = (not isinstance(seed, (str, bytes)) and hasattr(seed, "__len__") and len(seed) == len(params)
              and all(is_int(s) and s >= 0 for s in seed))
        require(ok, "seed", _short(seed), f"a sequence of {len(params)} integers >= 0 (one per network)")
        seeds = [int(s) for s in seed]
    coef = _check_coef(coef)
    eta = check_real("eta", eta, 0.0, lo_open=True)
    batch = check_int("batch", batch, 1)
    n_test = check_int("n_test", n_test, 4)
    block = check_int("block", block, 1)
    check_choice("method", method, ("auto", "numpy", "numba"))
    require(method != "numba" or _numba is not None, "method", method, "'numpy' (numba not installed)")
    check_int("workers", workers, 1, allow_none=True)
    max_steps = check_int("max_steps", max_steps, 1)
    tr = check_array("t_record", t_record, ndim=1, min_size=1)
    require(bool(np.all(tr >= 0)) and bool(np.all(np.diff(tr) >= 0)), "t_record",
            _short(tr.tolist()), "a non-empty non-decreasing 1-d array of finite times >= 0")
    steps = np.rint(tr / eta).astype(np.int64)
    check_cost("t_record", f"[..., {tr[-1]:.6g}]", float(steps[-1]) * len(params), max_steps,
               what=f"SGD steps (t_record[-1]/eta = {tr[-1]:.4g}/{eta:.4g}, times {len(params)} networks)",
               limit_name="max_steps")
    path = "numba" if (method == "numba" or (method == "auto" and _numba is not None)) else "numpy"
    th_t, Xt = held_out_grid(n_test)
    yt = fourier_series(coef, th_t)
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if path == "numba":
        _numba_online()                          # compile (or load) once, before any thread starts
    from scalinglaws.progress import progress

    total = int(steps[-1]) * len(params)
    with progress(total=total, desc=f"online SGD, {len(params)} network(s)", unit="step") as bar:
        def one(i):
            return _online_one(params[i], coef, eta, steps, batch, seeds[i], Xt, yt, block, path, bar)
        if workers == 1 or len(params) == 1:
            out = [one(i) for i in range(len(params))]
        else:
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(max_workers=min(int(workers), len(params))) as ex:
                out = list(ex.map(one, range(len(params))))
    Ls = np.array([o[0] for o in out])
    gam = [q.gamma0 for q in params]
    meta = {"family": "kernel", "model": "mlp", "training": "online SGD", "eta": eta, "batch": batch,
            "width": params[0].N if len({q.N for q in params}) == 1 else [q.N for q in params],
            "gamma0": gam[0] if len(set(gam)) == 1 else gam, "n_test": n_test,
            "seed": seeds[0] if single else seeds, "method": path}
    if single:
        return Curve(t=steps * eta, loss=Ls[0], t_unit="time", loss_factor=1.0, meta=meta,
                     extras={"params": out[0][1]})
    return Curve(t=steps * eta, loss=Ls.mean(axis=0), t_unit="time", loss_factor=1.0, seeds=Ls, meta=meta,
                 extras={"params": [o[1] for o in out]})


def lazy_loss_online(t, lam: np.ndarray, power: np.ndarray, eta: float, batch: int | None) -> np.ndarray:
    """Expected test loss of lazy (N = ∞) online SGD on the uniform circle, exact.

    In the kernel limit the network function moves by f ← f − (η/B) Σ_b K(·, x_b) r(x_b) with
    the infinite-width NTK K(x, x') = Σ_k λ_k e_k(x) e_k(x') (orthonormal modes 1, √2 cos kθ,
    √2 sin kθ of the uniform measure; λ_k the eigenvalues of the integral operator, e.g.
    :func:`ntk_mode_spectrum` on a fine grid for k well below its Nyquist mode) and residual
    r = f − y.  A mode's coefficient v moves by −ηλ_k (v + ξ) with minibatch noise ξ of variance
    (E_x[e_k(x)² r(x)²] − v²)/B.  For the pair cos kθ, sin kθ the sum e² = 2 is constant, so the
    power C_k = E[v_cos² + v_sin²] of mode k obeys, exactly,

        C_k ← (1 − ηλ_k)² C_k + (η² λ_k² / B) (2 L − C_k),     k >= 1,
        C_0 ← (1 − ηλ_0)² C_0 + (η² λ_0² / B) (L − C_0),       L = Σ_k C_k,

    per step from C_k = ``power`` (c_k²/2, k = 1..len(power); 0 elsewhere), t = steps × η.  The
    noise feeds every mode k = 0..len(lam)−1, also those without target power; ``batch=None``
    (B = ∞) is population gradient descent, :func:`lazy_loss_infinite` with the same ``lam``.

    Parameters
    ----------
    t : array_like
        Non-decreasing times >= 0 (rounded to whole steps).
    lam : array_like
        λ_k for k = 0..K (K >= len(power)), positive.
    power : array_like
        Target power c_k²/2 for k = 1..len(power).
    eta : float
        Time per step, with 0 < η λ_k < 2.
    batch : int or None
        Minibatch size B >= 1; None for B = ∞.

    Returns
    -------
    ndarray
        The expected test loss E[mean (f − y)²] (no ½) at ``t``.
    """
    t = check_array("t", t, ndim=1, min_size=1)
    require(bool(np.all(t >= 0)) and bool(np.all(np.diff(t) >= 0)), "t", _short(t.tolist()),
            "a non-decreasing 1-d array of finite times >= 0")
    lam = check_array("lam", lam, ndim=1, min_size=2)
    require(bool(np.all(lam > 0)), "lam", "not positive", "positive eigenvalues λ_0..λ_K")
    power = check_array("power", power, ndim=1, min_size=1)
    require(power.size < lam.size, "power.size", power.size, f"< lam.size = {lam.size}")
    eta = check_real("eta", eta, 0.0, lo_open=True)
    require(bool(np.all(np.abs(1 - eta * lam) < 1)), "eta", eta, "0 < eta*lambda_k < 2 for every k")
    if batch is None:
        return lazy_loss_infinite(t, lam, power, eta)
    batch = check_int("batch", batch, 1)
    steps = np.rint(t / eta).astype(np.int64)
    C = np.zeros(lam.size)
    C[1:power.size + 1] = power
    decay = (1 - eta * lam) ** 2
    inj = eta ** 2 * lam ** 2 / batch
    mult = np.full(lam.size, 2.0)
    mult[0] = 1.0
    out = np.empty(steps.size)
    s, j = 0, 0
    while j < steps.size:
        L = C.sum()
        while j < steps.size and steps[j] == s:
            out[j] = L
            j += 1
        C = decay * C + inj * (mult * L - C)
        s += 1
    return out


def exponent_gap(chi, chi_ref) -> tuple[float, float, int]:
    """Mean gap between per-seed fitted exponents and a reference, with its standard error: the
    statistic of section 4.5's pre-registered checks.

    ``chi``: per-seed exponents (>= 2 finite values).  ``chi_ref``: a scalar (e.g. the exact lazy
    N = ∞ exponent, no spread): gap = mean(χ) − χ_ref, s.e. = s.d.(χ)/√n; or per-seed exponents of
    the same seeds (paired): d = χ − χ_ref per seed, gap = mean(d), s.e. = s.d.(d)/√n (sample s.d.,
    ddof = 1).  Returns ``(gap, se, n)``.  Unlike :func:`gap_exceeds_spread`, whose spread does not
    shrink with more seeds, a rule "gap >= 3 s.e." tightens with n.
    """
    chi = _seed_exponents(chi, "chi")
    if np.ndim(chi_ref) == 0:
        require(bool(np.isfinite(chi_ref)), "chi_ref", chi_ref, "a finite scalar or per-seed exponents")
        d = chi - float(chi_ref)
    else:
        ref = _seed_exponents(chi_ref, "chi_ref")
        require(ref.shape == chi.shape, "chi_ref", ref.shape, f"a scalar or one exponent per seed {chi.shape}")
        d = chi - ref
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size)), int(d.size)
