"""Must-fail tests of chapter 4 (04_feature_learning) and its section 4.5 (04b_relu_mlps).

Each test feeds the *competing hypothesis* into the same decision a chapter check uses and asserts
that the decision rejects it (and, where cheap, that the chapter's own hypothesis passes).  A check
that could not fail on its alternative would be no test of the claim.
"""

import numpy as np
import pytest

from scalinglaws import spectra
from scalinglaws.kernel import dmft

from scalinglaws.kernel import mlp
from scalinglaws.kernel import featurelearning as fl
from scalinglaws.kernel import randomfeatures as rf
from scalinglaws.book.checks import passes
from scalinglaws.analysis.fits import fit_power_law

inf = np.inf


# ------------------------------------------------------------------ 4.1 kernel limit (KLH, (B))

@pytest.fixture(scope="module")
def small_rf():
    """A small version of the chapter's first panel: finite N at P = ∞ and finite P."""
    lam, w2 = spectra.power_law_task(200, 2.0, 1.5)
    t = np.geomspace(1.0, 1e4, 10)
    out = {}
    for k, (N, P) in enumerate([(50, inf), (100, 50)]):
        out[N, P] = (dmft.dmft_loss(t, lam, w2, N, P, n=16),
                     rf.simulate(lam, w2, N, P, t, draws=16, seed=100 + k, keep_v=True))
    return lam, w2, t, out


def test_full_loss_check_rejects_the_one_point_theory(small_rf):
    """Check 'DMFT full loss vs exact simulation' (le 1 on max |Δ|/(3 s.e. + 2%)): the one-point
    theory (bias of the ensembled predictor) in place of the full loss must fail."""
    _, _, _, out = small_rf
    z_full = rf.deviation_ratio(out[50, inf][1].loss, out[50, inf][1].sem, out[50, inf][0].loss)
    assert passes("le", 1.0, z_full, 0.0)[0]
    for th, sim in out.values():
        z_alt = rf.deviation_ratio(sim.loss, sim.sem, th.bias)
        assert not passes("le", 1.0, z_alt, 0.0)[0]


def test_bias_check_rejects_bias_equal_to_loss(small_rf):
    lam, _, _, out = small_rf
    th, sim = out[100, 50]
    b_sim, b_se = rf.ensemble_bias(sim, lam)
    assert not passes("le", 1.0, rf.deviation_ratio(b_sim, b_se, th.loss), 0.0)[0]


def test_rise_check_rejects_no_rise(small_rf):
    """Check 'late-time rise from data reuse' (rel 5%): 'no rise' (ratio 1) must fail."""
    _, _, _, out = small_rf
    th = out[100, 50][0].loss
    th_rise = th[-1] / th.min()
    assert th_rise > 1.1
    assert not passes("rel", th_rise, 1.0, 0.05)[0]


def test_frontier_surface_check_rejects_no_width_effect():
    """Check 'DMFT loss surface vs simulation for the frontier': the N = ∞ loss must fail at small N."""
    lam, w2 = spectra.source_task(500, 2.0, 0.5)
    t = np.geomspace(0.5, 1e4, 12)
    sim = rf.simulate(lam, w2, 8, inf, t, draws=8, seed=808)
    L_inf = (lam * w2) @ np.exp(-2 * np.outer(lam, t))
    assert not passes("le", 1.0, rf.deviation_ratio(sim.loss, sim.sem, L_inf), 0.0)[0]


def test_langevin_check_rejects_theory_without_langevin_term():
    lam, w2 = spectra.power_law_task(200, 2.0, 1.5)
    P, sigma2 = 50, 1.0
    T = kap = sigma2 / P
    t = np.geomspace(0.1, 1e4, 9)
    gf = dmft.dmft_loss(t, lam, w2, inf, P, sigma2=sigma2, kappa=kap, n=16, bias=False).loss
    full = gf + dmft.langevin_variance(t, lam, P, T=T, kappa=kap, n=16)
    sim = rf.simulate(lam, w2, inf, P, t, draws=12, seed=500, sigma2=sigma2, kappa=kap, T=T)
    assert passes("le", 1.0, rf.deviation_ratio(sim.loss, sim.sem, full), 0.0)[0]
    assert not passes("le", 1.0, rf.deviation_ratio(sim.loss, sim.sem, gf), 0.0)[0]


def test_weight_decay_check_rejects_no_shift_of_t_star():
    """Check 't* with weight decay' (rel 10%): 'weight decay does not shift t*' must fail for the
    chapter's κ = 1e-2 (here at P = 100, the fast-mode size)."""
    lam, w2 = spectra.power_law_task(300, 2.0, 1.5)
    t = np.geomspace(0.1, 1e4, 41)
    opt = {k: dmft.early_stopping_optimum(t, dmft.dmft_loss(t, lam, w2, inf, 100, sigma2=1.0, kappa=k,
                                                            n=16, bias=False).loss)
           for k in (0.0, 1e-2)}
    assert not passes("rel", opt[1e-2][0], opt[0.0][0], 0.10)[0]


