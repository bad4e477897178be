"""Unit tests of scalinglaws.kernel.featurelearning (projected two-layer linear model)."""

import numpy as np
import pytest

from scalinglaws.analysis.frontier import compute_optimal_exponent
from scalinglaws import spectra
from scalinglaws.kernel import featurelearning as fl
from scalinglaws.kernel import randomfeatures as rf
from scalinglaws.errors import DivergenceError


def test_source_task_notation():
    lam, w2 = spectra.source_task(100, 2.0, 0.5)
    k = np.arange(1, 101)
    np.testing.assert_allclose(lam * w2, k ** -2.0)      # a = alpha*beta + 1 = 2


def test_lazy_limits_exact():
    lam, w2 = spectra.source_task(50, 2.0, 0.5)
    t = np.array([0.5, 2.0, 10.0])
    d = fl.infinite_width_diagonal(lam, w2, 0.0, t)
    np.testing.assert_allclose(d.loss, (lam * w2) @ np.exp(-2 * np.outer(lam, t)), rtol=1e-12)
    eta = 0.05
    f = fl.infinite_width_full(lam, w2, 0.0, t, eta=eta)
    n = np.round(t / eta)
    np.testing.assert_allclose(f.loss, (lam * w2) @ (1 - eta * lam[:, None]) ** (2 * n[None, :]), rtol=1e-10)


def test_lazy_simulation_is_random_feature_gd():
    """γ = 0: the projected model is GD of the random-feature model, v_n = (I − ηFΛ)^n w*."""
    M, N, eta = 20, 30, 0.1
    lam, w2 = spectra.source_task(M, 2.0, 0.5)
    r = fl.simulate_projected(lam, w2, N, 0.0, [2.0], eta=eta, seeds=1, seed=5)
    A0 = np.random.default_rng([5, 0]).standard_normal((N, M))
    Jm = np.eye(M) - eta * (A0.T @ A0 / N) * lam
    v = np.linalg.matrix_power(Jm, 20) @ np.sqrt(w2)
    assert r.seeds[0, 0] == pytest.approx(v @ (lam * v), rel=1e-10)


def test_order_parameter_map_is_exact_at_finite_N():
    """The (β̂, G, c) GD map with the actual F0 reproduces the direct (w, A) simulation exactly."""
    M, N, eta, gamma = 16, 24, 0.1, 2.0
    lam, w2 = spectra.source_task(M, 2.0, 0.5)
    r = fl.simulate_projected(lam, w2, N, gamma, [3.0], eta=eta, seeds=1, seed=9)
    A0 = np.random.default_rng([9, 0]).standard_normal((N, M))
    F0 = A0.T @ A0 / N
    ws = np.sqrt(w2)
    bh, G, c = np.zeros(M), F0.copy(), 0.0
    for _ in range(30):
        bh, G, c = fl._gd_map(bh, G, c, lam, ws, gamma, eta, F0)
    v = ws - bh
    assert r.seeds[0, 0] == pytest.approx(v @ (lam * v), rel=1e-9)


def test_width_floor_is_long_time_lazy_limit():
    lam, w2 = spectra.source_task(80, 2.0, 0.5)
    floor = fl.width_floor(lam, w2, 10, draws=2, seed=4)
    r = rf.simulate(lam, w2, 10, np.inf, [1e12], draws=2, seed=4)
    np.testing.assert_allclose(floor, r.seeds[:, 0], rtol=1e-6)


def test_rich_faster_than_lazy_for_hard_task():
    lam, w2 = spectra.source_task(2000, 2.0, 0.5)
    t = np.array([100.0])
    assert fl.infinite_width_diagonal(lam, w2, 1.0, t).loss[0] < fl.infinite_width_diagonal(lam, w2, 0.0, t).loss[0]


def test_bad_inputs_and_divergence():
    lam, w2 = spectra.source_task(10, 2.0, 0.5)
    with pytest.raises(ValueError, match="gamma="):
        fl.infinite_width_diagonal(lam, w2, -1.0, [1.0])
    with pytest.raises(ValueError, match="beta="):
        spectra.source_task(10, 2.0, 0.0)
    with pytest.raises(ValueError, match="N="):
        fl.simulate_projected(lam, w2, 0, 1.0, [1.0])
    with pytest.raises(ValueError, match="t="):
        fl.infinite_width_full(lam, w2, 1.0, [2.0, 1.0])
    with pytest.raises(DivergenceError, match="eta"):
        fl.infinite_width_full(lam, w2, 1.0, [50.0], eta=5.0)


