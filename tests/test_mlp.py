"""Tests of scalinglaws.kernel.mlp: two-layer mean-field ReLU MLP on the circle."""

import numpy as np
import pytest

from scalinglaws.kernel import mlp
from scalinglaws.errors import DivergenceError


def _loss_half(p, X, y):
    return 0.5 * mlp.loss(p, X, y)


def test_gradients_match_finite_differences():
    # central differences, step 1e-6: truncation O(h^2) ~ 1e-12, round-off ~ 1e-16/1e-6 = 1e-10
    _, X = mlp.circle_grid(16)
    p = mlp.init_params(6, 0.7, 3)
    p.a += 0.3  # break the symmetric init so the residual is generic
    y = np.sin(3 * np.arctan2(X[:, 1], X[:, 0]))
    gW, gb, ga = mlp.gradients(p, X, y)
    h = 1e-6
    for name, g in (("W", gW), ("b", gb), ("a", ga)):
        arr = getattr(p, name)
        num = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + h
            lp = _loss_half(p, X, y)
            arr[idx] = old - h
            lm = _loss_half(p, X, y)
            arr[idx] = old
            num[idx] = (lp - lm) / (2 * h)
        np.testing.assert_allclose(g, num, atol=1e-8, rtol=1e-6)


def test_symmetric_init_gives_zero_output():
    _, X = mlp.circle_grid(32)
    p = mlp.init_params(10, 0.5, 0)
    assert np.max(np.abs(mlp.forward(p, X))) < 1e-14


def test_empirical_ntk_matches_jacobian_and_closed_form():
    P = 32
    th, X = mlp.circle_grid(P)
    p = mlp.init_params(8, 0.3, 1)
    # Jacobian by the explicit formula of df/dtheta, K = gamma0^2 N J J^T
    H = X @ p.W.T + p.b
    c = 1 / (p.gamma0 * p.N)
    Jw = (c * p.a * (H > 0))[:, :, None] * X[:, None, :]
    J = np.concatenate([Jw.reshape(P, -1), c * p.a * (H > 0), c * np.maximum(H, 0)], axis=1)
    np.testing.assert_allclose(mlp.empirical_ntk(p, X), p.gamma0 ** 2 * p.N * J @ J.T, rtol=1e-12)
    # large-width eNTK -> closed form; Monte-Carlo s.e. ~ O(1)/sqrt(N/2) ~ 0.01 at N = 40000
    pb = mlp.init_params(40000, 1.0, 2)
    K = mlp.empirical_ntk(pb, X)
    Kinf = mlp.ntk_infinite(th[:, None] - th[None, :])
    assert np.max(np.abs(K - Kinf)) < 0.06


def test_lazy_dynamics_follow_linearised_ntk():
    # tiny gamma0: GD equals the linearised kernel dynamics r(t+eta) = (I - eta K/P) r(t);
    # deviation is O(gamma0) = 1e-7 relative, plus round-off 1e-16/gamma0 ~ 1e-9 from the
    # cancelling symmetric halves.  gamma0 must be tiny enough that no pre-activation crosses 0 on
    # the grid (total weight movement ~ gamma0 * t); at gamma0 = 1e-4 a few of them do.
    P = 32
    th, X = mlp.circle_grid(P)
    p = mlp.init_params(64, 1e-7, 5)
    y = np.cos(th) + 0.5 * np.sin(2 * th) + 0.2 * np.cos(5 * th + 1)
    eta, steps = 0.3, 200
    res = mlp.train_gd(p, X, y, eta, np.arange(steps + 1) * eta)
    K = mlp.empirical_ntk(p, X)
    r = -y.copy()
    Llin = [r @ r / P]
    for _ in range(steps):
        r = r - eta * K @ r / P
        Llin.append(r @ r / P)
    np.testing.assert_allclose(res.loss, Llin, rtol=1e-5)