# ------------------------------------------------------------------ 4.2 feature learning (BAP)

def test_rich_time_exponent_check_rejects_lazy_solution():
    """Check 'rich (γ=1) time exponent' (abs ±0.03 on a window fit): the γ = 0 solution of the same
    solver, fitted on the same kind of window, must fail against 2β/(1+β)."""
    beta = 0.5
    lam, w2 = spectra.source_task(20000, 2.0, beta)
    t = np.geomspace(1.0, 3162.0, 40)
    chi_lazy = -fit_power_law(t, fl.infinite_width_diagonal(lam, w2, 0.0, t).loss, (31.6, 3162.0)).slope
    assert not passes("abs", 2 * beta / (1 + beta), chi_lazy, 0.03)[0]
    assert passes("abs", beta, chi_lazy, 0.03)[0]


def test_sgd_decision_rejects_batch_independent_excess():
    """Check 'SGD transient ∝ 1/B' (B·excess equal at B=4 and 16 within 3 combined s.e.): an excess
    independent of B, or ∝ 1/√B, must fail; ∝ 1/B passes."""
    rng = np.random.default_rng(3)
    seeds, t = 12, np.geomspace(1.0, 100.0, 12)
    pop = np.exp(-0.5 * np.log(t))[None, :] * (1 + 0.05 * rng.standard_normal((seeds, 1)))
    Bs = (4, 16)

    def excess(scale):
        return {B: pop * (1 + 0.3 * scale(B) * (1 + 0.1 * rng.standard_normal((seeds, t.size)))) for B in Bs}

    def decision(sgd):
        m, se = fl.sgd_batch_excess(pop, sgd, t)
        return passes("abs", m[4], m[16], 3 * float(np.hypot(se[4], se[16])))[0]

    assert decision(excess(lambda B: 1.0 / B))
    assert not decision(excess(lambda B: 1.0 / 4))
    assert not decision(excess(lambda B: 1.0 / np.sqrt(B)))


def test_rich_simulation_check_rejects_lazy_theory():
    """Check 'rich (γ=1) projected-model simulation vs infinite-width theory': the lazy theory must
    fail against the rich simulation (small M, as in fast mode)."""
    lam, w2 = spectra.source_task(32, 2.0, 0.5)
    t = np.geomspace(1.0, 50.0, 8)
    th = {g: fl.infinite_width_full(lam, w2, g, t, eta=0.05) for g in (0.0, 1.0)}
    sim = fl.simulate_projected(lam, w2, 512, 1.0, t, eta=0.05, seeds=4, seed=601)
    assert passes("le", 1.0, rf.deviation_ratio(sim.loss, sim.sem, th[1.0].loss, rel=0.02), 0.0)[0]
    assert not passes("le", 1.0, rf.deviation_ratio(sim.loss, sim.sem, th[0.0].loss, rel=0.02), 0.0)[0]


# ------------------------------------------------------------------ 4.5 ReLU MLPs (BAP)

def test_hard_target_gap_rejects_equal_rich_and_lazy():
    """Checks 'χ_rich − χ_lazy exceeds the seed spread' (scalar and paired): equal rich and lazy
    exponents must fail; a gap of several spreads passes."""
    rng = np.random.default_rng(0)
    lazy = 0.5
    equal = lazy + 0.02 * rng.standard_normal(4)
    assert not mlp.gap_exceeds_spread(equal, lazy)[0]
    lazy_seeds = lazy + 0.02 * rng.standard_normal(4)
    assert not mlp.gap_exceeds_spread(lazy_seeds + 0.01 * rng.standard_normal(4), lazy_seeds)[0]
    faster = 0.62 + 0.02 * rng.standard_normal(4)
    assert mlp.gap_exceeds_spread(faster, lazy)[0]
    assert mlp.gap_exceeds_spread(faster, lazy_seeds)[0]
    # the same decision on the chapter's alternative value (gap 0) through passes()
    assert not passes("ge", float(np.std(faster, ddof=1)), 0.0, 0.0)[0]


def test_easy_target_null_test_rejects_the_hard_law_continued():
    """Check '|χ_rich − χ_lazy| within the seed spread' (easy β = 1.25): rich exponents at the
    hard-task law 2β/(1+β) = 1.111 must fail; rich = lazy up to noise passes."""
    rng = np.random.default_rng(1)
    beta, lazy = 1.25, 1.247
    noise = 0.03 * rng.standard_normal(4)
    assert mlp.agree_within_spread(lazy + noise, lazy)[0]
    assert not mlp.agree_within_spread(2 * beta / (1 + beta) + noise, lazy)[0]
    # what the null test cannot do: a real lag smaller than the spread passes at any number of seeds
    lag = lazy - 0.5 * 0.03 + 0.03 * rng.standard_normal(64)
    assert mlp.agree_within_spread(lag, lazy)[0]


