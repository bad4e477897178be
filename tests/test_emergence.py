"""Unit tests of scalinglaws.emergence (Ren, Nichani, Wu & Lee 2025 additive Hermite model).

Every comparison is against an independent reference: Monte Carlo (tolerance = 4 standard
errors), central finite differences (tolerance from the O(h^2) truncation + round-off of a
float64 loss of size O(1)), the full-``d`` gradient descent (exact algebra: round-off only), the
closed-form k = 4 toy solution (integrator tolerance) and brute-force enumeration.
"""

import numpy as np
import pytest

from scalinglaws.analysis.frontier import compute_frontier
from scalinglaws import spectra
from scalinglaws import emergence as em
from scalinglaws.errors import DivergenceError
from scalinglaws.result import Curve


def test_hermite_orthonormal_and_derivative():
    # Gauss-Hermite quadrature (probabilists') integrates polynomials of degree < 2*60 exactly.
    z, w = np.polynomial.hermite_e.hermegauss(60)
    w = w / w.sum()
    for j in range(7):
        for k in range(7):
            ip = np.sum(w * em.hermite(j, z) * em.hermite(k, z))
            assert abs(ip - (j == k)) < 1e-10
    x = np.linspace(-2, 2, 7)
    h = 1e-5
    for k in (1, 2, 4, 6):
        fd = (em.hermite(k, x + h) - em.hermite(k, x - h)) / (2 * h)
        assert np.allclose(em.hermite_deriv(k, x), fd, atol=1e-7)
    assert np.allclose(em.hermite(4, x), (x**4 - 6 * x**2 + 3) / np.sqrt(24))


def test_teacher_coefficients_normalised():
    a = spectra.power_law_amplitudes(100, 0.8)
    assert abs(np.sum(a * a) - 1) < 1e-14
    assert np.all(np.diff(a) < 0)
    r = a[0] / a[9]
    assert abs(r - 10 ** 0.8) < 1e-12


@pytest.mark.parametrize("k", [2, 4, 6])
def test_population_loss_vs_monte_carlo(k):
    rng = np.random.default_rng(1)
    m, d, P = 4, 10, 3
    a = spectra.power_law_amplitudes(P, 0.8)
    V = 0.6 * rng.standard_normal((m, d)) / np.sqrt(d)
    V[0, 0] += 0.7  # one neuron partly aligned, so cross terms matter
    L = em.population_loss(V, a, k)
    mc, se = em.monte_carlo_loss(V, a, k, 200_000, np.random.default_rng(2))
    # 4 standard errors: a false alarm has probability ~6e-5 per test
    assert abs(mc - L) < 4 * se, (L, mc, se)


@pytest.mark.parametrize("k", [2, 4, 6])
def test_gradient_vs_finite_differences(k):
    rng = np.random.default_rng(3)
    m, d, P = 3, 7, 4
    a = spectra.power_law_amplitudes(P, 1.0)
    V = 0.5 * rng.standard_normal((m, d))
    g = em.population_grad(V, a, k)
    h = 1e-5
    fd = np.zeros_like(V)
    for i in range(m):
        for j in range(d):
            E = np.zeros_like(V)
            E[i, j] = h
            fd[i, j] = (em.population_loss(V + E, a, k) - em.population_loss(V - E, a, k)) / (4 * h)
    # central differences: O(h^2) ~ 1e-10 truncation, round-off ~ 1e-16/h ~ 1e-11, relative to |g|
    assert np.max(np.abs(g - fd)) < 1e-7 * np.max(np.abs(fd))


@pytest.mark.parametrize("m,d,P", [(5, 40, 6), (20, 12, 4)])
def test_reduced_dynamics_equals_full_gd(m, d, P):
    """The O(m^2 (P+m)) representation is exact algebra: agreement to round-off, both when
    d - P > m (QR-compressed orthogonal block) and when d - P <= m (kept as is)."""
    a = spectra.power_law_amplitudes(P, 0.8)
    kw = dict(k=4, eta=0.1, steps=400, sigma0=0.3, seed=7, show_progress=False)
    r1 = em.population_gd(m, d, a, reduced=True, **kw)
    r2 = em.population_gd(m, d, a, reduced=False, **kw)
    assert r1.loss[-1] < 0.9 * r1.loss[0]  # something actually happened
    assert np.max(np.abs(r1.loss - r2.loss)) < 1e-10
    assert np.max(np.abs(r1.pair_overlap - r2.pair_overlap)) < 1e-9
    assert np.allclose(r1.t_emerge, r2.t_emerge, equal_nan=True)


