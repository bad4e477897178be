"""Exact finite-size simulation of linear random-feature regression (no time stepping).

Model as in :mod:`scalinglaws.kernel.dmft`: Gaussian features ψ ~ N(0, Λ) in R^M, target
y = w*·ψ + σ ε, student f = (1/√N) w·Aψ with frozen A_ij ~ N(0,1), P training points Ψ ∈ R^{P×M}.
Training: gradient flow on the half empirical loss plus weight decay, from w = 0,

    dw/dt = (1/√N) A (Σ̂ v + Ψ^T ε σ/P) − κ w,       v = w* − A^T w/√N,

(discrete GD: t = steps × η). Writing a = √N w, the dynamics is a linear ODE in R^N with the
symmetric matrix K = A Σ̂ A^T/N; one ``scipy.linalg.eigh`` of K gives a(t) at every time exactly:

    a(t) = U diag[(1 − e^{−(μ+κ)t})/(μ+κ)] U^T b,    b = A(Σ̂ w* + Ψ^T ε σ/P).

With N = ∞ (features used directly, w ∈ R^M) the same holds with w = Ψ^T c/P and the P×P matrix
ΨΨ^T/P; with P = ∞ (population gradient flow) Σ̂ → Λ and the noise averages out.

The test loss (no ½) is L = E_x[(f − y_clean)²] = v^T Λ v; with Langevin noise its expectation over
the noise is added in closed form (Ornstein–Uhlenbeck), see :func:`simulate`.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from scalinglaws.kernel.dmft import _check_langevin, _check_spectrum
from scalinglaws.errors import (DivergenceError, check_array, check_bool, check_cost, check_int, check_real,
                     require)
from scalinglaws.progress import progress
from scalinglaws.result import Curve

#: Default cost limit of :func:`euler_maruyama_langevin`: Euler--Maruyama steps x chains x modes
#: (``rint(t_end/dt) * chains * M``); raise it with ``max_steps=``.
DEFAULT_MAX_EM_WORK = 10 ** 10

__all__ = ["simulate", "ensemble_bias", "gd_flow_bound", "gp_posterior_loss", "gp_posterior_losses",
           "euler_maruyama_langevin",
           "deviation_ratio"]


def _check_count(name: str, value, *, allow_inf: bool) -> float:
    """A size such as N or P: an integer >= 1 (an int, or an integer-valued float such as 100.0),
    or ``numpy.inf`` when ``allow_inf``."""
    v = check_real(name, value, 1.0, finite=not allow_inf)
    require(np.isinf(v) or v.is_integer(), name, value,
            "an integer >= 1" + (" or numpy.inf" if allow_inf else ""))
    return v


def _check_t(t) -> np.ndarray:
    t = np.atleast_1d(check_array("t", t, ndim=(0, 1)))
    require(t.size >= 1 and bool(np.all(t >= 0)), "t", float(t.min()) if t.size else t,
            "a non-empty array of finite times >= 0")
    return t


def _phi(x, t):
    """(1 − e^{−x t})/x with its limit t at x = 0 (broadcast)."""
    x = np.asarray(x, dtype=float)
    xt = x * t
    small = np.abs(xt) < 1e-8
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(small, t * (1 - xt / 2), -np.expm1(-xt) / np.where(small, 1.0, x))
    return out


def _gd_phi(x, n, eta):
    """Σ_{m<n} η(1 − ηx)^m = (1 − (1 − ηx)^n)/x, limit n η at x = 0."""
    x = np.asarray(x, dtype=float)
    g = 1 - eta * x
    small = np.abs(eta * x) < 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(small, n * eta, (1 - g ** n) / np.where(small, 1.0, x))


def simulate(lam, w2, N: float, P: float, t, *, draws: int = 8, seed: int = 0,
             sigma2: float = 0.0, kappa: float = 0.0, T: float = 0.0, eta: float | None = None,
             keep_v: bool = False) -> Curve:
    """Exact test-loss trajectories of random-feature regression over independent draws.

    Parameters
    ----------
    lam, w2 : arrays
        λ_k and w*_k² (w*_k = +√w2_k).
    N, P : float
        Width (``numpy.inf``: features used directly) and number of data (``numpy.inf``:
        population gradient flow, no label noise effect).
    t : array_like
        Times (gradient-flow time; with ``eta`` given, t/η is rounded to whole GD steps).
    draws, seed : int
        Independent draws of (A, Ψ, ε, label noise), from ``numpy.random.default_rng(seed)``.
    sigma2, kappa : float
        Label-noise variance and weight decay.
    T : float
        Langevin temperature (requires N = ∞); the expectation over the Langevin noise is added in
        closed form: 2T Σ_i (V^T Λ V)_ii ∫_0^t e^{−2(κ+μ_i)τ} dτ over the eigenpairs (μ_i, V_i) of
        Σ̂ including its null space.
    eta : float, optional
        GD step size; ``None`` means gradient flow. Raises ``DivergenceError`` if
        η (μ_max + κ) ≥ 2.
    keep_v : bool
        Keep the per-draw error vectors (extra ``v``; memory draws × times × M).

    Returns
    -------
    Curve
        ``t`` = the times as given (``t_unit="time"``, gradient-flow time; with ``eta`` the loss
        is that of step ``rint(t/η)``), ``loss_factor=1`` (test loss v^TΛv, no ½, excess over
        σ²), ``loss`` = mean over draws, ``seeds[draw, time]`` = the per-draw losses (always 2-d,
        also for ``draws=1``), ``sem`` over draws (ddof = 1; None for one draw).
        ``meta``: ``family="kernel"``, ``model="random-features"``, ``width`` (N), ``P``,
        ``draws``, ``seed``, ``sigma2``, ``kappa``, ``T``, and ``eta`` for discrete GD (the
        width is not stored as ``N``: kernel curves have no α).
        ``extras``: ``mu_max[draw]`` = μ_max + κ of the training matrix (the stability scale of
        discrete GD; absent for N = P = ∞); ``v[draw, time, mode]`` = the error vectors (only
        with ``keep_v``; for :func:`ensemble_bias`).
    """
    lam, w2 = _check_spectrum(lam, w2)
    t = _check_t(t)
    M = lam.size
    N = _check_count("N", N, allow_inf=True)
    P = _check_count("P", P, allow_inf=True)
    check_int("draws", draws, 1)
    check_int("seed", seed, 0)
    sigma2 = check_real("sigma2", sigma2, 0.0)
    kappa = check_real("kappa", kappa, 0.0)
    T = check_real("T", T, 0.0)
    require(T == 0 or np.isinf(N), "T", T, "T > 0 only with N = inf (Langevin on the features)")
    require(not (np.isinf(N) and np.isinf(P)) or T == 0, "T", T, "T > 0 needs finite P")
    T, kappa = _check_langevin(T, kappa, P, M)
    eta = check_real("eta", eta, 0.0, lo_open=True, allow_none=True)
    keep_v = check_bool("keep_v", keep_v)
    rng = np.random.default_rng(seed)
    ws = np.sqrt(w2)
    sl = np.sqrt(lam)
    L0 = float(w2 @ lam)
    losses = np.empty((draws, t.size))
    mu_max = np.empty(draws)
    vs = [] if keep_v else None
    steps = None if eta is None else np.round(t / eta)
    meta = {"family": "kernel", "model": "random-features", "width": N, "P": P, "draws": draws,
            "seed": seed, "sigma2": sigma2, "kappa": kappa, "T": T}
    if eta is not None:
        meta["eta"] = eta

    def result(extras):
        return Curve(t=t, loss=losses.mean(axis=0), t_unit="time", loss_factor=1.0, seeds=losses,
                     meta=meta, extras=extras)

    if np.isinf(N) and np.isinf(P):
        x = kappa + lam
        v = ws[None, :] * (kappa + lam * np.exp(-np.outer(t, x))) / x
        losses[:] = (v ** 2) @ lam
        return result({"v": np.broadcast_to(v, (draws,) + v.shape).copy()} if keep_v else {})

    for i in progress(range(draws), desc="draws"):
        if np.isinf(N):                       # w ∈ R^M, w = Ψ^T c / P, K = ΨΨ^T/P
            Psi = rng.standard_normal((int(P), M)) * sl
            eps = rng.standard_normal(int(P))
            Z, n = Psi, float(P)
            K = Psi @ Psi.T / P
            b = Psi @ ws + np.sqrt(sigma2) * eps
        else:
            A = rng.standard_normal((int(N), M))
            Z, n = A, float(N)
            if np.isinf(P):
                B = A * lam                   # A Λ
                K = B @ A.T / N
                b = B @ ws
            else:
                Psi = rng.standard_normal((int(P), M)) * sl
                eps = rng.standard_normal(int(P))
                C = Psi @ A.T                 # P×N
                K = C.T @ C / (P * N)
                b = A @ (Psi.T @ (Psi @ ws) / P) + np.sqrt(sigma2) * (C.T @ eps) / P
        mu, U = linalg.eigh(K)
        mu = np.clip(mu, 0.0, None)
        ZL = Z * lam
        g = U.T @ (ZL @ ws) / n                # projections of Z Λ w*/n
        Qu = U.T @ (ZL @ Z.T) @ U / n ** 2     # Z Λ Z^T/n² in the eigenbasis of K
        bu = U.T @ b
        x = mu + kappa
        mu_max[i] = x.max()
        if eta is None:
            coef = _phi(x[None, :], t[:, None])            # (T, n)
        else:
            if eta * x.max() >= 2:
                raise DivergenceError(f"GD diverges: eta*(mu_max+kappa) = {eta * x.max():.3g} >= 2; "
                                      "reduce eta")
            coef = _gd_phi(x[None, :], steps[:, None], eta)
        au = coef * bu[None, :]                            # a(t) in the eigenbasis
        loss = L0 - 2 * au @ g + np.einsum("ti,ij,tj->t", au, Qu, au)
        if T > 0:
            # Langevin part: Σ̂ = V diag(μ_i) V^T; null space has μ = 0
            _, sv, Vt = linalg.svd(Psi, full_matrices=False)
            mu_s = sv ** 2 / P
            diagVLV = (Vt ** 2) @ lam
            rest = lam.sum() - diagVLV.sum()
            var = (_phi(2 * (kappa + mu_s)[None, :], t[:, None]) @ diagVLV
                   + rest * _phi(2 * kappa, t))
            loss = loss + 2 * T * var
        losses[i] = loss
        if keep_v:
            vs.append(ws[None, :] - (au @ U.T) @ Z / n)
    extras = {"mu_max": mu_max}
    if keep_v:
        extras["v"] = np.array(vs)
    return result(extras)


def ensemble_bias(curve: Curve, lam) -> tuple[np.ndarray, np.ndarray]:
    """Unbiased estimate of Σ_k λ_k ⟨v_k⟩² (the loss of the infinitely ensembled predictor) from
    the draws of a :func:`simulate` curve, and its jackknife standard error over draws:
    ``(estimate, se)``, each of shape (times,).

    Estimator: Σ_k λ_k (v̄_k² − s_k²/D) with the sample mean v̄ and variance s² (ddof=1) of the
    error vectors ``curve.v[draw, time, mode]`` over the D draws; needs ``simulate(...,
    keep_v=True)`` and D >= 3.
    """
    require(isinstance(curve, Curve) and "v" in curve.extras, "curve", type(curve).__name__,
            "a Curve of simulate(..., keep_v=True) (with the extra 'v')")
    V = curve.extras["v"]
    lam = check_array("lam", lam, shape=(V.shape[2],))
    D = V.shape[0]
    require(D >= 3, "draws", D, ">= 3 for the bias estimate and its jackknife error")

    def est(X):
        d = X.shape[0]
        return (X.mean(axis=0) ** 2 - X.var(axis=0, ddof=1) / d) @ lam

    full = est(V)
    loo = np.array([est(np.delete(V, i, axis=0)) for i in range(D)])
    se = np.sqrt((D - 1) / D * np.sum((loo - loo.mean(axis=0)) ** 2, axis=0))
    return full, se


def gd_flow_bound(x: float) -> float:
    """Bound on sup_{0<ημ<=x, n>=0} abs((1 − ημ)^n − e^{−nημ}) for discrete GD against gradient flow.

    For 0 <= y = ημ <= 1: 0 <= e^{−y} − (1 − y) <= y²/2, and a^n − b^n <= n(a − b)a^{n−1} for
    a >= b >= 0, so the difference is at most n (y²/2) e^{−y(n−1)} = (y/2)(ny)e^{−ny} e^{y}
    <= y e^{y}/(2e) <= x e^{x}/(2e) = O(η μ_max). With P = ∞ (population gradients) the error
    vectors obey v = f(FΛ)w*, and Λ^{1/2}FΛ^{1/2} is symmetric with the spectrum of K = AΛAᵀ/N,
    so per draw abs(√L_GD(nη) − √L_flow(nη)) <= gd_flow_bound(η μ_max) · √L(0).
    """
    check_real("x", x)
    require(0 <= x <= 1, "x", x, "0 <= eta*mu_max <= 1")
    return float(x * np.exp(x) / (2 * np.e))


def gp_posterior_loss(lam, w2, P: int, sigma2: float, *, draws: int = 8, seed: int = 0) -> np.ndarray:
    """Expected test loss (no ½, excess over σ²) of a GP-posterior sample, per draw of the data:
    the second array of :func:`gp_posterior_losses`."""
    return gp_posterior_losses(lam, w2, P, sigma2, draws=draws, seed=seed)[1]


def gp_posterior_losses(lam, w2, P: int, sigma2: float, *, draws: int = 8,
                        seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Test losses (no ½, excess over σ²) of the GP posterior *mean* and of a posterior *sample*,
    per draw of the data.

    Prior w ~ N(0, I) on the features ψ ~ N(0, Λ) (kernel Σ λ_k φ_k φ_k'), Gaussian likelihood with
    noise σ². Posterior mean m = (Ψ^TΨ + σ² I)^{-1} Ψ^T y, covariance S = σ²(Ψ^TΨ + σ² I)^{-1}.
    Returns ``(mean, sample)``: ``mean = (w* − m)^T Λ (w* − m)``, the loss of the predictor
    ``ψ^T m`` (the Bayes predictor under squared loss), and ``sample = mean + tr(Λ S)``, the
    expected loss of one function drawn from the posterior (what Langevin training at
    T = κ = σ²/P samples at t → ∞).  Same draws as :func:`simulate` with N = ∞ and the same
    seed.
    """
    lam, w2 = _check_spectrum(lam, w2)
    P = _check_count("P", P, allow_inf=False)
    sigma2 = check_real("sigma2", sigma2, 0.0, lo_open=True)
    check_int("draws", draws, 1)
    check_int("seed", seed, 0)
    rng = np.random.default_rng(seed)
    ws, sl, M = np.sqrt(w2), np.sqrt(lam), lam.size
    out = np.empty(draws)
    mean = np.empty(draws)
    for i in range(draws):
        Psi = rng.standard_normal((int(P), M)) * sl
        eps = rng.standard_normal(int(P))
        y = Psi @ ws + np.sqrt(sigma2) * eps
        # work in the P-dim dual: m = Ψ^T (ΨΨ^T + σ² I)^{-1} y
        G = Psi @ Psi.T + sigma2 * np.eye(int(P))
        cf = linalg.cho_factor(G)
        m = Psi.T @ linalg.cho_solve(cf, y)
        err = ws - m
        # tr(Λ S) = tr Λ − tr(Λ Ψ^T G^{-1} Ψ)
        X = linalg.cho_solve(cf, Psi * lam)
        mean[i] = err @ (lam * err)
        out[i] = mean[i] + lam.sum() - np.einsum("pm,pm->", Psi, X)
    return mean, out