def test_reduced_map_equals_direct_simulation():
    """The N-dimensional GD map (A = Q A0) reproduces the direct (w, A) simulation, same draws."""
    lam, w2 = spectra.source_task(40, 2.0, 0.5)
    t = [0.5, 3.0, 12.0]
    for gamma in (0.0, 2.0):
        d = fl.simulate_projected(lam, w2, 12, gamma, t, eta=0.1, seeds=3, seed=7)
        r = fl.simulate_projected_reduced(lam, w2, 12, gamma, t, eta=0.1, seeds=3, seed=7)
        np.testing.assert_allclose(r.seeds, d.seeds, rtol=1e-10)
        np.testing.assert_array_equal(r.t, d.t)


def test_full_map_compiled_equals_numpy_reference():
    """The compiled (fused) GD loop of infinite_width_full is the NumPy map, to round-off, lazy and
    rich, with repeated recording steps."""
    lam, w2 = spectra.source_task(60, 2.0, 0.5)
    t = np.array([0.05, 0.06, 0.5, 3.0, 20.0])
    for gamma in (0.0, 0.7, 10.0):
        a = fl.infinite_width_full(lam, w2, gamma, t, eta=0.05)
        b = fl.infinite_width_full(lam, w2, gamma, t, eta=0.05, compiled=False)
        np.testing.assert_allclose(a.loss, b.loss, rtol=1e-11)
        np.testing.assert_array_equal(a.t, b.t)
    for compiled in (True, False):
        with pytest.raises(DivergenceError, match="diverged"):
            fl.infinite_width_full(lam, w2, 1.0, [400.0], eta=4.0, compiled=compiled)


def test_widths_driver_equals_reduced_map_at_every_width():
    """The compiled multi-width driver: the same instances (first N rows of the widest draw) and the
    same GD map as simulate_projected_reduced, to round-off, lazy and rich, with repeated steps."""
    lam, w2 = spectra.source_task(200, 2.0, 0.5)
    Ns = [5, 12, 30]
    ts = [np.array([0.05, 0.06, 1.0, 7.0]), np.array([2.0, 9.0]), np.geomspace(0.5, 20.0, 5)]
    for gamma in (0.0, 3.0):
        got = fl.simulate_projected_widths(lam, w2, Ns, gamma, ts, eta=0.1, seeds=3, seed=11, show_progress=False)
        for N, t, c in zip(Ns, ts, got):
            ref = fl.simulate_projected_reduced(lam, w2, N, gamma, t, eta=0.1, seeds=3, seed=11)
            np.testing.assert_allclose(c.seeds, ref.seeds, rtol=1e-11)
            np.testing.assert_array_equal(c.t, ref.t)
            assert c.meta["width"] == N and c.meta["solver"] == "projected-reduced"


def test_widths_driver_raises_on_divergence():
    lam, w2 = spectra.source_task(50, 2.0, 0.5)
    with pytest.raises(DivergenceError, match="diverged"):
        fl.simulate_projected_widths(lam, w2, [4], 0.0, [np.array([3000.0])], eta=30.0, seeds=1,
                                     show_progress=False)


def _lazy_sgd_second_moment(lam, w2, A0, eta, batch, steps):
    """Exact E[L] of lazy online SGD for fixed A0: V ← (I−ηFΛ)V(I−ηΛF) + (η²/B) F(ΛVΛ + Λ tr ΛV)F."""
    N = A0.shape[0]
    F = A0.T @ A0 / N
    Lam = np.diag(lam)
    J = np.eye(lam.size) - eta * F @ Lam
    V = np.outer(np.sqrt(w2), np.sqrt(w2))
    for _ in range(steps):
        V = J @ V @ J.T + eta ** 2 / batch * F @ (Lam @ V @ Lam + Lam * np.trace(Lam @ V)) @ F
    return np.trace(Lam @ V)