def test_gd_deterministic_and_loss_starts_at_one():
    a = spectra.power_law_amplitudes(8, 0.8)
    kw = dict(k=4, eta=0.1, steps=50, sigma0=1e-3, seed=11, show_progress=False)
    r1 = em.population_gd(6, 64, a, **kw)
    r2 = em.population_gd(6, 64, a, **kw)
    assert np.array_equal(r1.loss, r2.loss)
    assert abs(r1.loss[0] - 1) < 1e-4  # output ~ m sigma0^2 at init


def test_greedy_pairing_matches_brute_force():
    rng = np.random.default_rng(5)
    m, d, P = 4, 9, 3
    a = spectra.power_law_amplitudes(P, 0.8)
    V = rng.standard_normal((m, d))
    st, te, u0 = em.greedy_pairing(V, a, 4)
    u = V[:, :P] ** 2 / np.sum(V * V, axis=1, keepdims=True)
    score = a[None, :] * u  # k = 4: a u^{(k-2)/2}
    S = score.copy()
    for j, p in zip(st, te):
        jj, pp = np.unravel_index(np.argmax(S), S.shape)
        assert (jj, pp) == (j, p)
        S[jj, :] = -1
        S[:, pp] = -1
    assert len(st) == min(m, P)
    T = em.transition_time(a[te], u0, 4, eta=0.1)
    assert np.all(np.diff(T) >= 0)  # greedy order = increasing predicted time
    assert np.allclose(T, 1 / (8 * a[te] * 0.1 * u0))


def test_toy_curve_matches_closed_form_delay():
    """k = 4 closed form: u = 1/2 at t/T = 1 - 2 u0 + u0 ln((1-u0)/u0)."""
    for u0 in (0.03, 1 / 512):
        c = em.toy_curve(4, u0=u0, rho0=1e-4, tau_max=2.0, rtol=1e-11, atol=1e-14)
        i = np.flatnonzero(c.u >= 0.5)[0]
        tau_half = np.interp(0.5, c.u[i - 1:i + 1], c.tau[i - 1:i + 1])
        # grid spacing near tau = 1 is 1e-5 -> linear interpolation error << 1e-5
        assert abs(tau_half - em.half_alignment_delay(u0)) < 2e-5
    assert abs(em.half_alignment_delay(0.03) - 1.0443) < 1e-4


def test_toy_curve_ends_learned_and_sum_is_weighted():
    c = em.toy_curve(4, u0=1 / 1024, rho0=1e-5)
    assert c.ell[0] > 0.999 and c.ell[-1] < 1e-6
    a = spectra.power_law_amplitudes(5, 1.0)
    T = np.array([1.0, 2, 3, 4, 5])
    L = em.toy_sum([0.0, 100.0], a, T, c)
    assert abs(L[0] - 1) < 1e-3 and L[1] < 1e-6
    L2 = em.toy_sum([100.0], a, T, c, learnable=2)
    assert abs(L2[0] - np.sum(a[2:] ** 2)) < 1e-6


def test_tail_loss_against_direct_sum():
    P, beta = 50, 0.8
    direct = np.sum(np.arange(P + 1, 2_000_001, dtype=float) ** (-1.6))
    head = np.sum(np.arange(1, P + 1, dtype=float) ** (-1.6))
    # the direct sum is truncated at 2e6: missing tail ~ (2e6)^{-0.6}/0.6 ~ 3e-4
    assert abs(em.tail_loss(P, beta) - direct / head) < 5e-4 / head


def test_frontier_is_lower_envelope():
    t = np.array([1.0, 10, 100])
    curves = {1: (t, np.array([1.0, 0.5, 0.4])), 10: (t, np.array([1.0, 0.3, 0.1]))}
    L, m = compute_frontier(curves, np.array([10.0, 100.0, 1000.0]))
    assert np.allclose(L, [0.5, 0.3, 0.1]) and np.array_equal(m, [1, 10, 10])


