"""Unit tests of scalinglaws.committee.linear (closed-form linear theory).

References are independent computations: the library's ODE integrator (scalinglaws.committee.ode), direct
iteration of the finite-N recursion, the small-eta limit, the continuum (incomplete-gamma) form and
a Monte-Carlo SGD simulation.  Tolerances are stated at each assertion.
"""
import numpy as np
import pytest

from scalinglaws.committee import linear as lin
from scalinglaws.committee import ode
from scalinglaws.errors import DivergenceError
from scalinglaws.committee.setup import Overlaps, Setup
from scalinglaws.spectra import Spectrum


@pytest.mark.parametrize("K,M", [(1, 1), (2, 3)])
def test_closed_form_matches_ode(K, M):
    # ODE (BDF, rtol 1e-10) vs one eigendecomposition: both exact for N -> infinity; tolerance
    # 1e-6 relative is the integrator error budget (rtol 1e-10 accumulated over ~1e3 steps).
    sp = Spectrum.power_law(16, 1.0)
    setup = Setup(K, M, 0.3, "linear", sp)
    init = Overlaps.random(setup, 64, seed=3, sigma_J=0.5)
    t = ode.log_times(50.0, n=30, t_min=0.05)
    traj = ode.integrate(setup, init, times=t, rtol=1e-10, atol=1e-14)
    E0 = lin.group_errors(init, setup)
    th = lin.eps_g(sp, lin.effective_eta(setup), t, E0=E0)
    assert np.max(np.abs(th / traj.loss - 1)) < 1e-6


def test_laplace_equals_eig():
    # two exact evaluations of Eq. (2); Talbot with 32 nodes is accurate to ~1e-9 relative
    sp = Spectrum.power_law(512, 0.75)
    t = np.logspace(-2, 4, 25)
    a = lin.eps_g(sp, 0.02, t, sigma_J=0.1, method="eig", sigma=0.3)
    b = lin.eps_g(sp, 0.02, t, sigma_J=0.1, method="laplace", sigma=0.3)
    assert np.max(np.abs(a / b - 1)) < 1e-8


def test_small_eta_limit():
    # eps_exact / eps_small -> 1 as eta -> 0 at fixed eta*alpha; the relative gap is O(eta)
    sp = Spectrum.power_law(64, 1.0)
    gaps = []
    for eta in (1e-2, 1e-3):
        t = np.array([0.5, 5.0, 50.0]) / eta
        gaps.append(np.max(np.abs(lin.eps_g(sp, eta, t) / lin.small_eta(sp, eta, t) - 1)))
    assert gaps[1] < 0.2 * gaps[0] and gaps[1] < 1e-2


def test_finite_N_recursion_is_iterated_recursion():
    N, sp = 64, Spectrum.power_law(16, 1.0)
    eta, f, lam = 0.5, sp.fractions, sp.eigenvalues
    E = np.full(16, 1.25)
    ep = eta / N
    out = []
    for n in range(5 * N + 1):
        if n % N == 0:
            out.append(0.5 * np.sum(f * lam * E))
        eps = 0.5 * np.sum(f * lam * E)
        E = (1 - 2 * ep * lam + 2 * ep ** 2 * lam ** 2) * E + ep ** 2 * N * lam * 2 * eps
    th = lin.eps_g(sp, eta, np.arange(6.0), E0=np.full(16, 1.25), N=N)
    assert np.allclose(th, out, rtol=1e-10)   # round-off only


def test_incomplete_gamma_inside_window():
    # continuum vs discrete sum: the Euler-Maclaurin edge terms are lambda_1 exp(-x_1)/2 (x_1 =
    # 2 eta lambda_1 alpha >= 20 here, negligible) and ~lambda_L/2 relative to the sum (< 1e-4)
    L, beta, eta = 4096, 0.75, 0.01
    sp = Spectrum.power_law(L, beta)
    lo, hi = 20 / (2 * eta * sp.eigenvalues[0]), 0.1 / (2 * eta * sp.eigenvalues[-1])
    t = np.logspace(np.log10(lo), np.log10(hi), 20)
    rel = np.abs(lin.incomplete_gamma(L, beta, eta, t) / lin.small_eta(sp, eta, t) - 1)
    assert rel.max() < 1e-4


def test_stability_threshold_and_growth():
    sp = Spectrum.power_law(32, 1.0)
    ec = lin.stability_threshold(sp)
    assert ec == pytest.approx(2.0)
    assert lin.growth_rate(sp, 1.05 * ec) > 0 > lin.growth_rate(sp, 0.95 * ec)
    mu = np.linalg.eigvals(lin.drift_matrix(sp, 1.05 * ec)).real.max()
    assert lin.growth_rate(sp, 1.05 * ec) == pytest.approx(mu, rel=1e-8)
    t = np.array([0.0, 50.0, 100.0])
    e = lin.eps_g(sp, 1.05 * ec, t, allow_divergence=True)
    assert e[2] > e[1] > e[0]
    with pytest.raises(DivergenceError, match="eta_c"):
        lin.eps_g(sp, 1.05 * ec, t)
    assert lin.eps_g(sp, 0.95 * ec, [200.0])[0] < 1e-3


