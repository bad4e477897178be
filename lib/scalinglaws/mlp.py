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

Loss convention: L = mean_grid (f - y)² (no ½), as in chapter 4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import DivergenceError, require

__all__ = ["MLPParams", "init_params", "circle_grid", "forward", "loss", "gradients",
           "empirical_ntk", "ntk_infinite", "ntk_mode_spectrum", "circle_target", "TrainResult",
           "train_gd"]


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
    require(isinstance(N, (int, np.integer)) and N >= 2 and N % 2 == 0, "N", N, "an even integer >= 2")
    require(np.isfinite(gamma0) and gamma0 > 0, "gamma0", gamma0, "a finite float > 0")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    h = N // 2
    W = rng.standard_normal((h, 2))
    b = rng.standard_normal(h)
    a = rng.standard_normal(h)
    return MLPParams(np.concatenate([W, W]), np.concatenate([b, b]), np.concatenate([a, -a]),
                     float(gamma0))


def circle_grid(P: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform grid θ_j = 2πj/P and inputs X = (cos θ, sin θ), shape (P, 2)."""
    require(isinstance(P, (int, np.integer)) and P >= 4, "P", P, "an integer >= 4")
    th = 2 * np.pi * np.arange(P) / P
    return th, np.stack([np.cos(th), np.sin(th)], axis=1)


def _check_X(X) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    require(X.ndim == 2 and X.shape[1] == 2, "X.shape", X.shape, "(P, 2)")
    return X


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


def circle_target(theta, lam: np.ndarray, beta: float, kmax: int, seed: int,
                  total_power: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Target y(θ) = Σ_{k=1}^{kmax} c_k cos(kθ + φ_k) with source exponent β for the spectrum λ.

    The power of mode k in the loss is c_k²/2; we set c_k²/2 ∝ λ_k^β - λ_{k+1}^β so that the tail
    power Σ_{ℓ≥k} c_ℓ²/2 = A(λ_k^β - λ_{kmax+1}^β) ~ λ_k^β (source condition of the notes); in the
    lazy limit L(t) = Σ_k (c_k²/2) e^{-2λ_k t} ~ t^{-β}.  Phases φ_k are uniform (seeded).

    Returns
    -------
    y : ndarray, the target on ``theta``;  power : ndarray (kmax,), c_k²/2 for k = 1..kmax.
    """
    require(np.isfinite(beta) and beta > 0, "beta", beta, "a finite float > 0")
    lam = np.asarray(lam, dtype=float)
    require(isinstance(kmax, (int, np.integer)) and 1 <= kmax <= lam.size - 2, "kmax", kmax,
            f"an integer in [1, {lam.size - 2}]")
    lk = lam[1:kmax + 2]
    require(bool(np.all(lk > 0) and np.all(np.diff(lk) < 0)), "lam", "not decreasing",
            "positive and strictly decreasing on k = 1..kmax+1")
    power = lk[:-1] ** beta - lk[1:] ** beta
    power *= total_power / power.sum()
    phi = np.random.default_rng(seed).uniform(0, 2 * np.pi, kmax)
    k = np.arange(1, kmax + 1)
    th = np.asarray(theta, dtype=float)
    y = np.cos(np.multiply.outer(th, k) + phi) @ np.sqrt(2 * power)
    return y, power


@dataclass(frozen=True)
class TrainResult:
    """Recorded GD run: times ``t`` (= steps × η), grid losses ``loss``, final parameters."""

    t: np.ndarray
    loss: np.ndarray
    params: MLPParams


def train_gd(p: MLPParams, X, y, eta: float, t_record) -> TrainResult:
    """Full-batch GD with the mean-field step: θ ← θ - η γ₀² N ∇θ ½ mean (f-y)².

    Parameters
    ----------
    p : MLPParams
        Initial parameters (not modified).
    X, y : inputs (P, 2) and targets (P,).
    eta : float
        Time step (time per step); stability needs η λ_max < 2 with λ_max the top eigenvalue of K/P.
    t_record : array_like
        Times at which L is recorded (rounded to whole steps; t = 0 allowed).

    Raises
    ------
    DivergenceError
        If the loss becomes non-finite or exceeds 1e3 × its initial value (η too large).
    """
    X = _check_X(X)
    y = np.asarray(y, dtype=float)
    require(y.shape == (X.shape[0],), "y.shape", y.shape, f"({X.shape[0]},)")
    require(np.isfinite(eta) and eta > 0, "eta", eta, "a finite float > 0")
    tr = np.asarray(t_record, dtype=float)
    require(tr.ndim == 1 and tr.size >= 1 and bool(np.all(tr >= 0)) and bool(np.all(np.diff(tr) >= 0)),
            "t_record", "given", "a non-empty non-decreasing 1-d array of times >= 0")
    steps = np.rint(tr / eta).astype(np.int64)
    q = p.copy()
    W, b, a = q.W, q.b, q.a
    P, N, g = X.shape[0], q.N, q.gamma0
    c = 1.0 / (g * N)
    lr = eta * g * g * N
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
    return TrainResult(steps * eta, L, q)