def test_online_sgd_small_eta_matches_population_gd_early():
    """Online SGD with eta ~ c/d^2 is a noisy discretisation of the same gradient flow: before
    any transition the population loss stays at 1 in both, the run is deterministic per seed."""
    a = spectra.power_law_amplitudes(2, 0.8)
    kw = dict(k=4, eta=1e-3, steps=3000, sigma0=1e-2, seed=3, show_progress=False)
    r1 = em.online_sgd(3, 16, a, **kw)
    r2 = em.online_sgd(3, 16, a, **kw)
    assert np.array_equal(r1.loss, r2.loss)
    assert abs(r1.loss[-1] - 1) < 0.05


def test_bad_inputs_raise_valueerror():
    a = spectra.power_law_amplitudes(4, 0.8)
    with pytest.raises(ValueError, match="beta"):
        spectra.power_law_amplitudes(4, -1.0)
    with pytest.raises(ValueError, match="P"):
        spectra.power_law_amplitudes(0, 1.0)
    with pytest.raises(ValueError, match="k"):
        em.population_gd(4, 16, a, k=3, show_progress=False)
    with pytest.raises(ValueError, match="eta"):
        em.population_gd(4, 16, a, eta=-0.1, show_progress=False)
    with pytest.raises(ValueError, match="a"):
        em.population_gd(4, 3, a, show_progress=False)
    with pytest.raises(ValueError, match="sigma0"):
        em.spherical_init(4, 16, 0.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="u0"):
        em.half_alignment_delay(0.7)
    with pytest.raises(ValueError, match="beta"):
        em.tail_loss(10, 0.4)
    with pytest.raises(ValueError, match="k"):
        em.transition_time(0.5, 0.01, k=2)
    with pytest.raises(ValueError, match="d"):
        em.online_sgd(8, 10, a, eta=1e-3, steps=10, reduced=True, show_progress=False)
    with pytest.raises(ValueError, match="n_init"):
        em.online_sgd(2, 16, a, eta=1e-3, steps=10, n_init=0, show_progress=False)
    r = em.population_gd(2, 16, a, steps=2, show_progress=False)
    with pytest.raises(ValueError, match="by"):
        em.emergence_times(r, by="neuron")


def test_divergence_is_reported():
    a = spectra.power_law_amplitudes(2, 0.8)
    with pytest.raises(DivergenceError, match="eta"):
        em.population_gd(2, 8, a, k=4, eta=1.0, steps=2000, sigma0=0.9, seed=0,
                         show_progress=False)


def test_reduced_sgd_one_step_equals_full_step():
    """The reduced online-SGD chain applies exactly the full-d update to (C, V_perp V_perp^T)
    when fed the coordinates of the same sample: z = W x_perp with V_perp = L W (L the Cholesky
    factor of the Gram matrix, W orthonormal rows) and rho^2 = |x_perp|^2 - |z|^2."""
    pytest.importorskip("numba")
    rng = np.random.default_rng(21)
    m, d, P, k, eta = 3, 12, 2, 4, 0.05
    a = spectra.power_law_amplitudes(P, 0.8)
    V = 0.5 * rng.standard_normal((m, d))
    x = rng.standard_normal(d)
    # full step (python reference of the per-sample gradient)
    nrm2 = np.sum(V * V, axis=1)
    z = V @ x / np.sqrt(nrm2)
    h, dh = em.hermite(k, z), em.hermite_deriv(k, z)
    r = nrm2 @ h - a @ em.hermite(k, x[:P])
    Vf = V - eta * r * ((2 * h - dh * z)[:, None] * V + (dh * np.sqrt(nrm2))[:, None] * x[None, :])
    # reduced step
    Vp = V[:, P:]
    G = Vp @ Vp.T
    W = np.linalg.solve(np.linalg.cholesky(G), Vp)
    assert np.allclose(W @ W.T, np.eye(m), atol=1e-12)
    zc = W @ x[P:]
    rho2 = x[P:] @ x[P:] - zc @ zc
    C = V[None, :, :P].copy()
    Gs = G[None].copy()
    ker = em.sgd._make_sgd_reduced_kernel()
    st = np.zeros((1, 1), dtype=np.int64)
    te = np.zeros((1, 1), dtype=np.int64)
    out = ker(C, Gs, x[None, :P].copy(), zc[None].copy(), np.array([rho2]), a, k, eta, st, te, 0.5,
              0.0, np.zeros((1, 2, 1)), np.full((1, 2, 1), np.nan))
    assert out == 0.0
    assert np.allclose(C[0], Vf[:, :P], atol=1e-12)
    assert np.allclose(Gs[0], Vf[:, P:] @ Vf[:, P:].T, atol=1e-12)


