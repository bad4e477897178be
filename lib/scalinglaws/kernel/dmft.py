"""Mean-field (DMFT) theory of linear random-feature regression trained by gradient flow.

Model (Bordelon, Atanasov & Pehlevan 2024, "A dynamical model of neural scaling laws", ICML; see
the book's sources appendix, chapters/sources_bordelon_atanasov_pehlevan.md): features ψ ∈ R^M with
covariance Λ = diag(λ_k), target y = w*·ψ + σ ε, student f = (1/√N) w·Aψ with a frozen Gaussian
projection A ∈ R^{N×M}, P training points. With the error vector v = w* − A^T w/√N,
F = A^T A/N and Σ̂ = Ψ^T Ψ/P, gradient flow on the *half* empirical squared error (time unit: the
gradient-flow time t; discrete GD with step η has t = steps × η) reads

    dv/dt = −(κ + F Σ̂) v + κ w* − F Ψ^T ε σ/P                       (weight decay κ, label noise σ)

and the test loss is L(t) = E_x[(f − y_clean)²] = v^T Λ v (no ½; add σ² for noisy test labels).

Mean-field equations (paper (B) Eqs. 10–11, in an explicit scalar form derived by us and checked
against simulation in chapter 4): with R = R_1 R_3 the product of the data and width responses,

    H_k(s) = 1/(s + λ_k R(s)),   q = Σ_k λ_k R H_k,   R = (1 − q/P)(1 − q/N).

The full expected loss (not just the bias of the ensembled predictor) is the two-point formula of
chapter 4, Eq. eq-two-point (our derivation; the paper's own C_0 equations were not available),
extended here to label noise and weight decay [derived in the chapter, validated against simulation]:

    L(s, s') = [Num + σ² D_1/(s s')] / (1 − D_1),

inverted in both Laplace variables on a fixed-Talbot contour (Abate & Valkó 2004; Talbot 1979).
"""

from __future__ import annotations

import numpy as np

from scalinglaws.numerics.talbot import invert_laplace, talbot_contour
from scalinglaws.errors import check_array, check_bool, check_int, check_real, require
from scalinglaws.result import Curve

__all__ = ["response", "transfer",
           "loss_laplace", "dmft_loss", "langevin_variance", "early_stopping_optimum"]


def _inv(x: float) -> float:
    return 0.0 if np.isinf(x) else 1.0 / x


def _check_sizes(N: float, P: float) -> tuple[float, float]:
    """Width and number of data: real numbers >= 1 or ``numpy.inf`` (NaN, strings rejected)."""
    N = check_real("N", N, 1.0, finite=False)
    P = check_real("P", P, 1.0, finite=False)
    return N, P


def _require_entries(name: str, arr: np.ndarray, ok, allowed: str) -> None:
    """Raise ``ValueError`` naming the first entry of ``arr`` where ``ok`` is False, e.g.
    ``w2[0]=-1.0 is invalid: ...``."""
    bad = np.flatnonzero(~np.asarray(ok, dtype=bool).ravel())
    if bad.size:
        i = np.unravel_index(int(bad[0]), arr.shape)
        require(False, f"{name}[{', '.join(map(str, i))}]", float(arr[i]), allowed)


def _check_spectrum(lam, w2=None):
    """Eigenvalues: a non-empty 1-d array of finite positive numbers; target weights ``w2``
    (w*_k^2): finite, >= 0, of the same shape."""
    lam = check_array("lam", lam, ndim=1, min_size=1)
    _require_entries("lam", lam, lam > 0, "finite positive eigenvalues lambda_k > 0")
    if w2 is None:
        return lam
    w2 = check_array("w2", w2)
    require(w2.shape == lam.shape, "w2", w2.shape, f"same shape as lam {lam.shape}")
    _require_entries("w2", w2, w2 >= 0, "finite target weights w*_k^2 >= 0")
    return lam, w2


