"""Unit tests of scalinglaws.kernel.randomfeatures (exact finite-size simulation)."""

import numpy as np
import pytest
from scipy.linalg import expm

from scalinglaws import spectra
from scalinglaws.kernel import dmft
from scalinglaws.kernel import randomfeatures as rf
from scalinglaws.errors import DivergenceError


def test_infinite_limits_closed_form():
    lam, w2 = spectra.power_law_task(50, 2.0, 1.5)
    t = np.geomspace(0.1, 100, 5)
    r = rf.simulate(lam, w2, np.inf, np.inf, t, draws=2)
    np.testing.assert_allclose(r.seeds[0], (lam * w2) @ np.exp(-2 * np.outer(lam, t)), rtol=1e-12)


def test_gradient_flow_matches_matrix_exponential():
    """Eigendecomposition solution vs expm of the full M×M dynamics, same draws (exact, 1e-8)."""
    M, N, P, seed = 40, 15, 25, 3
    lam, w2 = spectra.power_law_task(M, 2.0, 1.5)
    ws = np.sqrt(w2)
    sig2, kap = 0.3, 0.05
    t = np.array([0.5, 5.0, 50.0])
    r = rf.simulate(lam, w2, N, P, t, draws=1, seed=seed, sigma2=sig2, kappa=kap)
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((N, M))
    Psi = rng.standard_normal((P, M)) * np.sqrt(lam)
    eps = rng.standard_normal(P)
    F, S = A.T @ A / N, Psi.T @ Psi / P
    J = kap * np.eye(M) + F @ S
    h = kap * ws - F @ Psi.T @ eps * np.sqrt(sig2) / P
    # dv/dt = -J v + h, v(0) = w*  ->  v(t) = e^{-Jt} w* + J^{-1}(I - e^{-Jt}) h
    ref = []
    for tt in t:
        E = expm(-J * tt)
        v = E @ ws + np.linalg.solve(J, (np.eye(M) - E) @ h)
        ref.append(v @ (lam * v))
    np.testing.assert_allclose(r.seeds[0], ref, rtol=1e-8)


def test_gd_matches_explicit_iteration():
    M, N, P, seed, eta = 30, 10, 20, 4, 0.2
    lam, w2 = spectra.power_law_task(M, 2.0, 1.5)
    r = rf.simulate(lam, w2, N, P, np.array([eta * 7, eta * 30]), draws=1, seed=seed, eta=eta)
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((N, M))
    Psi = rng.standard_normal((P, M)) * np.sqrt(lam)
    ws = np.sqrt(w2)
    w = np.zeros(N)
    out = []
    for n in range(1, 31):
        v = ws - A.T @ w / np.sqrt(N)
        w = w + eta * A @ (Psi.T @ (Psi @ v) / P) / np.sqrt(N)
        if n in (7, 30):
            v = ws - A.T @ w / np.sqrt(N)
            out.append(v @ (lam * v))
    np.testing.assert_allclose(r.seeds[0], out, rtol=1e-10)


def test_gd_divergence():
    lam, w2 = spectra.power_law_task(20, 2.0, 1.5)
    with pytest.raises(DivergenceError, match="eta"):
        rf.simulate(lam, w2, 10, 20, [10.0], draws=1, eta=50.0)


def test_langevin_closed_form_vs_euler_maruyama():
    """Closed-form Langevin expectation vs Euler–Maruyama (400 chains, one data draw).

    Tolerance: 4 standard errors over chains + 2% for the O(dt) Euler–Maruyama bias (dt = 1e-3,
    λ_max + κ ≈ 1: relative bias ~ dt·λ_max ≲ 0.5%).
    """
    M, P, T, kap, s2 = 12, 8, 0.05, 0.05, 0.5
    lam, w2 = spectra.power_law_task(M, 2.0, 1.5)
    ts, L = rf.euler_maruyama_langevin(lam, w2, P, 5.0, 1e-3, T=T, kappa=kap, sigma2=s2, chains=400,
                                       seed=1, data_seed=7)
    r = rf.simulate(lam, w2, np.inf, P, ts, draws=1, seed=7, sigma2=s2, kappa=kap, T=T)
    mean, se = L.mean(0), L.std(0, ddof=1) / np.sqrt(L.shape[0])
    assert np.all(np.abs(mean - r.seeds[0]) <= 4 * se + 0.02 * r.seeds[0])


def test_langevin_long_time_is_gp_posterior():
    M, P, s2 = 60, 30, 0.4
    lam, w2 = spectra.power_law_task(M, 2.0, 1.5)
    T = kap = s2 / P
    r = rf.simulate(lam, w2, np.inf, P, [1e9], draws=3, seed=11, sigma2=s2, kappa=kap, T=T)
    gp = rf.gp_posterior_loss(lam, w2, P, s2, draws=3, seed=11)
    np.testing.assert_allclose(r.seeds[:, 0], gp, rtol=1e-8)


def test_bias_estimator_unbiased_on_constant():
    lam, w2 = spectra.power_law_task(20, 2.0, 1.5)
    r = rf.simulate(lam, w2, np.inf, np.inf, [1.0, 2.0], draws=4, keep_v=True)
    b, se = rf.ensemble_bias(r, lam)
    np.testing.assert_allclose(b, r.loss, rtol=1e-12)
    assert np.all(se < 1e-12)
    with pytest.raises(ValueError, match="keep_v=True"):
        rf.ensemble_bias(rf.simulate(lam, w2, np.inf, np.inf, [1.0], draws=4), lam)