def test_lazy_sgd_matches_exact_second_moment_recursion():
    """γ = 0, batch B = 2: the mean SGD loss over seeds equals the exact expectation (Gaussian fourth
    moment) averaged over the same A0 draws, within 4 standard errors of the SGD noise; B → ∞ of the
    recursion is the population path."""
    M, N, eta, B, n, R = 6, 4, 0.2, 2, 25, 300
    lam, w2 = spectra.source_task(M, 2.0, 0.5)
    sim = fl.simulate_projected(lam, w2, N, 0.0, [n * eta], eta=eta, seeds=R, seed=11, batch=B)
    exact = np.array([_lazy_sgd_second_moment(lam, w2, np.random.default_rng([11, r]).standard_normal((N, M)),
                                              eta, B, n) for r in range(R)])
    diff = sim.seeds[:, 0] - exact
    assert abs(diff.mean()) < 4 * diff.std(ddof=1) / np.sqrt(R)
    pop = fl.simulate_projected(lam, w2, N, 0.0, [n * eta], eta=eta, seeds=3, seed=11)
    inf_b = [_lazy_sgd_second_moment(lam, w2, np.random.default_rng([11, r]).standard_normal((N, M)),
                                     eta, 1e30, n) for r in range(3)]
    np.testing.assert_allclose(pop.seeds[:, 0], inf_b, rtol=1e-10)
    # SGD noise raises the mean loss above the population path (the paper's SGD transient)
    assert exact[:3].mean() > pop.seeds[:, 0].mean()


def test_rich_sgd_large_batch_and_small_step_track_population_gd():
    """γ = 1: (i) B → ∞: the SGD loss converges to the population path like 1/√B (same A0, same
    minibatch stream); the bound 20·√(2/B) adds the relative fluctuation √(2/B) of Σ̂_B over the 20
    steps without cancellation; (ii) at small η the seed-mean SGD loss (B = 4) matches population
    GD within 4 standard errors plus the O(η/B) SGD bias."""
    M, N = 8, 6
    lam, w2 = spectra.source_task(M, 2.0, 0.5)
    pop = fl.simulate_projected(lam, w2, N, 1.0, [1.0, 2.0], eta=0.1, seeds=2, seed=3)
    dev = {}
    for B in (1000, 100_000):
        big = fl.simulate_projected(lam, w2, N, 1.0, [1.0, 2.0], eta=0.1, seeds=2, seed=3, batch=B)
        dev[B] = np.max(np.abs(big.seeds / pop.seeds - 1))
        assert dev[B] < 20 * np.sqrt(2 / B)
    assert dev[100_000] < dev[1000] / 3                  # 1/√B predicts a factor 10
    eta, B, R = 0.02, 4, 200
    pop = fl.simulate_projected(lam, w2, N, 1.0, [1.0], eta=eta, seeds=R, seed=5)
    sgd = fl.simulate_projected(lam, w2, N, 1.0, [1.0], eta=eta, seeds=R, seed=5, batch=B)
    diff = sgd.seeds[:, 0] - pop.seeds[:, 0]              # same A0 per seed: paired difference
    assert abs(diff.mean()) < 4 * diff.std(ddof=1) / np.sqrt(R) + eta / B * pop.seeds.mean()


def test_compute_optimal_exponent_recovers_two_term_law():
    """Synthetic surfaces L = t^-χ + N^-1 (no noise): the envelope exponent is χ/(1+χ) up to the
    scalloping of a factor-√2 width grid, and the window rule keeps interior optimal widths only."""
    chi = 0.5
    Ns = np.round(2.0 ** np.arange(2, 12, 0.5))
    C = np.geomspace(10, 1e7, 61)
    ts = [np.geomspace(1.0, 1e7 / N, 50) for N in Ns]
    Ls = [np.tile(t ** -chi + 1.0 / N, (3, 1)) * (1 + 0.01 * np.arange(3))[:, None] for N, t in zip(Ns, ts)]
    f = compute_optimal_exponent(Ns, ts, Ls, C, t_min=10.0)
    assert f.exponent == pytest.approx(chi / (1 + chi), abs=0.01)
    inside = (f.C >= f.window[0]) & (f.C <= f.window[1])
    assert np.all(f.n_opt[inside] > Ns[0]) and np.all(f.n_opt[inside] < Ns[-1])
    assert f.exponent_se < 1e-6                          # seeds differ by a constant factor only
    with pytest.raises(ValueError, match="t_min="):
        compute_optimal_exponent(Ns, ts, Ls, C, t_min=0.0)


def test_bad_batch():
    lam, w2 = spectra.source_task(10, 2.0, 0.5)
    with pytest.raises(ValueError, match="batch="):
        fl.simulate_projected(lam, w2, 4, 1.0, [1.0], batch=0)