def _check_times(t) -> np.ndarray:
    t = np.atleast_1d(check_array("t", t, ndim=(0, 1)))
    require(t.size >= 1 and bool(np.all(t > 0)), "t", float(t.min()) if t.size else t,
            "a non-empty array of finite times > 0")
    return t


def _check_langevin(T: float, kappa: float, P: float, M: int) -> tuple[float, float]:
    """Temperature and weight decay of Langevin training (features used directly).

    With ``P < M`` the data leave an (M - P)-dimensional null space; without weight decay the
    Langevin noise diffuses freely there and the loss grows without bound (no stationary measure),
    so ``T > 0`` needs ``kappa > 0`` in that case."""
    T = check_real("T", T, 0.0)
    kappa = check_real("kappa", kappa, 0.0)
    require(not (T > 0 and kappa == 0 and P < M), "T", T,
            f"T > 0 needs weight decay kappa > 0 when P={P:g} < M={M} (without it the Langevin "
            "noise diffuses freely in the null space of the data: no stationary measure, the loss "
            "grows without bound); pass kappa > 0, e.g. kappa = T = sigma2/P for the GP posterior")
    return T, kappa



def _newton(sf, x, lam, iP, iN, tol, maxiter):
    """Vectorised Newton iterations for x = R at the nodes ``sf`` starting from ``x``."""
    active = np.ones(sf.shape, dtype=bool)
    for _ in range(maxiter):
        sa, xa = sf[active], x[active]
        h = 1.0 / (sa[:, None] + lam[None, :] * xa[:, None])
        q = xa * (h @ lam)
        dq = sa * ((h * h) @ lam)
        f = xa - (1 - q * iP) * (1 - q * iN)
        fp = 1 + dq * ((1 - q * iN) * iP + (1 - q * iP) * iN)
        step = f / fp
        big = np.abs(step) > 0.5 * np.abs(xa)       # damp steps larger than half of |R|
        step[big] *= 0.5 * np.abs(xa[big]) / np.abs(step[big])
        xa = xa - step
        x[active] = xa
        done = np.abs(step) <= tol * np.maximum(1.0, np.abs(xa))
        idx = np.flatnonzero(active)
        active[idx[done]] = False
        if not active.any():
            return x
    raise RuntimeError(f"response(): Newton did not converge for {int(active.sum())} nodes")


def response(s, lam: np.ndarray, N: float = np.inf, P: float = np.inf, *, tol: float = 1e-12,
             maxiter: int = 100) -> np.ndarray:
    """Solve R(s) = (1 − q/P)(1 − q/N), q = Σ_k λ_k R/(s + λ_k R), for complex s.

    Paper (B) Eq. 11 (R = R_1 R_3; R_1 the data response, R_3 the width response). The physical
    root is the one continuously connected to R = 1 at large abs(s) (for real s > 0 it has
    0 < q < min(N, P)); for small abs(s) Newton from R = 1 can land on a spurious root with
    q > min(N,P), so we follow the branch by continuation along the ray s·c, c = c_0 → 1 in factors
    of 2, starting where abs(s c_0) ≥ 10 (1/N + 1/P) Σ_k λ_k (there R ≈ 1 − O(0.1)).
    """
    N, P = _check_sizes(N, P)
    lam = _check_spectrum(lam)
    check_real("tol", tol, 0.0, lo_open=True)
    check_int("maxiter", maxiter, 1)
    s = np.asarray(s, dtype=complex)
    require(np.all(np.isfinite(s)) and np.all((s.real > 0) | (s.imag != 0)), "s", "array",
            "finite values off the closed negative real axis")
    iP, iN = _inv(P), _inv(N)
    shape = s.shape
    sf = s.reshape(-1)
    x = np.ones_like(sf)
    if iP == 0.0 and iN == 0.0:
        return x.reshape(shape)
    s0 = 10.0 * (iP + iN) * lam.sum()
    c0 = np.maximum(1.0, s0 / np.abs(sf))
    K = int(np.ceil(np.log2(c0.max()))) if c0.max() > 1 else 0
    for k in range(K, 0, -1):
        sel = c0 > 2.0 ** (k - 1)
        if not sel.any():
            continue
        ck = np.minimum(c0[sel], 2.0 ** k)
        x[sel] = _newton(sf[sel] * ck, x[sel], lam, iP, iN, tol ** 0.5, maxiter)
    x = _newton(sf, x, lam, iP, iN, tol, maxiter)
    return x.reshape(shape)


