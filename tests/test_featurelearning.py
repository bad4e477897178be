"""Unit tests of scalinglaws.featurelearning (projected two-layer linear model)."""

import numpy as np
import pytest

from scalinglaws import featurelearning as fl
from scalinglaws import randomfeatures as rf
from scalinglaws.errors import DivergenceError


def test_source_task_notation():
    lam, w2 = fl.source_task(100, 2.0, 0.5)
    k = np.arange(1, 101)
    np.testing.assert_allclose(lam * w2, k ** -2.0)      # a = alpha*beta + 1 = 2


def test_lazy_limits_exact():
    lam, w2 = fl.source_task(50, 2.0, 0.5)
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
    lam, w2 = fl.source_task(M, 2.0, 0.5)
    r = fl.simulate_projected(lam, w2, N, 0.0, [2.0], eta=eta, seeds=1, seed=5)
    A0 = np.random.default_rng([5, 0]).standard_normal((N, M))
    Jm = np.eye(M) - eta * (A0.T @ A0 / N) * lam
    v = np.linalg.matrix_power(Jm, 20) @ np.sqrt(w2)
    assert r.loss[0, 0] == pytest.approx(v @ (lam * v), rel=1e-10)


def test_order_parameter_map_is_exact_at_finite_N():
    """The (β̂, G, c) GD map with the actual F0 reproduces the direct (w, A) simulation exactly."""
    M, N, eta, gamma = 16, 24, 0.1, 2.0
    lam, w2 = fl.source_task(M, 2.0, 0.5)
    r = fl.simulate_projected(lam, w2, N, gamma, [3.0], eta=eta, seeds=1, seed=9)
    A0 = np.random.default_rng([9, 0]).standard_normal((N, M))
    F0 = A0.T @ A0 / N
    ws = np.sqrt(w2)
    bh, G, c = np.zeros(M), F0.copy(), 0.0
    for _ in range(30):
        bh, G, c = fl._gd_map(bh, G, c, lam, ws, gamma, eta, F0)
    v = ws - bh
    assert r.loss[0, 0] == pytest.approx(v @ (lam * v), rel=1e-9)


def test_width_floor_is_long_time_lazy_limit():
    lam, w2 = fl.source_task(80, 2.0, 0.5)
    floor = fl.width_floor(lam, w2, 10, draws=2, seed=4)
    r = rf.simulate(lam, w2, 10, np.inf, [1e12], draws=2, seed=4)
    np.testing.assert_allclose(floor, r.loss[:, 0], rtol=1e-6)


def test_rich_faster_than_lazy_for_hard_task():
    lam, w2 = fl.source_task(2000, 2.0, 0.5)
    t = np.array([100.0])
    assert fl.infinite_width_diagonal(lam, w2, 1.0, t).loss[0] < fl.infinite_width_diagonal(lam, w2, 0.0, t).loss[0]


def test_bad_inputs_and_divergence():
    lam, w2 = fl.source_task(10, 2.0, 0.5)
    with pytest.raises(ValueError, match="gamma="):
        fl.infinite_width_diagonal(lam, w2, -1.0, [1.0])
    with pytest.raises(ValueError, match="beta="):
        fl.source_task(10, 2.0, 0.0)
    with pytest.raises(ValueError, match="N="):
        fl.simulate_projected(lam, w2, 0, 1.0, [1.0])
    with pytest.raises(ValueError, match="t="):
        fl.infinite_width_full(lam, w2, 1.0, [2.0, 1.0])
    with pytest.raises(DivergenceError, match="eta"):
        fl.infinite_width_full(lam, w2, 1.0, [50.0], eta=5.0)