def test_reduced_sgd_matches_full_chain_in_law():
    """Same law, different random numbers: the final population loss and total squared norm of
    many short independent runs of the reduced chain and of the full d-dimensional chain pass a
    two-sample Kolmogorov-Smirnov test (p > 1e-3 each; independent seeds for the two samples).
    A wrong sampling of |x_perp|^2 (e.g. dropping |z|^2) fails it."""
    pytest.importorskip("numba")
    from scipy.stats import ks_2samp
    a = spectra.power_law_amplitudes(2, 0.8)
    kw = dict(k=4, eta=3e-4, steps=2000, sigma0=0.3, n_record=4, show_progress=False)
    n = 400
    runs = {red: [em.online_sgd(3, 24, a, seed=s + n * red, reduced=red, **kw) for s in range(n)]
            for red in (False, True)}
    for stat in (lambda r: r.loss[-1], lambda r: r.norms[-1].sum()):
        x, y = ([stat(r) for r in runs[red]] for red in (False, True))
        assert ks_2samp(x, y).pvalue > 1e-3


def test_sgd_emergence_detected():
    """A run long enough to learn the first direction records its emergence time."""
    a = spectra.power_law_amplitudes(1, 0.0)
    for red in (False, True):
        r = em.online_sgd(1, 32, a, k=4, eta=5e-5, steps=100000, sigma0=1e-2, seed=3,
                          show_progress=False, reduced=red)
        assert r.T_pred[0] < 30000  # this seed's single neuron is due well inside the run
        assert r.pair_overlap[-1, 0] > 0.9
        assert np.isfinite(r.t_emerge[0]) and 0.5 * r.T_pred[0] < r.t_emerge[0] < 100000


def test_direction_emergence_never_later_than_pair():
    """'Some neuron aligned with e_p' happens no later than 'the greedy partner aligned'."""
    a = spectra.power_law_amplitudes(6, 0.8)
    r = em.population_gd(12, 128, a, k=4, eta=0.2, steps=1500, sigma0=1e-3, seed=2,
                         show_progress=False)
    both = np.isfinite(r.t_emerge)
    assert both.sum() >= 3
    assert np.all(r.t_emerge_dir[both] <= r.t_emerge[both] + 1e-9)
    ratios = em.due_ratios(r, 1500, by="direction")
    assert len(ratios) == np.sum(r.T_pred <= 1500 / 1.3)


def test_batched_gd_equals_single_runs():
    """population_gd(seeds=...) stacks independent inits; each must reproduce
    population_gd(seed=s) to round-off (same init, same pairing, same emergence bookkeeping)."""
    a = spectra.power_law_amplitudes(16, 0.8)
    kw = dict(k=4, eta=0.2, steps=600, sigma0=1e-2, show_progress=False, n_record=40)
    seeds = [3, 8]
    rb = em.population_gd(6, 48, a, seeds=seeds, **kw)
    assert isinstance(rb, list) and len(rb) == 2
    for s, r in zip(seeds, rb):
        q = em.population_gd(6, 48, a, seed=s, **kw)
        assert q.loss[-1] < 0.9 * q.loss[0]  # something happened
        assert np.array_equal(q.students, r.students) and np.array_equal(q.teachers, r.teachers)
        assert np.max(np.abs(q.loss - r.loss)) < 1e-12
        assert np.max(np.abs(q.pair_overlap - r.pair_overlap)) < 1e-10
        assert np.allclose(q.t_emerge, r.t_emerge, equal_nan=True, rtol=0, atol=1e-8)
        assert np.allclose(q.t_emerge_dir, r.t_emerge_dir, equal_nan=True, rtol=0, atol=1e-8)