def test_sgd_batch_excess_late_window_and_shapes():
    t = np.array([1.0, 10.0, 100.0])                     # late: t >= 10
    pop = np.ones((2, 3))
    sgd = {4: np.array([[9.0, 1.5, 1.25], [9.0, 1.25, 1.5]])}
    m, se = fl.sgd_batch_excess(pop, sgd, t)
    assert m[4] == pytest.approx(4 * 0.375) and se[4] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="loss_sgd"):
        fl.sgd_batch_excess(pop, {4: np.ones((3, 3))}, t)
    with pytest.raises(ValueError, match="loss_pop"):
        fl.sgd_batch_excess(np.ones((1, 3)), sgd, t)


# ------------------------------------------------------------- finite-width theory (deterministic equivalent)
def test_instance_modes_reproduce_the_instance_exactly():
    """The exact N-mode reduction: the full-G map on one instance's modes is that instance's run."""
    lam, w2 = spectra.source_task(300, 2.0, 0.5)
    t = np.geomspace(1.0, 50.0, 6)
    for g in (0.0, 3.0):
        sim = fl.simulate_projected_reduced(lam, w2, 12, g, t, eta=0.05, seeds=2, seed=7)
        for r in range(2):
            th = fl.finite_width_theory(lam, w2, 12, g, t, eta=0.05, modes=fl.instance_modes(lam, w2, 12, seed=7, r=r))
            np.testing.assert_allclose(th.loss, sim.seeds[r], rtol=1e-10)


def test_width_modes_conserve_power_and_match_lazy_dmft():
    from scalinglaws.kernel import dmft
    lam, w2 = spectra.source_task(1000, 2.0, 0.5)
    t = np.geomspace(1.0, 300.0, 8)
    for N in (16, 64):
        sig, p, floor = fl.width_modes(lam, w2, N)
        assert sig.size == N and np.all(np.diff(sig) < 0) and np.all(p >= 0)
        assert abs(p.sum() + floor - lam @ w2) < 1e-3 * (lam @ w2)
        gf = floor + p @ np.exp(-2 * np.outer(sig, t))
        ref = dmft.dmft_loss(t, lam, w2, N, np.inf, n=24, bias=False).loss
        assert np.max(np.abs(gf / ref - 1)) < 0.5 / N        # binning error O(1/N) (1.2 % at N = 32 in ch. 4)
    # the deterministic floor against the mean floor of random instances (N = 64: a few per cent)
    floors = fl.width_floor(lam, w2, 64, draws=16, seed=3)
    assert abs(fl.width_floor_de(lam, w2, 64) / floors.mean() - 1) < 3 * floors.std(ddof=1) / 4 / floors.mean() + 0.03


def test_finite_width_theory_lazy_is_the_exact_gd_sum():
    lam, w2 = spectra.source_task(400, 2.0, 0.5)
    t = np.array([1.0, 10.0, 100.0])
    modes = fl.width_modes(lam, w2, 20)
    sig, p, floor = modes
    th = fl.finite_width_theory(lam, w2, 20, 0.0, t, eta=0.05, modes=modes)
    steps = np.round(t / 0.05)
    np.testing.assert_allclose(th.loss, floor + p @ (1 - 0.05 * sig[:, None]) ** (2 * steps), rtol=1e-10)
    assert th.meta["solver"] == "finite-width-de" and th.meta["width"] == 20


def test_finite_width_theory_bad_inputs():
    lam, w2 = spectra.source_task(100, 2.0, 0.5)
    t = [1.0, 2.0]
    with pytest.raises(ValueError, match="N"):
        fl.width_modes(lam, w2, 100)                          # N must be < M
    with pytest.raises(ValueError, match="N"):
        fl.width_modes(lam, w2, 0)
    with pytest.raises(ValueError, match="eps"):
        fl.width_modes(lam, w2, 10, eps=0.0)
    with pytest.raises(ValueError, match="lam"):
        fl.width_modes(np.r_[lam[:-1], np.nan], w2, 10)
    with pytest.raises(ValueError, match="modes"):
        fl.finite_width_theory(lam, w2, 10, 1.0, t, modes=fl.width_modes(lam, w2, 12))
    with pytest.raises(ValueError, match="gamma"):
        fl.finite_width_theory(lam, w2, 10, -1.0, t)