def test_trainable_asymptote():
    # exact asymptote of the restricted dynamics (notes §3.4: 1.0247 for N_l = 16, N = 256)
    sp = Spectrum.power_law(256, 1.0)
    r = lin.trainable_asymptote(sp, 0.05, 16, sigma_J=0.01) / lin.frozen_floor(sp, 16, sigma_J=0.01)
    assert r == pytest.approx(1.0247, abs=1e-4)
    assert lin.eps_g(sp, 0.05, [1e6], sigma_J=0.01, trained=16)[0] == pytest.approx(
        lin.trainable_asymptote(sp, 0.05, 16, sigma_J=0.01), rel=1e-10)


def test_eigenbasis_sgd_matches_finite_N_mean():
    # Monte-Carlo mean over 64 seeds vs exact finite-N mean (per-seed initial errors): 4 SE
    N, sp = 64, Spectrum.power_law(64, 1.0)
    t = np.array([0.0, 1.0, 5.0])
    sim = lin.simulate_eigenbasis(sp.diagonal(N), 0.1, t, range(64), sigma_J=0.5, n_trained=16)
    tt, eps, E0 = sim.t, sim.seeds, sim.E0
    assert sim.t_unit == "alpha" and sim.loss_factor == 0.5
    th = lin.eps_g(sp, 0.1, tt, E0=E0, N=N, trained=16)            # (S, n_t)
    d = eps - th
    se = d.std(axis=0, ddof=1) / np.sqrt(64)
    assert np.all(np.abs(d.mean(axis=0))[1:] <= 4 * se[1:])


@pytest.mark.parametrize("kw", [dict(eta=-1.0), dict(eta=np.nan), dict(times=[-1.0]),
                                dict(E0=np.ones(3)), dict(trained=0), dict(method="rk4"),
                                dict(N=0), dict(sigma=-1.0)])
def test_bad_inputs_raise(kw):
    sp = Spectrum.power_law(8, 1.0)
    args = dict(eta=0.1, times=[0.0, 1.0])
    args.update({k: v for k, v in kw.items() if k in args})
    extra = {k: v for k, v in kw.items() if k not in args}
    with pytest.raises(ValueError):
        lin.eps_g(sp, args["eta"], args["times"], **extra)


def test_bad_inputs_other():
    with pytest.raises(ValueError):
        lin.incomplete_gamma(1, 1.0, 0.1, [1.0])
    with pytest.raises(ValueError):
        lin.incomplete_gamma(64, 1.0, 0.1, [0.0])
    with pytest.raises(ValueError):
        lin.simulate_eigenbasis([1.0, -1.0], 0.1, [1.0], [0])
    with pytest.raises(ValueError):
        lin.effective_eta(Setup(1, 1, 0.1, "erf"))


def test_agreement_statistic():
    rng = np.random.default_rng(0)
    th = np.ones((50, 5))
    sim = th + 0.1 * rng.standard_normal((50, 5))
    assert lin.agreement(sim, th)["max_ratio"] < 1          # pure noise: inside 3 sigma
    assert lin.agreement(sim + 0.2, th)["max_ratio"] > 1    # a 14-SE offset is detected
    assert lin.agreement(th + 1e-17, th)["max_ratio"] < 1   # round-off at alpha = 0 is ignored


def test_agreement_bonferroni_widens_k():
    th = np.zeros((10, 3))
    sim = th + np.random.default_rng(1).standard_normal((10, 3))
    assert lin.agreement(sim, th, n_compare=50)["k"] > lin.agreement(sim, th)["k"] > 3


def test_shifted_exponent():
    t = np.array([0.0, 0.5, 1.0, 10.0, 100.0])
    e = np.array([1.0, 0.8, 0.5, 0.2, 0.1])
    a = lin.shifted_exponent(t, e, 0.1, 1.0)
    assert np.allclose(a[:3], e[:3])                               # unchanged before t0
    assert np.allclose(a[3:], e[3:] * t[3:] ** -0.1)
    # per-seed floors: the part above the floor is shifted, the floor is kept
    E = np.vstack([e + 1, e + 2])
    b = lin.shifted_exponent(t, E, 0.5, 1.0, floor=np.array([1.0, 2.0]))
    assert np.allclose(b - np.array([[1.0], [2.0]]), lin.shifted_exponent(t, e, 0.5, 1.0))
    with pytest.raises(Exception):
        lin.shifted_exponent(t, e[:3], 0.1, 1.0)


def test_agrees_is_agreement_ratio_at_most_one():
    rng = np.random.default_rng(0)
    th = np.ones((20, 5))
    sim = th + 0.01 * rng.standard_normal((20, 5))
    assert lin.agrees(sim, th) == (lin.agreement(sim, th)["max_ratio"] <= 1)
    assert lin.agrees(sim, th)
    assert not lin.agrees(sim + 0.05, th)