def test_runs_return_curves_in_steps():
    """Population GD and online SGD return Curves: time in steps, loss E[(f - f*)^2] (factor 1),
    GF time eta * steps through Curve.to, the run's arrays as extras."""
    a = spectra.power_law_amplitudes(4, 0.8)
    kw = dict(k=4, steps=300, n_record=20, show_progress=False)
    gd = em.population_gd(3, 16, a, eta=0.1, seed=2, **kw)
    gds = em.population_gd(3, 16, a, eta=0.1, seeds=[2, 5], **kw)
    sgd = em.online_sgd(3, 16, a, eta=1e-3, seed=2, **kw)
    sgds = em.online_sgd(3, 16, a, eta=1e-3, seed=2, n_init=2, **kw)
    for r, method, eta in [(gd, "population-gd", 0.1), (gds[1], "population-gd", 0.1),
                           (sgd, "online-sgd", 1e-3), (sgds[1], "online-sgd", 1e-3)]:
        assert isinstance(r, Curve) and r.t_unit == "steps" and r.loss_factor == 1.0
        assert r.meta["family"] == "emergence" and r.meta["method"] == method
        assert r.meta["eta"] == eta and r.meta["level"] == 0.5 and r.meta["m"] == 3
        assert np.array_equal(r.to(t_unit="time").t, eta * r.t)
        assert r.pair_overlap.shape == (len(r.t), len(r.students)) and r.norms.shape == (len(r.t), 3)
        for name in ("teachers", "u0", "T_pred", "t_emerge", "t_emerge_dir"):
            assert getattr(r, name).shape == r.students.shape
    assert gds[1].meta["seed"] == 5 and sgds[1].meta["init"] == 1
    with pytest.raises(ValueError, match="seed"):
        em.population_gd(3, 16, a, seed=1, seeds=[2], **kw)
    with pytest.raises(ValueError, match="reduced"):
        em.population_gd(3, 16, a, seeds=[2], reduced=False, **kw)


def test_toy_sum_widths_equals_toy_sum():
    a = spectra.power_law_amplitudes(300, 0.8)
    T = np.arange(1, 301) ** 0.8
    curve = em.toy_curve(4, u0=1e-3, rho0=1e-5)
    t = np.logspace(-0.5, 3, 30)
    ms = [0, 1, 7, 300, 1000]
    W = em.toy_sum_widths(t, a, T, curve, ms)
    for i, m in enumerate(ms):
        assert np.max(np.abs(W[i] - em.toy_sum(t, a, T, curve, learnable=m))) < 1e-12


def test_greedy_floor_matches_pairing_of_the_same_init():
    a = spectra.power_law_amplitudes(20, 0.8)
    f, T1 = em.greedy_floor(5, 64, a, [4, 9])
    for s, fs, ts in zip([4, 9], f, T1):
        r = em.population_gd(5, 64, a, eta=0.5, steps=1, seed=s, show_progress=False)
        assert abs(fs - np.sum(np.delete(a, r.teachers) ** 2)) < 1e-14
        assert abs(ts * 1.0 / 0.5 - r.T_pred[0]) < 1e-9 * r.T_pred[0]


def test_greedy_toy_uses_the_gd_initialisation_and_limits():
    """greedy_toy reproduces the pairing and predicted times of population_gd with the same seed
    (nested widths), starts at the full loss sum a^2 = 1, and ends at the greedy floor."""
    a = spectra.power_law_amplitudes(20, 0.8)
    curve = em.toy_curve(4, u0=1 / 64, rho0=1e-5)
    eta = 0.5
    L, T1 = em.greedy_toy([3, 6], 64, a, 7, [0.0, 1e9], curve, eta=eta)
    for m in (3, 6):
        r = em.population_gd(m, 64, a, eta=eta, steps=1, seed=7, show_progress=False)
        assert abs(T1[m] - r.T_pred[0]) < 1e-12 * r.T_pred[0]
        floor = np.sum(np.delete(a, r.teachers) ** 2)
        paired = np.sum(a[r.teachers] ** 2)
        # at t = 0 every pair sits at the curve's start ell(0) = 1 - 2 rho0 u0^2 + rho0^2
        assert abs(L[m][0] - (floor + curve.ell[0] * paired)) < 1e-14
        assert abs(L[m][0] - 1.0) < 1e-8
        # after every pair has emerged, what is left is the unpaired weight plus the curve's
        # residual ell(tau_max) of the paired ones
        resid = curve.ell[-1] * paired
        assert abs(L[m][1] - floor - resid) < 1e-12
        direct = em.greedy_toy_loss([0.0, 1e9], a, r.teachers, r.T_pred, curve)
        assert np.max(np.abs(direct - L[m])) < 1e-15
    with pytest.raises(ValueError):
        em.greedy_toy_loss([1.0], a, [0, 0], [1.0, 2.0], curve)