# ---- the random-feature DMFT's own predictions ------------------------------------------------
def test_early_stopping_exponent_checks_reject_no_P_dependence():
    # chapter: sim exponent vs theory with tolerance 3 jackknife s.e. (about 0.025 for t*, 0.016
    # for L* at 48 draws); an optimum that did not move with P (exponent 0) must fail
    assert not passes("abs", 0.72, 0.0, 3 * 0.025)[0]
    assert not passes("abs", -0.52, 0.0, 3 * 0.016)[0]


def test_weight_decay_suppression_check_rejects_no_suppression():
    # theory ratio L(t_end; kappa)/L(t_end; 0) about 0.23; s.e. of the simulated ratio about 0.01
    assert not passes("abs", 0.23, 1.0, 3 * 0.01)[0]


def test_finite_width_theory_check_rejects_its_alternatives():
    """Check 'finite-width theory vs mean of instances' (max over times of |Δ|/s.e. <= 3): on a small
    version (M = 600, N = 24, 24 instances, γ = 3) the theory passes, while the infinite-width
    theory and the same-N theory without feature learning fail."""
    lam, w2 = spectra.source_task(600, 2.0, 0.5)
    t = np.geomspace(1.0, 100.0, 9)
    sim = fl.simulate_projected_reduced(lam, w2, 24, 3.0, t, eta=0.05, seeds=24, seed=4242)
    modes = fl.width_modes(lam, w2, 24)
    z = lambda th: float(np.max(np.abs(th - sim.loss) / sim.sem))      # noqa: E731
    assert z(fl.finite_width_theory(lam, w2, 24, 3.0, t, modes=modes).loss) <= 3.0
    assert z(fl.finite_width_theory(lam, w2, 24, 0.0, t, modes=modes).loss) > 3.0
    assert z(fl.infinite_width_diagonal(lam, w2, 3.0, sim.t).loss) > 3.0


def _split_surfaces(chi, seeds=6, seed=0):
    """Per-seed loss surfaces L = t^-chi + N^-1 (alpha beta = 1) with 3 % multiplicative noise per
    seed (common to all widths of a seed), at widths 4..2048 (factor sqrt 2)."""
    rng = np.random.default_rng(seed)
    Ns = np.round(4 * np.sqrt(2) ** np.arange(19))
    ts = [np.geomspace(1.0, 1e6 / N, 60) for N in Ns]
    amp = np.exp(0.03 * rng.standard_normal(seeds))
    Ls = [np.array([a * (t ** -chi) + N ** -1.0 for a in amp]) for N, t in zip(Ns, ts)]
    return Ns, ts, Ls


def test_compute_split_check_rejects_equal_rich_and_lazy():
    """Check 'rich − lazy width exponent of N*(C) exceeds 3 paired s.e.': two-term surfaces with the
    lazy chi = 0.5 and the rich chi = 2/3 (N* ~ C^(1/3) vs C^(2/5) for alpha beta = 1) pass; the
    lazy law fed in as 'rich' (no feature learning, its own seed noise) fails."""
    from scalinglaws.analysis import allocation
    C = np.geomspace(100.0, 1e5, 31)
    lazy = allocation.optimal_allocation(*_split_surfaces(0.5), C, t_min=10.0)
    rich = allocation.optimal_allocation(*_split_surfaces(2 / 3), C, t_min=10.0)
    assert abs(lazy.width_exponent - 1 / 3) < 0.02 and abs(rich.width_exponent - 0.4) < 0.02
    d = allocation.allocation_difference(rich, lazy)
    assert passes("ge", 3 * d["width_se"], d["width"], 0.0)[0]
    assert passes("ge", 3 * d["loss_se"], d["loss"], 0.0)[0]
    # rich = lazy: the same law with its own seed noise (as two runs of one model would be)
    # the table-row checks: the lazy law against the rich row (0.400) fails, the rich law passes
    assert not passes("abs", 0.4, lazy.loss_exponent, 3 * lazy.loss_exponent_se)[0]
    assert passes("abs", 0.4, rich.loss_exponent, 3 * rich.loss_exponent_se + 0.01)[0]
    same = allocation.allocation_difference(
        allocation.optimal_allocation(*_split_surfaces(0.5, seed=1), C, t_min=10.0), lazy)
    assert not passes("ge", 3 * same["width_se"], same["width"], 0.0)[0]
    assert not passes("ge", 3 * same["loss_se"], same["loss"], 0.0)[0]
