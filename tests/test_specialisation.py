"""Unit tests of scalinglaws.committee.specialisation (gap, assignment, fixed point, Jacobian, linearisation)."""

import numpy as np
import pytest

from scalinglaws.committee import ode
from scalinglaws.committee import specialisation as sp
from scalinglaws.committee.setup import Overlaps, Setup
from scalinglaws.spectra import Spectrum


def _random_T(L, M, seed=0, N=60):
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((M, N))
    sizes = N // L
    return np.stack([B[:, l * sizes:(l + 1) * sizes] @ B[:, l * sizes:(l + 1) * sizes].T / N
                     for l in range(L)])


def test_gap_and_assignment_at_specialised_and_symmetric_states():
    T = _random_T(1, 3)[0]
    perm = np.array([2, 0, 1])
    R = T[perm]                                   # J_i = B_perm(i)
    A = sp.teacher_coefficients(R, T)
    np.testing.assert_allclose(A, np.eye(3)[perm], atol=1e-12)   # exact permutation matrix
    assert sp.specialisation_gap(R, T) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_array_equal(sp.assignment(R, T), perm)
    R_sym = np.ones((3, 3)) @ T * 0.3             # J_i = 0.3 sum_n B_n: symmetric plateau-like state
    assert sp.specialisation_gap(R_sym, T) == pytest.approx(0.0, abs=1e-12)
    # batched leading axes
    g = sp.specialisation_gap(np.stack([R, R_sym]), np.stack([T, T]))
    np.testing.assert_allclose(g, [1.0, 0.0], atol=1e-12)


def test_specialised_state_is_a_fixed_point_at_finite_eta():
    L, K = 3, 2
    s = Setup(K, K, 0.7, spectrum=Spectrum.power_law(L, 1.0))
    fp = sp.specialised_fixed_point(_random_T(L, K, 1), [1, 0])
    dQ, dR = ode.rhs(s, fp.Q, fp.R, fp.T)
    # the error vanishes identically, so drift and eta^2 term vanish up to arcsin round-off
    assert np.max(np.abs(dQ)) < 1e-13 and np.max(np.abs(dR)) < 1e-13


def test_structured_jacobian_matches_central_differences():
    L, K = 4, 2
    s = Setup(K, K, 0.3, spectrum=Spectrum.power_law(L, 1.0))
    fp = sp.specialised_fixed_point(_random_T(L, K, 2), [0, 1])
    J1 = sp.jacobian(s, fp, "structured")
    J2 = sp.jacobian(s, fp, "central")
    # forward difference (h = 1e-7) in the structured part: error O(h) relative to |J|
    assert np.max(np.abs(J1 - J2)) < 1e-5 * np.max(np.abs(J2))
    ev = sp.relaxation_rates(s, fp)
    assert np.all(ev.real < 0)                     # the specialised state is stable
    assert ev[0].real >= ev[-1].real               # sorted slowest first


def test_linear_network_R_rates_are_eta_lambda():
    """Linear K = M = 1: dR^[l]/dalpha = eta lambda_l (T^[l] - R^[l]) exactly, so the Jacobian
    at the fixed point contains -eta lambda_l for every group (closed form)."""
    L = 5
    s = Setup(1, 1, 0.2, activation="linear", spectrum=Spectrum.power_law(L, 1.0))
    fp = sp.specialised_fixed_point(_random_T(L, 1, 3), [0])
    ev = np.sort(sp.relaxation_rates(s, fp).real)
    for lam in s.spectrum.eigenvalues:
        assert np.min(np.abs(ev + s.eta * lam)) < 1e-6 * s.eta * lam


def test_linearised_curve_is_exact_for_the_linear_network():
    """For linear units the order-parameter ODE is itself linear (the eta^2 term is linear in the
    overlaps), so the Jacobian-mode solution must equal the integrated ODE up to integrator error."""
    L = 6
    s = Setup(1, 1, 0.3, activation="linear", spectrum=Spectrum.power_law(L, 1.0))
    init = Overlaps.random(s, 120, seed=4, sigma_J=0.5)
    fp = sp.specialised_fixed_point(init.T, [0])
    times = ode.log_times(50.0, n=30, t_min=0.1)
    o = ode.integrate(s, init, times=times, method="BDF", rtol=1e-10, atol=1e-13, show_progress=False)
    lin = sp.linearised_eps_g(s, fp, init, times)
    # tolerance: BDF rtol 1e-10 plus the forward-difference Jacobian (1e-7 relative)
    np.testing.assert_allclose(lin, o.loss, rtol=1e-5)