def test_frontier_window_rule():
    """(m_min 4 T1, m_max T1 (m_max/4)^beta), independent of the order of the widths."""
    lo, hi = em.frontier_window([64, 8, 256], 10.0, 0.8)
    assert lo == 8 * 4 * 10.0
    assert abs(hi - 256 * 10.0 * 64 ** 0.8) < 1e-9 * hi
    with pytest.raises(ValueError):
        em.frontier_window([8], 1.0, 0.8)


def _fake_run(T_pred, best_teacher, best_overlap, growth, teachers=None, m=None):
    """A run Curve with given greedy times, final alignments and norm growth (no dynamics)."""
    n = len(T_pred)
    m = n if m is None else m
    te = np.arange(n) if teachers is None else np.asarray(teachers)
    norms = np.ones((2, m)) * 1e-6
    norms[-1] = 1e-6 * np.asarray(growth, dtype=float)
    po = np.zeros((2, n))
    return Curve(np.array([0, 10]), np.ones(2), t_unit="steps", loss_factor=1.0,
                 meta=dict(family="emergence", eta=0.1, level=0.5),
                 extras=dict(pair_overlap=po, norms=norms, students=np.arange(n), teachers=te,
                             u0=np.full(n, 1e-3), T_pred=np.asarray(T_pred, float),
                             t_emerge=np.full(n, np.nan), t_emerge_dir=None,
                             final_best_teacher=np.asarray(best_teacher),
                             final_best_overlap=np.asarray(best_overlap, dtype=float)))


def test_unused_neurons_counts_captured_and_grown():
    # 8 neurons; T_pred 10..80, run length 10: neurons with T_pred > 20 are late (3..8 -> indices 2..7)
    T = 10.0 * np.arange(1, 9)
    best_t = np.arange(8)
    best_o = np.full(8, 0.01)
    growth = np.full(8, 1.5)
    r = em.unused_neurons(_fake_run(T, best_t, best_o, growth), 10.0)
    assert list(r.late) == [2, 3, 4, 5, 6, 7] and r.holds and r.violations == 0
    assert r.max_growth_free == pytest.approx(1.5)
    # neuron 5 captured by direction 0 (the partner of neuron 0): a violation
    best_t[5], best_o[5] = 0, 0.9
    r = em.unused_neurons(_fake_run(T, best_t, best_o, growth), 10.0)
    assert list(r.captured) == [5] and r.violations == 1 and not r.holds
    # neuron 6 aligned with its own (late) direction: early, not a violation of (a)
    best_t[5], best_o[5] = 5, 0.01
    best_o[6] = 0.9
    r = em.unused_neurons(_fake_run(T, best_t, best_o, growth), 10.0)
    assert list(r.early) == [6] and r.holds
    # an unaligned late neuron that grew 20x: a violation; an unpaired neuron (m > P) is late
    growth[7] = 20.0
    r = em.unused_neurons(_fake_run(T, np.r_[best_t, 0], np.r_[best_o, 0.01], np.r_[growth, 1.0],
                                    m=9), 10.0)
    assert list(r.grown) == [7] and 8 in r.late and r.violations == 1
    # never empty: with every T_pred early, the last quarter is tested
    r = em.unused_neurons(_fake_run(T / 100, best_t, np.full(8, 0.01), np.ones(8)), 10.0)
    assert list(r.late) == [6, 7]


def test_unused_neurons_on_a_real_run():
    a = spectra.power_law_amplitudes(16, 0.8)
    r = em.population_gd(8, 64, a, eta=0.2, steps=400, seed=3, show_progress=False)
    u = em.unused_neurons(r, 400)
    assert len(u.late) >= 2 and np.all(u.growth > 0)
    assert u.violations == len(u.captured) + len(u.grown)


def test_converged_pairs_and_emergence_slope():
    a = spectra.power_law_amplitudes(8, 0.8)
    r = em.population_gd(4, 64, a, eta=0.2, steps=3000, seed=1, show_progress=False)
    ov, nr = em.converged_pairs(r, 3000, a)
    assert len(ov) == np.sum(r.T_pred <= 1000)
    if len(ov):
        assert np.all(ov > 0.9) and np.all(np.abs(nr - 1) < 0.2)
    T = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    b, se, n = em.emergence_slope(T, 1.1 * T)
    assert n == 5 and b == pytest.approx(1.0) and se == pytest.approx(0.0, abs=1e-12)
    b, se, n = em.emergence_slope(T, np.r_[np.full(4, 5.0), np.nan])
    assert n == 4 and b == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(em.emergence_slope(T[:2], T[:2])[0])