def euler_maruyama_langevin(lam, w2, P: int, t_end: float, dt: float, *, T: float, kappa: float,
                            sigma2: float = 0.0, chains: int = 200, seed: int = 0,
                            data_seed: int = 0,
                            max_steps: int = DEFAULT_MAX_EM_WORK) -> tuple[np.ndarray, np.ndarray]:
    """Euler–Maruyama integration of Langevin training (N = ∞) for one data draw, many chains.

    dw = [Σ̂ (w* − w) + Ψ^T ε σ/P − κ w] dt + √(2T) dB. The data draw uses
    ``default_rng(data_seed)`` exactly as the first draw of :func:`simulate`. Returns
    ``(t_grid, loss)`` with ``loss[chain, time]`` the test loss v^TΛv. Integrator error O(dt).
    Cost limit: ``rint(t_end/dt) * chains * M`` (steps x chains x modes) is refused before any work
    beyond ``max_steps`` (default ``DEFAULT_MAX_EM_WORK`` = 10^10).
    """
    lam, w2 = _check_spectrum(lam, w2)
    P = _check_count("P", P, allow_inf=False)
    t_end = check_real("t_end", t_end, 0.0, lo_open=True)
    dt = check_real("dt", dt, 0.0, lo_open=True)
    sigma2 = check_real("sigma2", sigma2, 0.0)
    T, kappa = _check_langevin(T, kappa, P, lam.size)
    chains = check_int("chains", chains, 1)
    check_int("seed", seed, 0)
    check_int("data_seed", data_seed, 0)
    max_steps = check_int("max_steps", max_steps, 1)
    require(dt > 0 and dt * (lam.max() * 10 + kappa) < 1, "dt", dt, "0 < dt small enough for stability")
    check_cost("t_end", t_end, round(t_end / dt) * chains * lam.size, max_steps,
               what=f"Euler-Maruyama updates (t_end/dt x chains x M = {t_end:.4g}/{dt:.4g} x "
               f"{chains} x {lam.size})", limit_name="max_steps")
    rng = np.random.default_rng(data_seed)
    ws, sl, M = np.sqrt(np.asarray(w2, float)), np.sqrt(lam), lam.size
    Psi = rng.standard_normal((int(P), M)) * sl
    eps = rng.standard_normal(int(P))
    S = Psi.T @ Psi / P
    h = S @ ws + np.sqrt(sigma2) * Psi.T @ eps / P
    nrng = np.random.default_rng(seed)
    w = np.zeros((chains, M))
    nsteps = int(round(t_end / dt))
    rec = max(1, nsteps // 50)
    ts, ls = [], []
    for k in range(1, nsteps + 1):
        w = w + dt * (h[None, :] - w @ S - kappa * w) + np.sqrt(2 * T * dt) * nrng.standard_normal((chains, M))
        if k % rec == 0:
            v = ws[None, :] - w
            ts.append(k * dt)
            ls.append((v ** 2) @ lam)
    return np.array(ts), np.array(ls).T


def deviation_ratio(sim_mean, sim_sem, theory, *, z: float = 3.0, rel: float = 0.02) -> float:
    """``max_t abs(sim − theory) / (z·sem + rel·abs(theory))``: ≤ 1 means agreement within z
    standard errors plus a relative finite-size allowance ``rel``.  ``sim_sem=None`` (the
    ``sem`` of a one-draw :class:`~scalinglaws.result.Curve`) counts as zero."""
    if sim_sem is None:
        sim_sem = np.zeros(np.shape(sim_mean))
    sim_mean, sim_sem, theory = (np.asarray(x, dtype=float) for x in (sim_mean, sim_sem, theory))
    z = check_real("z", z, 0.0, lo_open=True)
    rel = check_real("rel", rel, 0.0)
    return float(np.max(np.abs(sim_mean - theory) / (z * sim_sem + rel * np.abs(theory))))
