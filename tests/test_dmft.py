"""Unit tests of scalinglaws.kernel.dmft: Talbot inversion, response functions, the two-point loss.

Tolerances: Talbot inversion with n = 24 nodes is accurate to ~1e-9 relative for smooth transforms
(Abate & Valko 2004); Monte-Carlo comparisons use k standard errors over draws plus a stated
finite-size allowance for the O(1/N + 1/P) corrections of deterministic equivalents.
"""

import numpy as np
import pytest

from scalinglaws import spectra
from scalinglaws.numerics.talbot import invert_laplace
from scalinglaws.kernel import dmft
@pytest.mark.parametrize("F, f", [
    (lambda s: 1 / (s + 1), lambda t: np.exp(-t)),
    (lambda s: 1 / s**2, lambda t: t),
    (lambda s: 1 / (s * (s + 2)), lambda t: (1 - np.exp(-2 * t)) / 2),
    (lambda s: 1 / np.sqrt(s), lambda t: 1 / np.sqrt(np.pi * t)),
])
def test_talbot_known_transforms(F, f):
    t = np.geomspace(0.01, 100, 9)
    got = invert_laplace(F, t, n=24)
    np.testing.assert_allclose(got, f(t), rtol=1e-8, atol=1e-12)


def test_infinite_limits_closed_form():
    lam, w2 = spectra.power_law_task(300, 2.0, 1.5)
    t = np.geomspace(0.1, 1e4, 11)
    exact = (lam * w2) @ np.exp(-2 * np.outer(lam, t))
    res = dmft.dmft_loss(t, lam, w2, np.inf, np.inf)
    # atol: round-off of the double Talbot sum, ~ eps · e^{4n/5} · L(0) at most (observed ~1e-12)
    np.testing.assert_allclose(res.loss, exact, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(res.bias, exact, rtol=1e-7, atol=1e-10)
    kap = 0.01
    v = (kap + lam[None, :] * np.exp(-np.outer(t, kap + lam))) / (kap + lam)
    exact_k = (v**2) @ (lam * w2)
    np.testing.assert_allclose(dmft.dmft_loss(t, lam, w2, kappa=kap).loss, exact_k, rtol=1e-7, atol=1e-10)


def test_response_physical_root_at_small_s():
    # plain Newton from R = 1 lands on a root with q > min(N, P) here; continuation must not
    lam, _ = spectra.power_law_task(800, 2.0, 1.5)
    N, P = 150, 300
    s = np.array([1e-2, 1e-4, 1e-6])
    R = dmft.response(s, lam, N, P)
    q = R * np.sum(lam / (s[:, None] + lam * R[:, None]), axis=1)
    assert np.all(R.real > 0)
    assert np.all(q.real < min(N, P))
    np.testing.assert_allclose(R, (1 - q / P) * (1 - q / N), rtol=1e-10)


def test_transfer_vs_monte_carlo():
    """H_k(s) against E[(s + F Sigma_hat)^{-1}]_kk at real s over 20 draws.

    Tolerance: 4 standard errors of the draw mean + 5% finite-size allowance (M = 200, N = 60,
    P = 120: the deterministic equivalent has O(1/N) corrections, a few percent here).
    """
    M, N, P, D = 200, 60, 120, 20
    lam, _ = spectra.power_law_task(M, 2.0, 1.5)
    rng = np.random.default_rng(0)
    s_vals = np.array([1e-1, 1e-2])
    acc = np.zeros((D, s_vals.size, M))
    for d in range(D):
        A = rng.standard_normal((N, M))
        Psi = rng.standard_normal((P, M)) * np.sqrt(lam)
        FS = (A.T @ A / N) @ (Psi.T @ Psi / P)
        for i, s in enumerate(s_vals):
            acc[d, i] = np.diag(np.linalg.inv(s * np.eye(M) + FS))
    mc, se = acc.mean(0), acc.std(0, ddof=1) / np.sqrt(D)
    H, _ = dmft.transfer(s_vals, lam, N, P)
    k = slice(0, 100)
    assert np.all(np.abs(H.real[:, k] - mc[:, k]) <= 4 * se[:, k] + 0.05 * mc[:, k])


def test_two_point_vs_monte_carlo():
    """L(s,s') against E[w*^T (s+FS)^{-T} Λ (s'+FS)^{-1} w*] (12 draws); 4 s.e. + 5% allowance."""
    M, N, P, D = 300, 60, 120, 12
    lam, w2 = spectra.power_law_task(M, 2.0, 1.5)
    ws = np.sqrt(w2)
    pairs = [(0.1, 0.1), (0.01, 0.1), (0.01, 0.01)]
    rng = np.random.default_rng(1)
    vals = np.zeros((D, len(pairs)))
    for d in range(D):
        A = rng.standard_normal((N, M))
        Psi = rng.standard_normal((P, M)) * np.sqrt(lam)
        FS = (A.T @ A / N) @ (Psi.T @ Psi / P)
        for i, (s1, s2) in enumerate(pairs):
            x1 = np.linalg.solve(s1 * np.eye(M) + FS, ws)
            x2 = np.linalg.solve(s2 * np.eye(M) + FS, ws)
            vals[d, i] = x1 @ (lam * x2)
    mc, se = vals.mean(0), vals.std(0, ddof=1) / np.sqrt(D)
    th = np.array([dmft.loss_laplace(s1, s2, lam, w2, N, P)[0, 0].real for s1, s2 in pairs])
    assert np.all(np.abs(th - mc) <= 4 * se + 0.05 * mc)


def test_langevin_one_point_equals_two_point_isotropic():
    """V_T from the one-point formula equals 2T∫ L_iso dτ built from the two-point loss (w*² = 1).

    Tolerance 1%: trapezoid error of the τ-integral on 300 log-spaced points.
    """
    from scipy.integrate import cumulative_trapezoid
    lam, _ = spectra.power_law_task(300, 2.0, 1.5)
    P, T, kap = 100, 0.01, 0.01
    t = np.geomspace(0.1, 1e3, 7)
    v1 = dmft.langevin_variance(t, lam, P, T=T, kappa=kap)
    tau = np.geomspace(1e-5, 1e3, 300)
    iso = dmft.dmft_loss(tau, lam, np.ones_like(lam), np.inf, P, bias=False).loss
    tau = np.r_[0.0, tau]
    g = np.r_[lam.sum(), iso] * np.exp(-2 * kap * tau)
    v2 = 2 * T * np.interp(t, tau, cumulative_trapezoid(g, tau, initial=0.0))
    np.testing.assert_allclose(v1, v2, rtol=1e-2)


def test_early_stopping_optimum_parabola():
    t = np.geomspace(1, 100, 21)
    L = 0.3 + (np.log(t) - np.log(10.0)) ** 2
    ts, Ls = dmft.early_stopping_optimum(t, L)
    assert ts == pytest.approx(10.0, rel=1e-10)
    assert Ls == pytest.approx(0.3, rel=1e-10)
    with pytest.raises(ValueError, match="loss"):
        dmft.early_stopping_optimum(t, -np.log(t))


@pytest.mark.parametrize("kw, name", [
    (dict(N=0), "N"), (dict(P=-5), "P"), (dict(kappa=-1.0), "kappa"), (dict(sigma2=-0.1), "sigma2"),
])
def test_bad_inputs(kw, name):
    lam, w2 = spectra.power_law_task(10, 2.0, 1.5)
    with pytest.raises(ValueError, match=name):
        dmft.dmft_loss([1.0], lam, w2, **kw)


def test_bad_task_and_times():
    with pytest.raises(ValueError, match="a="):
        spectra.power_law_task(10, 1.0, 1.5)
    with pytest.raises(ValueError, match="M="):
        spectra.power_law_task(0, 2.0, 1.5)
    lam, w2 = spectra.power_law_task(10, 2.0, 1.5)
    with pytest.raises(ValueError, match="t="):
        dmft.dmft_loss([0.0, 1.0], lam, w2)