def _response_on_contour(u, lam, N, P, tol: float = 1e-12, maxiter: int = 100):
    """R at the Talbot nodes u[i, j] of a time grid, continued from one time to the next.

    Times are visited in increasing order (nodes shrink like 1/t); each row starts Newton from the
    previous row's root (after intermediate rows if the nodes shrink by more than a factor 2), so
    only the first row needs the continuation along rays of :func:`response`.
    """
    iP, iN = _inv(P), _inv(N)
    R = np.ones(u.shape, dtype=complex)
    if iP == 0.0 and iN == 0.0:
        return R
    scale = np.abs(u).max(axis=1)
    order = np.argsort(-scale)                   # largest nodes (earliest times) first
    prev_u, prev_R = None, None
    for i in order:
        if prev_u is None:
            x = response(u[i], lam, N, P, tol=tol, maxiter=maxiter)
        else:
            x = prev_R.copy()
            ratio = np.abs(prev_u).max() / np.abs(u[i]).max()
            k = int(np.ceil(np.log2(ratio))) if ratio > 2 else 0
            for m in range(k - 1, 0, -1):          # intermediate nodes u_i · 2^m
                x = _newton(u[i] * 2.0 ** m, x, lam, iP, iN, tol ** 0.5, maxiter)
            x = _newton(u[i].copy(), x, lam, iP, iN, tol, maxiter)
        R[i] = x
        prev_u, prev_R = u[i], x
    return R


