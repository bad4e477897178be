"""Checks of chapter 03_specialisation that must fail on their competing hypothesis.

Each test feeds the alternative value (or the alternative input) that the chapter states for a
check into the *same decision* the chapter uses, and asserts that the decision rejects it. A check
whose decision also accepted its alternative could not tell the two hypotheses apart.
"""

import math

import numpy as np
import pytest

from scalinglaws.analysis import fits
from scalinglaws.committee import specialisation as sp
from scalinglaws.book.checks import passes
from scalinglaws.committee.setup import Setup


def _isotropic_rates(eta=0.5):
    """Slowest and next distinct eps_g decay rates, K = M = 2, L = 1, orthonormal teacher."""
    fp = sp.specialised_fixed_point(np.eye(2)[None], [0, 1])
    return sp.two_slowest_rates(sp.relaxation_rates(Setup(2, 2, eta), fp))


def test_ode_tail_rate_rejects_the_next_mode():
    # check: |fitted ODE rate / 2 mu_1 - 1| <= 0.02; alternative: the tail follows the next mode
    r1, r2 = _isotropic_rates()
    assert passes("abs", 0.0, 0.003, 0.02)[0]                 # the chapter's value (0.3 %)
    assert not passes("abs", 0.0, abs(r2 / r1 - 1), 0.02)[0]


def test_sgd_rate_ratio_rejects_the_next_mode():
    # check: mean of the per-seed SGD rate / Jacobian rate within 3 SE of 1
    r1, r2 = _isotropic_rates()
    # per-seed fitted SGD rates of the chapter's default run (8 seeds), over the Jacobian rate
    ratios = np.array([0.02234, 0.02221, 0.02226, 0.02216, 0.02201, 0.02197, 0.02206, 0.02204]) / r1
    m, tol = sp.mean_and_tolerance(ratios, n_se=3.0)
    assert passes("abs", 1.0, m, tol)[0]
    # the alternative: the same seed scatter around the next mode's ratio
    m_alt, tol_alt = sp.mean_and_tolerance(ratios - ratios.mean() + r2 / r1, n_se=3.0)
    assert not passes("abs", 1.0, m_alt, tol_alt)[0]


def _curves(paired, S=8, n=20, noise=0.02, seed=0):
    rng = np.random.default_rng(seed)
    # paired (aligned restarts): each seed has its own reference, scattered by 20 %; unpaired:
    # one reference, and the SGD scatter alone sets the standard error
    spread = rng.uniform(0.8, 1.2, (S, 1)) if paired else np.ones((S, 1))
    ref = np.geomspace(1e-2, 1e-6, n) * spread
    sim = ref * (1 + noise * rng.standard_normal((S, n)))
    return sim, ref


@pytest.mark.parametrize("paired", [True, False])
def test_sgd_vs_ode_z_rejects_a_10_percent_offset(paired):
    # checks: max over times of |SGD - ODE| / SE <= 3 (aligned: paired; large L: SE of SGD only)
    sim, ref = _curves(paired)
    assert passes("abs", 0.0, sp.max_z(sim, ref, paired=paired), 3.0)[0]
    assert not passes("abs", 0.0, sp.max_z(sim, 1.1 * ref, paired=paired), 3.0)[0]


def test_end_state_checks_reject_the_plateau():
    s = Setup(2, 2, 0.5)
    q, r = 1 / 3, 1 / math.sqrt(6)                     # symmetric plateau, T = 1 (eta -> 0)
    C = np.array([[q, q, r, r], [q, q, r, r], [r, r, 1, 0], [r, r, 0, 1.0]])
    gap_plateau = float(sp.specialisation_gap(C[:2, 2:], C[2:, 2:]))
    eps_plateau = s.eps_g(C)
    assert gap_plateau == pytest.approx(0.0, abs=1e-12)
    assert eps_plateau == pytest.approx(5.8054e-3, rel=1e-4)
    assert not passes("abs", 1.0, gap_plateau, 1e-3)[0]    # gap -> 1 within 1e-3
    assert not passes("le", 0.0, eps_plateau, 1e-9)[0]     # eps_g(alpha_max) <= 1e-9


@pytest.mark.parametrize("beta_alt", [0.5, 2.0])
def test_large_L_slope_rejects_another_betas_exponent(beta_alt):
    # check: power-law fit of eps_g over the window [10, 200], within 0.05 of -beta/(1+beta), beta = 1
    a = np.geomspace(0.1, 1e4, 80)
    target = -0.5
    ok = fits.fit_power_law(a, 0.3 * a ** target, window=(10.0, 200.0)).slope
    assert passes("abs", target, ok, 0.05)[0]
    alt = fits.fit_power_law(a, 0.3 * a ** (-beta_alt / (1 + beta_alt)), window=(10.0, 200.0)).slope
    assert not passes("abs", target, alt, 0.05)[0]


def test_linearisation_check_rejects_the_small_L_deviation():
    # check: max |linearised / ODE - 1| <= 0.05 at the largest L; alternative: the L = 1 deviation
    # of the chapter's default run (1.00: right rate, wrong amplitude)
    assert not passes("abs", 0.0, 1.00, 0.05)[0]


def test_fig6_sgd_ode_rule_rejects_isotropic_inputs():
    """The Fig. 6 comparison (3 SE + K/N allowance) accepts the structured ODE and rejects the ODE of
    the same physical overlaps with isotropic inputs, on a small copy of the chapter's run
    (K = M = 4, L = N = 64, eta = 0.01, sigma_J = 1e-6)."""
    from scalinglaws.experiments import ch03_specialisation as ch03
    r = ch03.fig6(K=4, L=64, N=64, eta=0.01, sigma_J=1e-6, beta=1.0, seed=1, t_max=200.0, seeds_sgd=3,
                  t_max_sgd=100.0)
    assert ch03.sgd_ode_ratio(r["sgd"], r["ode_sgd"], 4, 64) <= 1.0
    assert ch03.sgd_ode_ratio(r["sgd"], r["iso_sgd"], 4, 64) > 1.0


def test_specialised_power_law_check_rejects_an_exponential():
    """Decade-slope check (<= 0.15 from the window slope) on an exponential decay with the window slope
    of the chapter's exploration (-0.5 on 1e2..1e4): rejected; on a power law: accepted."""
    from scalinglaws.experiments import ch03_specialisation as ch03
    t = np.logspace(0, 4, 400)
    r = 0.5 * np.log(100) / (1e4 - 1e2)
    for eps, ok in ((np.exp(-r * t), False), (t ** -0.5, True)):
        runs = [dict(t=t, eps=eps, lin=eps, gap_min=np.ones_like(t))] * 2
        assert passes("le", 0.0, ch03.specialised_summary(runs, [1e2, 1e4])["local_dev"], 0.15)[0] is ok


def test_specialised_beta_dependence_check_rejects_no_dependence():
    # check: (|a(beta_hi)| - |a(beta_lo)|)/combined SE >= 3; alternative: equal exponents (0)
    assert not passes("ge", 3.0, 0.0, 0.0)[0]