def test_target_has_intended_spectrum():
    P = 128
    th, _ = mlp.circle_grid(P)
    lam = mlp.ntk_mode_spectrum(P)
    assert np.all(np.diff(lam[1:P // 2]) < 0)
    beta, kmax = 0.5, 50
    y, power = mlp.circle_target(th, lam, beta, kmax, seed=4, phases="random")
    # power of mode k from the DFT (exact on the grid for k < P/2)
    Y = np.fft.rfft(y) / P
    np.testing.assert_allclose(2 * np.abs(Y[1:kmax + 1]) ** 2, power, rtol=1e-10, atol=1e-15)
    assert abs(np.mean(y ** 2) - power.sum()) < 1e-12
    tail = np.cumsum(power[::-1])[::-1]      # sum_{l >= k} power_l
    lk = lam[1:kmax + 2]
    expect = (lk[:-1] ** beta - lk[-1] ** beta) / (lk[0] ** beta - lk[-1] ** beta)
    np.testing.assert_allclose(tail, expect, rtol=1e-10)


def test_ntk_spectrum_of_empirical_gram_is_circulant_part():
    P = 16
    th, X = mlp.circle_grid(P)
    Kinf = mlp.ntk_infinite(th[:, None] - th[None, :])
    np.testing.assert_allclose(mlp.ntk_mode_spectrum(P, Kinf), mlp.ntk_mode_spectrum(P), rtol=1e-12)
    ev = np.sort(np.linalg.eigvalsh(Kinf / P))
    lam = mlp.ntk_mode_spectrum(P)
    full = np.sort(np.concatenate([lam, lam[1:P // 2]]))
    np.testing.assert_allclose(ev, full, atol=1e-12)


def test_determinism():
    th, X = mlp.circle_grid(32)
    y, _ = mlp.circle_target(th, mlp.ntk_mode_spectrum(32), 1.0, 10, seed=0)
    r1 = mlp.train_gd(mlp.init_params(16, 1.0, 7), X, y, 0.2, [0, 1, 2, 5])
    r2 = mlp.train_gd(mlp.init_params(16, 1.0, 7), X, y, 0.2, [0, 1, 2, 5])
    np.testing.assert_array_equal(r1.loss, r2.loss)
    np.testing.assert_array_equal(r1.params.W, r2.params.W)


def test_bad_inputs_and_divergence():
    th, X = mlp.circle_grid(16)
    lam = mlp.ntk_mode_spectrum(16)
    with pytest.raises(ValueError, match="N"):
        mlp.init_params(5, 1.0, 0)
    with pytest.raises(ValueError, match="gamma0"):
        mlp.init_params(4, 0.0, 0)
    with pytest.raises(ValueError, match="P"):
        mlp.circle_grid(2)
    with pytest.raises(ValueError, match="beta"):
        mlp.circle_target(th, lam, -1.0, 4, 0)
    with pytest.raises(ValueError, match="kmax"):
        mlp.circle_target(th, lam, 1.0, 100, 0)
    with pytest.raises(ValueError, match="phases"):
        mlp.circle_target(th, lam, 1.0, 4, 0, phases="gaussian")
    with pytest.raises(ValueError, match="k_hi"):
        mlp.fit_window_from_modes(lam, 4, 4)
    with pytest.raises(ValueError, match="eta"):
        mlp.lazy_loss_infinite([1.0], lam, np.ones(3), eta=5.0)
    p = mlp.init_params(4, 1.0, 0)
    with pytest.raises(ValueError, match="eta"):
        mlp.train_gd(p, X, np.zeros(16), -1.0, [1.0])
    with pytest.raises(ValueError, match="t_record"):
        mlp.train_gd(p, X, np.zeros(16), 0.1, [2.0, 1.0])
    with pytest.raises(ValueError, match="method"):
        mlp.train_gd(p, X, np.zeros(16), 0.1, [1.0], method="jax")
    with pytest.raises(ValueError, match="X.shape"):
        mlp.forward(p, np.zeros((3, 3)))
    y = np.cos(th)
    for method in ("numpy", "numba"):
        with pytest.raises(DivergenceError):
            mlp.train_gd(mlp.init_params(8, 1.0, 0), X, y, 50.0, [0.0, 5000.0], method=method)


def test_zero_phase_target_is_even_with_singularity_at_zero():
    P = 256
    th, _ = mlp.circle_grid(P)
    lam = mlp.ntk_mode_spectrum(P)
    y, power = mlp.circle_target(th, lam, 0.5, 100)
    np.testing.assert_allclose(y[1:], y[1:][::-1], atol=1e-12)       # y(θ) = y(-θ)
    assert np.argmax(y) == 0                                          # the peak sits at θ = 0
    np.testing.assert_allclose(y[0], np.sqrt(2 * power).sum(), rtol=1e-12)
    yr, pr = mlp.circle_target(th, lam, 0.5, 100, seed=1, phases="random")
    np.testing.assert_array_equal(power, pr)                          # same spectrum, other phases
    assert np.max(np.abs(yr)) < 0.5 * y[0]


def test_numba_and_numpy_paths_agree():
    # identical algorithm; differences are round-off (summation order), ~1e-15 per step
    if mlp._numba is None:
        pytest.skip("numba not installed")
    th, X = mlp.circle_grid(64)
    y, _ = mlp.circle_target(th, mlp.ntk_mode_spectrum(64), 0.5, 30)
    p = mlp.init_params(32, 1.0, 3)
    t = np.arange(0, 40.01, 4.0)
    r1 = mlp.train_gd(p, X, y, 0.1, t, method="numpy")
    r2 = mlp.train_gd(p, X, y, 0.1, t, method="numba")
    np.testing.assert_allclose(r1.loss, r2.loss, rtol=1e-10)
    for name in ("W", "b", "a"):
        np.testing.assert_allclose(getattr(r1.params, name), getattr(r2.params, name), atol=1e-10)
    np.testing.assert_array_equal(p.a, mlp.init_params(32, 1.0, 3).a)   # input not modified


def test_lazy_loss_infinite_matches_circulant_gd():
    # independent reference: iterate r <- (I - eta K_inf/P) r with the closed-form Gram matrix
    P, kmax, eta = 64, 20, 0.5
    th, _ = mlp.circle_grid(P)
    lam = mlp.ntk_mode_spectrum(P)
    y, power = mlp.circle_target(th, lam, 1.0, kmax, seed=2, phases="random")
    K = mlp.ntk_infinite(th[:, None] - th[None, :]) / P
    r = -y.copy()
    Ls = [r @ r / P]
    for _ in range(60):
        r = r - eta * K @ r
        Ls.append(r @ r / P)
    t = np.arange(61) * eta
    np.testing.assert_allclose(mlp.lazy_loss_infinite(t, lam, power, eta), Ls, rtol=1e-10)
    # gradient flow limit: small eta converges to the eta = 0 formula with O(eta) error
    Lf = mlp.lazy_loss_infinite([5.0], lam, power)
    Le = mlp.lazy_loss_infinite([5.0], lam, power, eta=1e-4)
    np.testing.assert_allclose(Le, Lf, rtol=1e-4)


def test_lazy_gd_at_large_width_follows_infinite_ntk():
    # gamma0 -> 0 GD on a wide net follows the infinite-width lazy loss; the finite-N eNTK differs
    # from the closed form by O(1/sqrt(N)) (Monte Carlo), here N = 4096: a few percent
    P = 64
    th, X = mlp.circle_grid(P)
    lam = mlp.ntk_mode_spectrum(P)
    y, power = mlp.circle_target(th, lam, 0.5, 20)
    t = np.array([0.0, 2.0, 10.0, 30.0])
    res = mlp.train_gd(mlp.init_params(4096, 1e-6, 0), X, y, 0.2, t)
    np.testing.assert_allclose(res.loss, mlp.lazy_loss_infinite(t, lam, power, 0.2), rtol=0.05)


def test_fit_window_from_modes():
    lam = mlp.ntk_mode_spectrum(64)
    lo, hi = mlp.fit_window_from_modes(lam, 4, 12)
    assert lo == pytest.approx(1 / (2 * lam[4])) and hi == pytest.approx(1 / (2 * lam[12]))


def test_neuron_mode_spectra_average_to_circulant_ntk_spectrum():
    P = 32
    _, X = mlp.circle_grid(P)
    p = mlp.init_params(10, 0.7, 4)
    per = mlp.neuron_mode_spectra(p, X, chunk=3)
    np.testing.assert_allclose(per.mean(axis=0), mlp.ntk_mode_spectrum(P, mlp.empirical_ntk(p, X)),
                               rtol=1e-10, atol=1e-14)
    # large width: the Monte-Carlo mean is within 4 standard errors of the closed form on all modes
    pb = mlp.init_params(8000, 1.0, 5)
    per = mlp.neuron_mode_spectra(pb, X)[:4000]
    z = (per.mean(axis=0) - mlp.ntk_mode_spectrum(P)) / (per.std(axis=0, ddof=1) / np.sqrt(4000))
    assert np.max(np.abs(z)) < 4.0


def test_lazy_fit_window_rules():
    """Rule (a) keeps the a priori window when the lazy exponent fits there; rule (b) returns a
    maximal stretch on which the local lazy exponent, recomputed here independently on a finer
    grid by a two-point slope, stays within tol of beta (up to the grid's own resolution)."""
    P, kmax, eta, tol = 256, 100, 0.1, 0.03
    th, _ = mlp.circle_grid(P)
    lam = mlp.ntk_mode_spectrum(P)
    _, pw_hard = mlp.circle_target(th, lam, 0.5, kmax)
    w, rule = mlp.lazy_fit_window(lam, pw_hard, 0.5, 4, kmax // 8, eta=eta, tol=tol)
    assert rule == "a priori" and w == mlp.fit_window_from_modes(lam, 4, kmax // 8)
    beta = 1.25
    _, pw = mlp.circle_target(th, lam, beta, kmax)
    (ta, tb), rule = mlp.lazy_fit_window(lam, pw, beta, 4, kmax // 8, eta=eta, tol=tol)
    assert rule == "local exponent" and tb / ta > 1.5

    def local(t):     # -d log L / d log t by a symmetric two-point difference (factor 1.001)
        h = 1e-3
        Lp, Lm = mlp.lazy_loss_infinite([t * (1 + h), t / (1 + h)], lam, pw, eta)
        return -(np.log(Lp) - np.log(Lm)) / (2 * np.log1p(h))

    inside = np.geomspace(ta, tb, 50)
    assert np.all(np.abs([local(t) - beta for t in inside]) <= tol + 2e-3)
    # maximality: both ends lie inside the search grid here, and 3 % beyond each (about four grid
    # steps) the exponent is out of the band
    t_first, t_last = 1 / (2 * lam[4]), 1 / (2 * lam[kmax])
    assert t_first < ta / 1.03 and tb * 1.03 < t_last
    assert abs(local(ta / 1.03) - beta) > tol and abs(local(tb * 1.03) - beta) > tol
    with pytest.raises(ValueError, match="no time stretch"):
        mlp.lazy_fit_window(lam, pw, 5.0, 4, kmax // 8, eta=eta, tol=tol)
    with pytest.raises(ValueError, match="tol"):
        mlp.lazy_fit_window(lam, pw, beta, 4, kmax // 8, tol=0.0)


def test_train_gd_on_a_list_equals_serial_calls():
    """A list of networks (threads) returns exactly the serial results, in order, on both code
    paths; one MLPParams returns one Curve, a list (even of one) a list of Curves."""
    from scalinglaws.result import Curve
    th, X = mlp.circle_grid(32)
    y, _ = mlp.circle_target(th, mlp.ntk_mode_spectrum(32), 1.0, 10, seed=0)
    ps = [mlp.init_params(8, g, s) for s, g in [(0, 1.0), (1, 0.5), (2, 1e-3)]]
    t = np.array([0.0, 0.5, 2.0, 5.0])
    for method in ("numpy", "auto"):
        serial = [mlp.train_gd(p, X, y, 0.1, t, method) for p in ps]
        batch = mlp.train_gd(ps, X, y, 0.1, t, method, workers=2)
        assert isinstance(batch, list) and len(batch) == len(ps)
        for r0, r1 in zip(serial, batch):
            assert isinstance(r0, Curve) and isinstance(r1, Curve)
            np.testing.assert_array_equal(r0.t, r1.t)
            np.testing.assert_array_equal(r0.loss, r1.loss)
            np.testing.assert_array_equal(r0.params.W, r1.params.W)
            np.testing.assert_array_equal(r0.params.a, r1.params.a)
            assert r1.meta["model"] == "mlp" and r1.meta["eta"] == 0.1 and r1.t_unit == "time"
    one = mlp.train_gd(ps[:1], X, y, 0.1, t)
    assert isinstance(one, list) and len(one) == 1
    np.testing.assert_array_equal(one[0].loss, mlp.train_gd(ps[0], X, y, 0.1, t).loss)
    with pytest.raises(ValueError, match="workers"):
        mlp.train_gd(ps, X, y, 0.1, t, workers=0)
    with pytest.raises(ValueError, match="workers"):
        mlp.train_gd(ps[0], X, y, 0.1, t, workers=0)
    with pytest.raises(ValueError, match=r"p=\[\] is invalid"):
        mlp.train_gd([], X, y, 0.1, t)


def test_exponent_decisions_and_bad_inputs():
    ok, gap, spread = mlp.gap_exceeds_spread([0.62, 0.64, 0.60, 0.63], 0.5)
    assert ok and gap == pytest.approx(0.1225) and spread == pytest.approx(np.std([0.62, 0.64, 0.60, 0.63], ddof=1))
    ok, gap, spread = mlp.gap_exceeds_spread([0.62, 0.64], [0.50, 0.53])
    assert ok and gap == pytest.approx(0.115) and spread == pytest.approx(np.std([0.12, 0.11], ddof=1))
    ok, d, spread = mlp.agree_within_spread([1.22, 1.25, 1.27, 1.20], 1.247)
    assert ok and d == pytest.approx(abs(1.235 - 1.247))
    with pytest.raises(ValueError, match="chi_rich"):
        mlp.gap_exceeds_spread([0.6], 0.5)
    with pytest.raises(ValueError, match="chi_lazy"):
        mlp.gap_exceeds_spread([0.6, 0.7], [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="chi_lazy"):
        mlp.agree_within_spread([0.6, 0.7], [0.5, 0.5])


# ------------------------------------------------------------------ online SGD, test loss

def _online_reference(p, coef, eta, batch, steps, seed, n_test):
    """Independent NumPy reference: per step draw B angles from default_rng(seed), take the
    gradients of ½ mean (f − y)² from `mlp.gradients`, step by eta·γ0²·N; test loss on the
    held-out grid."""
    rng = np.random.default_rng(seed)
    q = p.copy()
    lr = eta * q.gamma0 ** 2 * q.N
    for _ in range(steps):
        th = rng.random(batch) * 2 * np.pi
        X = np.stack([np.cos(th), np.sin(th)], axis=1)
        gW, gb, ga = mlp.gradients(q, X, mlp.fourier_series(coef, th))
        q.W -= lr * gW
        q.b -= lr * gb
        q.a -= lr * ga
    tt, Xt = mlp.held_out_grid(n_test)
    return mlp.loss(q, Xt, mlp.fourier_series(coef, tt)), q


def test_target_coefficients_evaluate_circle_target_anywhere():
    lam = mlp.ntk_mode_spectrum(1024)
    th = np.random.default_rng(0).uniform(0, 2 * np.pi, 50)
    for phases, seed in (("zero", 0), ("random", 3)):
        coef = mlp.target_coefficients(lam, 0.5, 60, seed=seed, phases=phases)
        y, power = mlp.circle_target(th, lam, 0.5, 60, seed=seed, phases=phases)
        np.testing.assert_allclose(mlp.fourier_series(coef, th), y, atol=1e-12)
        np.testing.assert_allclose((coef ** 2).sum(0) / 2, power, rtol=1e-12)
    tt, Xt = mlp.held_out_grid(8)
    np.testing.assert_allclose(tt, 2 * np.pi * (np.arange(8) + 0.5) / 8)
    np.testing.assert_allclose(np.hypot(Xt[:, 0], Xt[:, 1]), 1.0)
    with pytest.raises(ValueError, match="coef"):
        mlp.fourier_series(np.zeros((3, 4)), th)


@pytest.mark.parametrize("method", ["numpy", "numba"])
def test_train_online_matches_numpy_reference(method):
    if method == "numba" and mlp._numba is None:
        pytest.skip("numba not installed")
    lam = mlp.ntk_mode_spectrum(512)
    coef = mlp.target_coefficients(lam, 0.5, 40, seed=2, phases="random")
    p = mlp.init_params(12, 0.7, 1)
    eta, B, steps = 0.1, 5, 23
    L_ref, q = _online_reference(p, coef, eta, B, steps, 9, 128)
    c = mlp.train_online(p, coef, eta, [0.0, steps * eta], batch=B, seed=9, n_test=128, method=method, block=4)
    assert c.loss[-1] == pytest.approx(L_ref, rel=1e-10)
    assert c.loss[0] == pytest.approx(np.mean(mlp.fourier_series(coef, mlp.held_out_grid(128)[0]) ** 2), rel=1e-12)
    for name in ("W", "b", "a"):
        np.testing.assert_allclose(getattr(c.params, name), getattr(q, name), atol=1e-12)
    np.testing.assert_array_equal(p.a, mlp.init_params(12, 0.7, 1).a)          # input not modified
    assert c.t_unit == "time" and c.loss_factor == 1.0 and c.seeds is None
    assert c.meta["training"] == "online SGD" and c.meta["batch"] == B and c.meta["method"] == method


def test_train_online_is_reproducible_and_independent_of_blocks_and_threads():
    lam = mlp.ntk_mode_spectrum(512)
    coef = mlp.target_coefficients(lam, 1.25, 30)
    ps = [mlp.init_params(10, g, s) for s, g in ((0, 1.0), (1, 1e-3), (2, 0.5))]
    t = [0.0, 0.3, 1.0, 4.0]
    a = mlp.train_online(ps, coef, 0.1, t, batch=4, seed=[5, 6, 7], n_test=64, block=3, workers=2)
    b = mlp.train_online(ps, coef, 0.1, t, batch=4, seed=[5, 6, 7], n_test=64, block=1000, workers=1)
    np.testing.assert_array_equal(a.seeds, b.seeds)
    assert a.seeds.shape == (3, 4) and a.meta["n_test"] == 64 and a.meta["seed"] == [5, 6, 7]
    np.testing.assert_allclose(a.loss, a.seeds.mean(0))
    one = mlp.train_online(ps[1], coef, 0.1, t, batch=4, seed=6, n_test=64)
    np.testing.assert_array_equal(one.loss, a.seeds[1])
    other = mlp.train_online(ps[1], coef, 0.1, t, batch=4, seed=8, n_test=64)
    assert not np.array_equal(other.loss[1:], one.loss[1:])                    # another data stream
    assert isinstance(a.params, list) and len(a.params) == 3


def test_train_online_large_batch_approaches_population_gd():
    """Large B: online SGD follows full-batch GD on the fine held-out grid (population GD up to
    the grid's quadrature error); the minibatch noise shrinks like sqrt(eta/B)."""
    lam = mlp.ntk_mode_spectrum(1024)
    coef = mlp.target_coefficients(lam, 0.5, 20)
    p = mlp.init_params(32, 1.0, 4)
    tt, Xt = mlp.held_out_grid(512)
    t = np.array([0.0, 5.0, 10.0, 20.0])
    gd = mlp.train_gd(p, Xt, mlp.fourier_series(coef, tt), 0.1, t)
    dev = {}
    for B in (8, 2048):
        c = mlp.train_online(p, coef, 0.1, t, batch=B, seed=1, n_test=512)
        dev[B] = np.max(np.abs(c.loss / gd.loss - 1))
    assert dev[2048] < 0.01 and dev[2048] < dev[8] / 3


def test_train_online_bad_inputs_raise_before_work_and_cost_limit():
    from scalinglaws.errors import CostLimitError
    lam = mlp.ntk_mode_spectrum(256)
    coef = mlp.target_coefficients(lam, 0.5, 10)
    p = mlp.init_params(4, 1.0, 0)
    ok = dict(batch=2, seed=0)
    for kw, name in [(dict(eta=-0.1), "eta"), (dict(t_record=[2.0, 1.0]), "t_record"),
                     (dict(batch=0), "batch"), (dict(batch=2.5), "batch"), (dict(seed=-1), "seed"),
                     (dict(n_test=2), "n_test"), (dict(method="jax"), "method"), (dict(block=0), "block"),
                     (dict(coef=np.zeros((3, 5))), "coef"), (dict(coef=np.full((2, 5), np.nan)), "coef"),
                     (dict(t_record=[0.0, np.inf]), "t_record"), (dict(workers=0), "workers")]:
        args = dict(p=p, coef=coef, eta=0.1, t_record=[0.0, 1.0], **ok) | kw
        with pytest.raises(ValueError, match=name):
            mlp.train_online(args.pop("p"), args.pop("coef"), args.pop("eta"), args.pop("t_record"), **args)
    with pytest.raises(ValueError, match="seed"):
        mlp.train_online([p, p], coef, 0.1, [1.0], batch=2, seed=0)           # one seed per network
    with pytest.raises(ValueError, match=r"p\[1\]"):
        mlp.train_online([p, "x"], coef, 0.1, [1.0], batch=2, seed=[0, 1])
    with pytest.raises(CostLimitError, match="max_steps"):
        mlp.train_online([p, p], coef, 0.1, [0.0, 60.0], batch=2, seed=[0, 1], max_steps=1000)
    mlp.train_online([p, p], coef, 0.1, [0.0, 50.0], batch=2, seed=[0, 1], max_steps=1000)   # 2 x 500 steps
    th, X = mlp.circle_grid(16)
    for method in ("numpy", "numba"):
        with pytest.raises(DivergenceError):
            mlp.train_online(mlp.init_params(8, 1.0, 0), coef, 50.0, [0.0, 5000.0], batch=4, seed=0,
                             method=method)


def test_lazy_loss_online_is_exact_for_kernel_sgd():
    """Monte Carlo of online SGD in the kernel limit: the function's coefficients on the modes
    1, √2 cos kθ, √2 sin kθ (k ≤ K) move by −(η/B) Σ_b λ_k e_k(θ_b) r(θ_b).  The mean test loss
    over many runs must equal the closed recursion (exact, no closure approximation) within its
    Monte Carlo standard error; B = None is population GD."""
    K, eta, B, steps, R = 6, 0.4, 3, 40, 20000
    lam = np.array([0.9, 0.7, 0.5, 0.3, 0.2, 0.12, 0.08])
    power = np.array([0.3, 0.2, 0.1, 0.05])
    rng = np.random.default_rng(0)
    k = np.arange(1, K + 1)
    vc = np.zeros((R, K + 1))                        # coefficients of 1, √2 cos kθ (k = 1..K)
    vs = np.zeros((R, K + 1))
    vc[:, 1:power.size + 1] = -np.sqrt(power)        # residual r = f − y at f = 0
    Ls = [np.mean((vc ** 2).sum(1) + (vs ** 2).sum(1))]
    for _ in range(steps):
        th = rng.random((R, B)) * 2 * np.pi
        ec = np.concatenate([np.ones((R, B, 1)), np.sqrt(2) * np.cos(th[..., None] * k)], axis=2)
        es = np.concatenate([np.zeros((R, B, 1)), np.sqrt(2) * np.sin(th[..., None] * k)], axis=2)
        r = (ec * vc[:, None]).sum(2) + (es * vs[:, None]).sum(2)            # (R, B)
        vc -= eta * lam * (ec * r[..., None]).mean(1)
        vs -= eta * lam * (es * r[..., None]).mean(1)
        Ls.append(np.mean((vc ** 2).sum(1) + (vs ** 2).sum(1)))
    t = np.arange(steps + 1) * eta
    theory = mlp.lazy_loss_online(t, lam, power, eta, B)
    per_run = (vc ** 2).sum(1) + (vs ** 2).sum(1)
    se = per_run.std(ddof=1) / np.sqrt(R)
    assert abs(Ls[-1] - theory[-1]) < 4 * se
    gd = mlp.lazy_loss_online(t, lam, power, eta, None)
    np.testing.assert_allclose(gd, mlp.lazy_loss_infinite(t, lam, power, eta))
    assert theory[-1] > gd[-1] + 10 * se                                         # the noise term matters here
    with pytest.raises(ValueError, match="batch"):
        mlp.lazy_loss_online(t, lam, power, eta, 0)
    with pytest.raises(ValueError, match="eta"):
        mlp.lazy_loss_online(t, lam, power, 5.0, 2)
    with pytest.raises(ValueError, match="power.size"):
        mlp.lazy_loss_online(t, lam, np.ones(7), eta, 2)


def test_exponent_gap_statistics_and_must_fail():
    """The pre-registered rule of section 4.5 is gap >= 3 s.e.: equal exponents fail it, a real
    speed-up passes; the s.e. shrinks like 1/sqrt(n); paired differences cancel a shared offset."""
    rng = np.random.default_rng(0)
    lazy = 0.5
    equal = lazy + 0.02 * rng.standard_normal(16)
    gap, se, n = mlp.exponent_gap(equal, lazy)
    assert n == 16 and se == pytest.approx(equal.std(ddof=1) / 4) and not gap >= 3 * se
    faster = 0.62 + 0.02 * rng.standard_normal(16)
    gap, se, _ = mlp.exponent_gap(faster, lazy)
    assert gap >= 3 * se
    shared = 0.3 * rng.standard_normal(16)                       # seed-to-seed offsets of both runs
    g_p, se_p, _ = mlp.exponent_gap(0.6 + shared + 0.01 * rng.standard_normal(16), 0.5 + shared)
    assert g_p == pytest.approx(0.1, abs=0.01) and se_p < 0.01
    with pytest.raises(ValueError, match="chi"):
        mlp.exponent_gap([0.6], 0.5)
    with pytest.raises(ValueError, match="chi_ref"):
        mlp.exponent_gap([0.6, 0.7], [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="chi_ref"):
        mlp.exponent_gap([0.6, 0.7], np.nan)