def transfer(s, lam: np.ndarray, N: float = np.inf, P: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Transfer functions H_k(s) = 1/(s + λ_k R(s)) (paper (B) Eq. 10); returns ``(H, R)``.

    ``H`` has shape ``s.shape + (M,)``. H_k(s) is the deterministic equivalent of
    E[(s + F Σ̂)^{-1}]_kk.
    """
    R = response(s, lam, N, P)
    H = 1.0 / (np.asarray(s, dtype=complex)[..., None] + lam * R[..., None])
    return H, R


def _pair_sums(H1, H2, lam, w2):
    """Σ_k over modes for all node pairs: returns dict of (n1, n2) matrices."""
    A = H1 * lam
    return {
        "lw": (H1 * (lam * w2)) @ H2.T,
        "l2w": (A * (lam * w2)) @ H2.T,
        "l": A @ H2.T,
        "l2": (A * lam) @ H2.T,
    }


def _two_point(S, s1, s2, R1, R2, N, P, sigma2):
    iN, iP = _inv(N), _inv(P)
    RR = R1[:, None] * R2[None, :]
    ss = s1[:, None] * s2[None, :]
    D3 = RR * iN * S["l2"]
    num = S["lw"] + RR * S["l2w"] * iN * S["l"] / (1 - D3)
    D1 = RR * iP * (S["l2"] + ss * iN * S["l"] ** 2 / (1 - D3))
    return num, D1


def loss_laplace(s1, s2, lam, w2, N: float = np.inf, P: float = np.inf,
                 sigma2: float = 0.0) -> np.ndarray:
    """Double Laplace transform L(s, s') of the expected test loss, for all pairs of ``s1 × s2``.

    L(s,s') = [Num + σ² D_1/(s s')]/(1 − D_1) (chapter 4, Eq. eq-two-point; the σ² term is our
    extension, see the chapter). Equals E[w*^T (s+FΣ̂)^{-T} Λ (s'+FΣ̂)^{-1} w*] + label-noise part, to leading order.
    """
    lam, w2 = _check_spectrum(lam, w2)
    N, P = _check_sizes(N, P)
    sigma2 = check_real("sigma2", sigma2, 0.0)
    s1 = np.atleast_1d(np.asarray(s1, dtype=complex))
    s2 = np.atleast_1d(np.asarray(s2, dtype=complex))
    H1, R1 = transfer(s1, lam, N, P)
    H2, R2 = transfer(s2, lam, N, P)
    S = _pair_sums(H1, H2, lam, np.asarray(w2, dtype=float))
    num, D1 = _two_point(S, s1, s2, R1, R2, N, P, sigma2)
    return (num + sigma2 * D1 / (s1[:, None] * s2[None, :])) / (1 - D1)


def dmft_loss(t, lam, w2, N: float = np.inf, P: float = np.inf, *, sigma2: float = 0.0,
              kappa: float = 0.0, n: int = 24, bias: bool = True) -> Curve:
    """Full expected test loss L(t) (no ½) of gradient flow from zero, by double fixed-Talbot inversion.

    Parameters
    ----------
    t : array_like
        Gradient-flow times (> 0).
    lam, w2 : arrays
        Eigenvalues λ_k and target weights w*_k² (see :func:`scalinglaws.spectra.power_law_task`).
    N, P : float
        Width and number of training points (``numpy.inf`` for the limits).
    sigma2 : float
        Label-noise variance σ² (the returned loss excludes the irreducible σ² of noisy test labels).
    kappa : float
        Weight decay κ ≥ 0 on the readout w: dw/dt = −∇(L̂/2) − κ w.
    n : int
        Talbot nodes per variable (upper half-contour); n = 24 gives ~1e-6 relative accuracy.
    bias : bool
        Also compute the bias of the ensembled predictor (extras ``bias`` and ``variance``).

    Returns
    -------
    Curve
        ``t`` (``t_unit="time"``, gradient-flow time), ``loss`` = the full expected excess loss
        E[v^T Λ v] of one model (``loss_factor=1``, no ½), no seeds (a theory).
        ``meta``: ``family="kernel"``, ``model="dmft"``, ``width`` (N), ``P``, ``sigma2``,
        ``kappa``, ``n`` (no ``eta``: gradient flow).  ``extras`` (only with ``bias=True``):
        ``bias`` = Σ_k λ_k ⟨v_k(t)⟩², the loss of the infinitely ensembled predictor, and
        ``variance`` = ``loss − bias``.

    Notes
    -----
    With u = s + κ: L_κ(s,s') = (u u'/(s s')) Num(u,u')/(1−D_1(u,u')) + σ² D_1(u,u')/(s s' (1−D_1)).
    For each t the Talbot sum uses L(s̄,s̄') = conj L(s,s'): 2 Re[dᵀ X d + dᵀ Y d̄] with
    X = L(s_j, s_j'), Y = L(s_j, s̄_j'); cost O(n² M) per time point.
    """
    t = _check_times(t)
    lam, w2 = _check_spectrum(lam, w2)
    N, P = _check_sizes(N, P)
    sigma2 = check_real("sigma2", sigma2, 0.0)
    kappa = check_real("kappa", kappa, 0.0)
    check_int("n", n, 2, 200)
    bias = check_bool("bias", bias)
    s, d = talbot_contour(t, n)
    u = s + kappa
    R = _response_on_contour(u, lam, N, P)              # (T, n)
    H = 1.0 / (u[..., None] + lam * R[..., None])         # (T, n, M)
    out = np.empty(t.size)
    weights = (lam * w2, lam * lam * w2, lam, lam * lam)
    for i in range(t.size):
        Hi, Ri, ui, si, di = H[i], R[i], u[i], s[i], d[i]
        fac = ui / si
        vals = []
        # all four mode sums for the pairs (s_j, s_j') and (s_j, conj s_j') in one matrix product
        left = np.concatenate([Hi * wgt for wgt in weights], axis=0)          # (4n, M)
        right = np.concatenate([Hi, np.conj(Hi)], axis=0)                     # (2n, M)
        prod = left @ right.T                                                  # (4n, 2n)
        for conj in (False, True):
            H2 = np.conj(Hi) if conj else Hi
            R2 = np.conj(Ri) if conj else Ri
            u2 = np.conj(ui) if conj else ui
            s2 = np.conj(si) if conj else si
            blk = prod[:, n:] if conj else prod[:, :n]
            S = {key: blk[q * n:(q + 1) * n] for q, key in enumerate(("lw", "l2w", "l", "l2"))}
            num, D1 = _two_point(S, ui, u2, Ri, R2, N, P, sigma2)
            L = (fac[:, None] * (u2 / s2)[None, :] * num
                 + sigma2 * D1 / (si[:, None] * s2[None, :])) / (1 - D1)
            d2 = np.conj(di) if conj else di
            vals.append(di @ L @ d2)
        out[i] = 2.0 * np.real(vals[0] + vals[1])
    extras = {}
    if bias:
        # ⟨v_k⟩(s) = H_k(s+κ) (s+κ)/s w*_k ; bias = Σ λ_k ⟨v_k(t)⟩²
        vk = 2.0 * np.real(np.einsum("tj,tjk->tk", d * (u / s), H))
        b = (vk ** 2) @ (lam * w2)
        extras = {"bias": b, "variance": out - b}
    meta = {"family": "kernel", "model": "dmft", "width": N, "P": P, "sigma2": sigma2, "kappa": kappa,
            "n": n}
    return Curve(t=t, loss=out, t_unit="time", loss_factor=1.0, meta=meta, extras=extras,
                 series=tuple(extras))


def langevin_variance(t, lam, P: float = np.inf, *, T: float, kappa: float = 0.0,
                      n: int = 24) -> np.ndarray:
    """Extra expected test loss from Langevin noise of temperature T (infinite width, N = ∞).

    For dw = [−∇(L̂/2) − κ w] dt + √(2T) dB (features ψ used directly, N = ∞), the Langevin part of
    the error vector is an Ornstein–Uhlenbeck integral, and its contribution to the loss is
    [derived, chapter sec. 4.1.5]

        V_T(t) = 2T ∫_0^t e^{−2κτ} E tr[Λ e^{−2τΣ̂}] dτ,

    a *one-point* quantity: E tr[Λ (u + Σ̂)^{-1}] = Σ_k λ_k H_k(u). Its Laplace transform is
    V_T(s) = (T/s) Σ_k λ_k H_k((s + 2κ)/2), inverted with fixed Talbot.
    """
    t = _check_times(t)
    lam = _check_spectrum(lam)
    _, P = _check_sizes(np.inf, P)
    T, kappa = _check_langevin(T, kappa, P, lam.size)
    check_int("n", n, 2, 200)

    def F(s):
        H, _ = transfer((s + 2 * kappa) / 2, lam, np.inf, P)
        return (T / s) * (H @ lam)

    return invert_laplace(F, t, n)


def early_stopping_optimum(t, loss) -> tuple[float, float]:
    """Minimum of a sampled loss curve: (t*, L*) by a parabola in log t through the grid minimum.

    The grid must be log-spaced near the minimum; an interior minimum is required.
    """
    t = check_array("t", t, ndim=1, min_size=3)
    loss = check_array("loss", loss, shape=(t.size,))
    require(bool(np.all(t > 0)), "t", float(t.min()), "times > 0 (the parabola is in log t)")
    i = int(np.argmin(loss))
    require(0 < i < t.size - 1, "loss", "curve", "an interior minimum on the time grid")
    x = np.log(t[i - 1:i + 2])
    y = loss[i - 1:i + 2]
    c2, c1, c0 = np.polyfit(x, y, 2)
    if c2 <= 0:
        return float(t[i]), float(loss[i])
    xs = -c1 / (2 * c2)
    return float(np.exp(xs)), float(c0 - c1 ** 2 / (4 * c2))