def test_erf_L1_tail_rate_equals_twice_slowest_eigenvalue():
    s = Setup(2, 2, 0.5)
    init = Overlaps.random(s, 200, seed=5, sigma_J=0.01)
    times = np.linspace(0, 3000, 601)
    o = ode.integrate(s, init, times=times, show_progress=False)
    fp = sp.specialised_fixed_point(init.T, sp.assignment(o.R[-1], o.T))
    mu = sp.relaxation_rates(s, fp)[0].real
    rate, _ = sp.exponential_rate(o.t, o.loss, (1e-10, 1e-7))
    # the second mode is a few % faster; deep in the tail its weight is < 2 % of the slope
    assert rate == pytest.approx(-2 * mu, rel=0.02)


def test_escape_time_and_ode_from():
    t = np.linspace(0, 10, 101)
    gap = 1 / (1 + np.exp(-(t - 4.0)))
    assert sp.escape_time(t, gap, 0.5) == pytest.approx(4.0, abs=0.05)
    assert np.isnan(sp.escape_time(t, 0.1 * gap, 0.5))
    s = Setup(2, 2, 0.5)
    init = Overlaps.random(s, 100, seed=6, sigma_J=0.1)
    full = ode.integrate(s, init, times=[0.0, 5.0, 10.0], keep_groups=True, show_progress=False)
    rest = sp.ode_from(s, sp.state_at(full, 1), 5.0, [10.0])
    # restarting from the ODE's own state reproduces it (integrator tolerance)
    assert rest.loss[0] == pytest.approx(full.loss[2], rel=1e-5)


def test_aligned_comparison_small_sgd():
    s = Setup(2, 2, 0.5)
    times = np.arange(0.0, 800.0, 10.0)
    runs = sp.simulate_seeds(s, 64, times, [0, 1, 2], sigma_J=0.01, n_jobs=1)
    ac = sp.aligned_comparison(s, runs, 0.3, 5)
    assert ac.sgd.shape == ac.ode.shape == (3, 5)
    assert np.all(np.isfinite(ac.diff_se)) and np.all(ac.diff_se > 0)
    np.testing.assert_allclose(ac.lags, 10.0 * np.arange(1, 6))


def test_bad_parameters():
    with pytest.raises(ValueError, match="perm"):
        sp.specialised_fixed_point(_random_T(1, 2), [0, 0])
    with pytest.raises(ValueError, match="level"):
        sp.escape_time(np.arange(3.0), np.arange(3.0), 1.5)
    with pytest.raises(ValueError, match="R"):
        sp.assignment(np.ones((3, 2)), np.eye(2))


# ---- decision helpers of the chapter's checks ---------------------------------------------------
def test_two_slowest_rates_merges_degenerate_pair():
    # a degenerate slowest pair (symmetric teacher), then a distinct mode; rates are 2|Re mu|
    mu = np.array([-0.011, -0.011 * (1 + 1e-9), -0.024, -0.2 + 0.1j])
    r1, r2 = sp.two_slowest_rates(mu)
    assert r1 == pytest.approx(0.022) and r2 == pytest.approx(0.048)
    assert np.isnan(sp.two_slowest_rates(np.array([-0.1, -0.1]))[1])
    with pytest.raises(ValueError, match="stable"):
        sp.two_slowest_rates(np.array([0.1, -0.2]))


def test_two_slowest_rates_at_the_isotropic_specialised_point():
    # K = M = 2, L = 1, orthonormal teacher, eta = 0.5: the chapter's tail rate and its competitor
    fp = sp.specialised_fixed_point(np.eye(2)[None], [0, 1])
    r1, r2 = sp.two_slowest_rates(sp.relaxation_rates(Setup(2, 2, 0.5), fp))
    assert r1 == pytest.approx(0.02209, rel=1e-3)
    assert r2 / r1 > 2.0          # the next distinct mode decays more than twice as fast


def test_mean_and_tolerance():
    m, tol = sp.mean_and_tolerance([1.0, 2.0, 3.0], n_se=3.0)
    assert m == 2.0 and tol == pytest.approx(3 * 1.0 / np.sqrt(3))
    with pytest.raises(ValueError):
        sp.mean_and_tolerance([1.0])


def test_max_z_paired_and_unpaired():
    rng = np.random.default_rng(0)
    ref = np.geomspace(1e-1, 1e-4, 12)
    sim = ref * (1 + 0.02 * rng.standard_normal((8, 12)))
    d = sim - ref
    z_p = np.abs(d.mean(0) / (d.std(0, ddof=1) / np.sqrt(8)))
    assert sp.max_z(sim, np.broadcast_to(ref, sim.shape), paired=True) == pytest.approx(z_p.max())
    z_u = np.abs(sim.mean(0) - ref) / (sim.std(0, ddof=1) / np.sqrt(8))
    assert sp.max_z(sim, ref, paired=False) == pytest.approx(z_u.max())
    mask = np.arange(12) >= 6
    assert sp.max_z(sim, ref, paired=False, mask=mask) == pytest.approx(z_u[6:].max())
    with pytest.raises(ValueError):
        sp.max_z(sim, ref, paired=True)            # a paired test needs a per-seed reference