def test_deviation_ratio_and_bad_inputs():
    assert rf.deviation_ratio([1.0], [0.1], [1.2], z=2, rel=0.0) == pytest.approx(1.0)
    lam, w2 = spectra.power_law_task(10, 2.0, 1.5)
    with pytest.raises(ValueError, match="N="):
        rf.simulate(lam, w2, 0, 10, [1.0])
    with pytest.raises(ValueError, match="T="):
        rf.simulate(lam, w2, 5, 10, [1.0], T=0.1)
    with pytest.raises(ValueError, match="draws="):
        rf.simulate(lam, w2, 5, 10, [1.0], draws=0)
    with pytest.raises(ValueError, match="sigma2="):
        rf.gp_posterior_loss(lam, w2, 5, 0.0)


def test_gd_flow_bound_is_a_bound_and_tight_to_a_constant():
    """sup_{y<=x, n} |(1−y)^n − e^{−ny}| on a dense grid stays below x e^x/(2e) and within a factor
    e^x of it (the bound is O(ημ_max), not loose by orders of magnitude)."""
    for x in (0.01, 0.1, 0.5, 1.0):
        y = np.linspace(0, x, 401)[:, None]
        n = np.arange(0, 2000)[None, :]
        sup = np.max(np.abs((1 - y) ** n - np.exp(-n * y)))
        assert sup <= rf.gd_flow_bound(x)
        assert sup >= rf.gd_flow_bound(x) / np.exp(x) / 1.05
    with pytest.raises(ValueError, match="x="):
        rf.gd_flow_bound(1.5)


def test_discrete_gd_within_flow_bound_per_draw():
    """P = ∞: per draw, |√L_GD − √L_flow| at t = steps·η is below gd_flow_bound(η μ_max)·√L(0)."""
    lam, w2 = spectra.power_law_task(60, 2.0, 1.5)
    eta = 0.4
    t = eta * np.array([1, 2, 5, 10, 30, 100, 300])
    gd = rf.simulate(lam, w2, 20, np.inf, t, draws=3, seed=2, eta=eta)
    fl_ = rf.simulate(lam, w2, 20, np.inf, t, draws=3, seed=2)
    np.testing.assert_array_equal(gd.mu_max, fl_.mu_max)             # same draws
    for d in range(3):
        bound = rf.gd_flow_bound(eta * gd.mu_max[d]) * np.sqrt(w2 @ lam)
        assert np.max(np.abs(np.sqrt(gd.seeds[d]) - np.sqrt(fl_.seeds[d]))) <= bound
    assert np.max(np.abs(gd.seeds / fl_.seeds - 1)) > 1e-3                # the two differ visibly


def test_kernel_family_returns_comparable_curves():
    """Every kernel simulator and theory returns a Curve in gradient-flow time with loss factor 1,
    so a random-feature simulation and the DMFT theory compare directly (same t, same convention),
    and the per-draw statistics are those of the old result classes (mean, s.e. with ddof = 1)."""
    from scalinglaws.conventions import FAMILIES
    from scalinglaws.kernel import featurelearning as fl, mlp
    from scalinglaws.result import Curve

    lam, w2 = spectra.power_law_task(200, 2.0, 1.5)
    t = np.geomspace(1.0, 1e3, 6)
    sim = rf.simulate(lam, w2, 50, np.inf, t, draws=8, seed=1, keep_v=True)
    th = dmft.dmft_loss(t, lam, w2, 50, np.inf, n=16)
    th_mlp, X = mlp.circle_grid(8)
    curves = [sim, th, rf.simulate(lam, w2, 50, np.inf, t, draws=1, eta=0.5),
              fl.infinite_width_diagonal(lam, w2, 1.0, t), fl.infinite_width_full(lam[:20], w2[:20], 1.0, t[:3]),
              fl.simulate_projected(lam[:20], w2[:20], 8, 1.0, t[:3], seeds=2),
              fl.simulate_projected_reduced(lam[:20], w2[:20], 8, 1.0, t[:3], seeds=2),
              mlp.train_gd(mlp.init_params(8, 1.0, 0), X, np.sin(th_mlp), 0.1, [0.0, 1.0])]
    for c in curves:
        assert isinstance(c, Curve)
        assert (c.t_unit, c.loss_factor) == ("time", 1.0) == tuple(FAMILIES["kernel"].values())
        assert c.meta["family"] == "kernel"
        assert "\n" not in repr(c)
    assert [c.meta["model"] for c in curves[:3]] == ["random-features", "dmft", "random-features"]
    assert "eta" in curves[2].meta and "eta" not in sim.meta and "eta" not in th.meta
    # same grid, same convention: the simulation and the theory compare point by point
    np.testing.assert_array_equal(sim.t, th.t)
    assert rf.deviation_ratio(sim.loss, sim.sem, th.loss) <= 1.0
    np.testing.assert_allclose(sim.to(t_unit="time", loss_factor=1.0).loss, sim.loss, rtol=0)
    # loss = mean over draws, sem = s.d./sqrt(draws) with ddof = 1
    np.testing.assert_array_equal(sim.loss, sim.seeds.mean(axis=0))
    np.testing.assert_array_equal(sim.sem, sim.seeds.std(axis=0, ddof=1) / np.sqrt(8))
    assert sim.mu_max.shape == (8,) and sim.v.shape == (8, t.size, lam.size)
    np.testing.assert_array_equal(th.variance, th.loss - th.bias)
    assert "bias" not in dmft.dmft_loss(t, lam, w2, 50, np.inf, n=16, bias=False).extras
