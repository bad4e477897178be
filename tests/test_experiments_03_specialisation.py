"""Tests of the specialisation chapter's experiments (scalinglaws.experiments.ch03_specialisation)
and of the formulas that moved from the chapter into scalinglaws.committee.specialisation.

References: the closed form of a single mode, the continuum limit -beta/(1+beta) of the linear
mode sum, a brute-force leave-one-out jackknife, synthetic curves with a known relative deviation.
The experiments run at tiny sizes and are checked for the keys and shapes the chapter uses.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from scalinglaws.analysis import fits  # noqa: E402
from scalinglaws.committee import specialisation as sp  # noqa: E402
from scalinglaws.experiments import ch03_specialisation as ch03  # noqa: E402
from scalinglaws.spectra import Spectrum  # noqa: E402


# ----------------------------------------------------------------------------------------------
# formulas in scalinglaws.committee.specialisation
# ----------------------------------------------------------------------------------------------
def test_linear_mode_sum_single_mode_is_an_exponential():
    a = np.array([0.0, 1.0, 10.0, 100.0])
    np.testing.assert_allclose(sp.linear_mode_sum([1.0], 0.1, a, c=0.5), np.exp(-2 * 0.5 * 0.1 * a), rtol=1e-15)
    lam = np.array([2.0, 0.5])
    np.testing.assert_allclose(sp.linear_mode_sum(lam, 0.2, a),
                               0.5 * (2.0 * np.exp(-0.8 * a) + 0.5 * np.exp(-0.2 * a)), rtol=1e-14)


def test_linear_mode_sum_power_law_exponent():
    # sum_l lambda_l exp(-2 c eta lambda_l alpha), lambda_l ~ l^-(1+beta): alpha^(-beta/(1+beta)) in the
    # window 1/lambda_max << alpha << 1/lambda_min (beta = 2, L = 4096: the window 10..100 is deep inside)
    lam = Spectrum.power_law(4096, 2.0).eigenvalues
    a = np.geomspace(1.0, 1e4, 200)
    slope = fits.fit_power_law(a, sp.linear_mode_sum(lam, 1.0, a), window=(10.0, 100.0)).slope
    assert slope == pytest.approx(-2.0 / 3.0, abs=0.01)


def test_jackknife_slope_against_brute_force():
    rng = np.random.default_rng(3)
    t = np.geomspace(0.1, 1e3, 60)
    E = np.exp(rng.normal(0.0, 0.3, (5, 1))) * t[None] ** -0.5 * (1 + 0.1 * rng.random((5, t.size)))
    fit, se = sp.jackknife_slope(t, E, [1.0, 100.0])
    assert fit.slope == pytest.approx(fits.fit_power_law(t, E.mean(0), window=(1.0, 100.0)).slope, rel=1e-14)
    loo = [fits.fit_power_law(t, E[[j for j in range(5) if j != d]].mean(0), window=(1.0, 100.0)).slope
           for d in range(5)]
    assert se == pytest.approx(math.sqrt(4 / 5 * sum((s - np.mean(loo)) ** 2 for s in loo)), rel=1e-10)
    # identical power-law curves: exact slope, no spread
    fit0, se0 = sp.jackknife_slope(t, np.tile(3 * t ** -0.7, (4, 1)), (1.0, 100.0))
    assert fit0.slope == pytest.approx(-0.7, rel=1e-12) and se0 == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="curves"):
        sp.jackknife_slope(t, E[:1], (1.0, 100.0))


def test_linearisation_deviation_counts_late_times_above_the_floor():
    t = np.geomspace(0.1, 1e3, 50)
    eps = np.exp(-t / 50)
    k0 = 20
    lin = eps[k0:] * np.where(t[k0:] >= 3 * t[k0], 1.1, 2.0)          # off by 100 % early, 10 % late
    assert sp.linearisation_deviation(t, eps, lin, k0) == pytest.approx(0.1, rel=1e-12)
    assert sp.linearisation_deviation(t, eps, lin, k0, after=1.0) == pytest.approx(1.0, rel=1e-12)
    # a fast decay with nothing above the floor from 3x the start on: all times after the start count
    fast = np.where(t >= 3 * t[k0], 1e-12, 1e-3)
    assert sp.linearisation_deviation(t, fast, fast[k0:] * 1.2, k0) == pytest.approx(0.2, rel=1e-12)
    with pytest.raises(ValueError, match="lin"):
        sp.linearisation_deviation(t, eps, lin[1:], k0)


# ----------------------------------------------------------------------------------------------
# experiments at tiny sizes: what the chapter uses
# ----------------------------------------------------------------------------------------------
def test_transition_at_tiny_size():
    r = ch03.transition(K=2, eta=0.5, sigma_J=0.01, N=64, seeds=3, t_max=1500.0, dt_rec=5.0,
                        align_level=0.3, n_lags=20)
    n = r["times"].size
    assert n == 301 and r["eps_s"].shape == r["eps_o"].shape == (3, n)
    for k in ("esc_sgd", "esc_ode", "rate_jac", "rate_next", "rate_fit_ode", "rate_fit_sgd"):
        assert r[k].shape == (3,) and np.all(np.isfinite(r[k])), k
    assert len(r["pred_at_escape"]) == 3 and 0.0 <= r["same_perm"] <= 1.0
    assert r["ac"].sgd.shape == r["ac"].ode.shape == (3, 20)
    # the ODE tail follows the Jacobian's slowest rate (the chapter's 2 % check)
    assert np.all(np.abs(r["rate_fit_ode"] / r["rate_jac"] - 1) < 0.02)
    assert r["gap_end"] > 0.999 and r["eps_end"] < 1e-9
    assert r["gap_plateau"] < 0.5 and r["eps_plateau"] > 1e-3
    fig = ch03.plot_transition(r, 64, 0.3)
    assert len(fig.axes) == 2
    plt.close(fig)


def test_multi_plateau_and_plot():
    m = ch03.multi_plateau(K=3, eta=0.5, sigma_J=0.01, N=32, t_max=200.0)
    assert m["times"].size == 11 and m["amax_s"].shape == m["amax_o"].shape == (11, 3)
    assert np.all(np.diff(m["amax_o"], axis=1) >= 0)                        # sorted over units
    assert m["loss_s"].shape == m["loss_o"].shape == (11,)
    plt.close(ch03.plot_multi_plateau(m, 32))


def test_large_L_fit_and_plot():
    b = ch03.large_L(K=2, L=32, N=32, eta=0.1, sigma_J=0.01, beta=1.0, n_teachers=3, seeds=2,
                     t_max=200.0, t_max_sgd=20.0)
    assert b["E"].shape == (3, b["times"].size) and b["esc"].shape == (3,)
    assert b["sgd"].shape == b["ode_same"].shape == (2, b["t_sgd"].size)
    assert ch03.large_L(K=1, L=32, N=32, eta=0.1, sigma_J=0.01, beta=1.0, n_teachers=2, seeds=2,
                        t_max=50.0, t_max_sgd=5.0)["esc"] is None
    b["fit"], b["se"] = sp.jackknife_slope(b["times"], b["E"], (10.0, 100.0))
    assert np.isfinite(b["fit"].slope) and b["se"] >= 0
    fig = ch03.plot_large_L({2: b}, (10.0, 100.0), 32, 32, 1.0)
    assert len(fig.axes) == 1
    plt.close(fig)


def test_large_L_setting_and_sizes():
    assert ch03.large_L_setting(40, 0.01, 1e-6, 512, 512, 10) == "paper"
    assert ch03.large_L_setting(40, 0.01, 1e-6, 512, 512, 8) == "reduced"
    assert ch03.large_L_setting(2, 0.1, 0.01, 512, 512, 10) == "reduced"
    s = ch03.large_L_sizes(2, 0.1, 0.01, 512, 1.0, 8)
    assert s.startswith("K=M=2, eta=0.1, sigma_J=0.01, L=N=512, beta=1.0, 8 teacher draws (paper Fig. 6")


def test_crossover_and_plot():
    runs = [ch03.crossover(L=L, beta=b, seed=7, eta=0.1, N=64, sigma_J=0.01, t_max=1e4)
            for L, b in [(1, 1.0), (8, 1.0), (8, 2.0)]]
    for c in runs:
        assert c["lin"].size == c["t"].size - c["k0"] and c["gap0"] >= 0.99
        assert c["dev"] == sp.linearisation_deviation(c["t"], c["eps"], c["lin"], c["k0"])
    fig = ch03.plot_crossover(runs, [1, 8], 1.0)
    assert len(fig.axes) == 2
    plt.close(fig)


def test_fig6_tiny_and_plot():
    import matplotlib.pyplot as plt
    r = ch03.fig6(K=3, L=16, N=64, eta=0.05, sigma_J=1e-3, beta=1.0, seed=0, t_max=300.0, seeds_sgd=2,
                  t_max_sgd=20.0)
    assert r["gap"].shape == (r["t"].size, 3) and r["unit_escape"].shape == (3,)
    assert r["sgd"].shape == (2, r["t_sgd"].size) and r["ode_sgd"].shape == r["iso_sgd"].shape == (r["t_sgd"].size,)
    assert np.array_equal(r["ode_sgd"], r["eps"][np.searchsorted(r["t"], r["t_sgd"])])
    assert r["steps"] > 0 and r["seconds"] > 0
    plt.close(ch03.plot_fig6(r, 3, 16, 1.0))


def test_sgd_ode_ratio_formula():
    sgd = np.array([[1.0, 2.0], [1.2, 2.2]])
    ref = np.array([1.1, 2.0])
    se = np.array([0.1, 0.1]) / np.sqrt(2) * np.sqrt(2)      # std(ddof=1) = 0.1414, / sqrt(2) = 0.1
    expect = max(0.0 / (3 * 0.1 + 0.5 * 1.1), 0.1 / (3 * 0.1 + 0.5 * 2.0))
    assert ch03.sgd_ode_ratio(sgd, ref, K=1, N=2) == pytest.approx(expect)


def test_specialised_phase_tiny_summary_and_plot():
    import matplotlib.pyplot as plt
    runs = [ch03.specialised_phase(K=3, L=16, N=64, eta=0.05, beta=1.0, seed=s, delta=0.3, t_max=300.0,
                                   rtol=3e-3, seeds_sgd=2 if s == 1 else 0, t_max_sgd=20.0) for s in (1, 2)]
    r = runs[0]
    assert r["eps"].shape == r["lin"].shape == r["gap_min"].shape == r["t"].shape
    assert r["sgd"].shape == (2, r["t_sgd"].size) and runs[1]["sgd"].shape == (0, r["t_sgd"].size)
    assert np.array_equal(r["ode_sgd"], r["eps"][np.searchsorted(r["t"], r["t_sgd"])])
    assert r["lin"][0] == pytest.approx(1.0) and r["gap_min"].min() > 0.5
    sm = ch03.specialised_summary(runs, [10.0, 300.0])
    assert sm["slopes"].shape == sm["lin_slopes"].shape == (2,)
    assert sm["mean"] == pytest.approx(sm["slopes"].mean()) and sm["se"] > 0
    assert sm["diff_mean"] == pytest.approx(sm["mean"] - sm["lin_mean"])
    assert len(sm["local"]) == 2 and sm["local_dev_exp"] > sm["local_dev"]
    plt.close(ch03.plot_specialised({1.0: runs}, {1.0: sm}, [10.0, 300.0], 3, 16))
    with pytest.raises(ValueError, match="runs"):
        ch03.specialised_summary(runs[:1], [10.0, 300.0])
    with pytest.raises(ValueError, match="delta"):
        ch03.specialised_phase(K=3, L=16, N=64, eta=0.05, beta=1.0, seed=1, delta=0.0, t_max=10.0, rtol=3e-3,
                               seeds_sgd=0, t_max_sgd=5.0)


def test_specialised_summary_local_slopes_of_known_curves():
    """A pure power law has equal decade slopes (distance 0); an exponential with the same window slope
    has decade slopes -r(b-a)/ln(b/a), the statistic's alternative."""
    t = np.logspace(0, 4, 400)
    runs = [dict(t=t, eps=c * t ** -0.6, lin=t ** -0.6, gap_min=np.ones_like(t)) for c in (1.0, 2.0)]
    sm = ch03.specialised_summary(runs, [1e2, 1e4])
    assert sm["mean"] == pytest.approx(-0.6, abs=1e-9) and sm["local_dev"] == pytest.approx(0.0, abs=1e-9)
    r = 0.6 * np.log(100) / (1e4 - 1e2)
    expect = max(abs(-r * (b - a) / np.log(b / a) + 0.6) for a, b in [(1e2, 1e3), (1e3, 1e4)])
    assert sm["local_dev_exp"] == pytest.approx(expect, rel=1e-12)
    assert ch03._decades([1e2, 5e3]) == [(1e2, 1e3), (1e3, 5e3)]


def test_specialised_phase_from_the_papers_initialisation_fits_after_every_unit_specialised():
    """sigma_J given: the run starts at J = sigma_J xi; t_all is the first record with every gap >= 1/2,
    the linearisation starts there (NaN before, 1 at t_all), and the summary's window starts there."""
    runs = [ch03.specialised_phase(K=3, L=16, N=64, eta=0.1, beta=1.0, seed=s, delta=0.3, t_max=3e4, rtol=3e-3,
                                   seeds_sgd=0, t_max_sgd=20.0, sigma_J=1e-3) for s in (1, 2)]
    for r in runs:
        k = int(np.searchsorted(r["t"], r["t_all"]))
        assert 0 < r["t_all"] < 3e3 and r["gap_min"][k] >= 0.5 and r["gap_min"][k - 1] < 0.5
        assert np.all(np.isnan(r["lin"][:k])) and r["lin"][k] == pytest.approx(1.0)
    sm = ch03.specialised_summary(runs, [10.0, 3e4])
    assert sm["window"] == (max(r["t_all"] for r in runs), 3e4)
    with pytest.raises(ValueError, match="decade before"):
        ch03.specialised_summary(runs, [10.0, 5e3])
