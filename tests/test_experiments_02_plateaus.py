"""Tests of the plateau chapter's experiments (scalinglaws.experiments.ch02_plateaus) and of the
formulas that moved from the chapter into scalinglaws.committee.plateau.

References: closed forms (the rate of eq. eq-pl-mu, ideal plateau lengths ln(c/delta0)/mu for
which the statistics are known exactly), synthetic curves with a known flattest point, a Monte
Carlo estimate of the spread of a Gaussian teacher's norm, and exact linear data for the ln N fit.
The experiments run at tiny sizes and are checked for the keys and shapes the chapter uses.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from scalinglaws import Curve, experiments  # noqa: E402
from scalinglaws.committee import plateau as pl  # noqa: E402
from scalinglaws.experiments import ch02_plateaus as ch02  # noqa: E402
from scalinglaws.spectra import Spectrum  # noqa: E402


# ----------------------------------------------------------------------------------------------
# formulas in scalinglaws.committee.plateau
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("K,L,beta", [(2, 1, 1.0), (3, 4, 0.5), (4, 64, 2.0)])
def test_mu_power_law_is_mu_iso_times_lambda2(K, L, beta):
    sp = Spectrum.power_law(L, beta)
    expected = 2 * 0.1 / math.pi / (math.sqrt(2 * K - 1) * (2 * K + 1) ** 1.5) * np.mean(sp.eigenvalues ** 2)
    assert pl.mu_power_law(K, 0.1, L, beta) == pytest.approx(expected, rel=1e-12)
    if L == 1:
        assert pl.mu_power_law(K, 0.1, L, beta) == pytest.approx(pl.mu_iso(K, 0.1), rel=1e-14)


def test_escape_horizon_adds_margin_efolds():
    mu = pl.mu_power_law(3, 0.1, 16, 1.0)
    assert pl.escape_horizon(3, 0.1, 16, 1.0, 1e-6) == pytest.approx((math.log(1e6) + 5) / mu, rel=1e-14)
    assert pl.escape_horizon(3, 0.1, 16, 1.0, 1e-6, margin=0.0) * mu == pytest.approx(math.log(1e6), rel=1e-14)
    with pytest.raises(ValueError, match="delta0"):
        pl.escape_horizon(3, 0.1, 16, 1.0, 0.0)


@pytest.mark.parametrize("lnc", [0.0, 1.3, -0.7])
def test_length_statistics_of_ideal_lengths(lnc):
    # alpha_P = ln(c / delta0) / mu exactly: slope*mu = 1, ln c_eff = ln c, product = 1 + ln c / ln(1/delta0)
    mu, d_lo, d_hi = 0.0123, 1e-6, 1e-3
    a = {d: (lnc + math.log(1 / d)) / mu for d in (d_lo, d_hi)}
    st = pl.length_statistics(a[d_lo], a[d_hi], d_lo, d_hi, mu)
    assert st["slope_mu"] == pytest.approx(1.0, rel=1e-12)
    assert st["lnc"] == pytest.approx(lnc, abs=1e-10)
    assert st["prod"] == pytest.approx(1 + lnc / math.log(1 / d_lo), rel=1e-12)
    assert st["aP"] == a[d_lo]
    # an escape governed by 2 mu gives slope*mu = 1/2
    st2 = pl.length_statistics(a[d_lo] / 2, a[d_hi] / 2, d_lo, d_hi, mu)
    assert st2["slope_mu"] == pytest.approx(0.5, rel=1e-12)


def test_k_dependence_deviation_accepts_the_law_and_rejects_alternatives():
    Ks = [2, 3, 4, 5]
    ideal = [7.5 * pl.k_factor(K) for K in Ks]
    assert pl.k_dependence_deviation(Ks, ideal) == pytest.approx(0.0, abs=1e-14)
    # against no K-dependence the deviation is k_factor(5)/k_factor(2) - 1
    assert pl.k_dependence_deviation(Ks, ideal, law=lambda K: 1.0) == pytest.approx(
        pl.k_factor(5) / pl.k_factor(2) - 1, rel=1e-12)
    assert pl.k_dependence_deviation(Ks, ideal, law=lambda K: float(K)) > 0.10


def test_flattest_point_of_a_synthetic_plateau():
    t = np.linspace(0.0, 400.0, 801)
    eps = 0.02 + 1e-6 * (t - 150.0) ** 2 * (t < 300) - 0.01 * (t >= 300)   # flattest at t = 150
    c = Curve(t=t, loss=eps, t_unit="alpha", loss_factor=0.5)
    i = pl.flattest_point(c, alpha_P=300.0)
    assert t[i] == pytest.approx(150.0, abs=0.5)
    # only the plateau stretch t_min < t < fraction * alpha_P counts
    assert 10.0 < t[pl.flattest_point(c, alpha_P=100.0)] < 80.0
    with pytest.raises(ValueError, match="alpha_P"):
        pl.flattest_point(c, alpha_P=5.0)


def test_teacher_norm_sd_against_monte_carlo():
    # T_nn = (1/N) sum_i lambda_i B_i^2 with B_i ~ N(0, 1): variance 2 <lambda^2> / N
    N, L, draws = 64, 16, 20000
    sp = Spectrum.power_law(L, 1.0)
    lam = sp.diagonal(N)
    B = np.random.default_rng(1).standard_normal((draws, N))
    T = (lam * B ** 2).sum(axis=1) / N
    sd = pl.teacher_norm_sd(sp, N)
    assert T.mean() == pytest.approx(1.0, abs=4 * sd / math.sqrt(draws))
    # s.e. of a sample s.d. ~ sd * sqrt((kurtosis - 1) / (4 draws)) < 5 % of sd here: 4 s.e. = 0.05 sd
    assert T.std(ddof=1) == pytest.approx(sd, rel=0.05)


def test_log_n_fit_recovers_exact_line():
    esc = {N: 12.0 + 3.5 * math.log(N) + np.array([-1.0, 0.0, 1.0]) for N in (32, 64, 128, 256)}
    fit, x, y = pl.log_n_fit(esc)
    assert fit.slope == pytest.approx(3.5, rel=1e-12)
    assert fit.intercept == pytest.approx(12.0, rel=1e-12)
    assert x.shape == y.shape == (12,)
    assert x[0] == pytest.approx(math.log(32)) and x[-1] == pytest.approx(math.log(256))


# ----------------------------------------------------------------------------------------------
# experiments at tiny sizes: what the chapter uses
# ----------------------------------------------------------------------------------------------
def test_classic_plateau_returns_curve_fixed_point_and_flattest_point():
    r = ch02.classic_plateau(eta_ss=1.0, t_max=350.0)
    assert isinstance(r["tr"], Curve) and r["tr"].t.size == 701 and not r["tr"].extras
    assert r["fp"].eps == pytest.approx(pl.symmetric_fixed_point(2, 1.0, conventions="saad-solla").eps)
    assert 10.0 < r["t_flat"] < 0.8 * r["aP"] < 350.0
    assert r["flat"] == pytest.approx(0.0206, rel=0.01)           # the classic peer-code value
    assert r["wr"] == pytest.approx(r["fp"].eps, rel=1e-8)       # eps_SS = K eps_WR at eta = K eta_SS


def test_heights_independence_and_rates_at_tiny_size():
    h = ch02.plateau_heights(K_heights=[2], eta=0.05, t_max=3000.0)["rows"]
    assert [r["K"] for r in h] == [2] and {"closed", "root0", "root", "ode", "drift", "q", "r"} <= set(h[0])
    assert h[0]["root0"] == pytest.approx(pl.eps_plateau(2), rel=1e-10)
    ind = ch02.height_independence(L_indep=[4], beta_indep=[0.5, 2.0], eta=0.05)
    assert len(ind["rows"]) == 2 and ind["dev"] < 1e-8
    rates = ch02.escape_rates(K_rate=[2], L_rate=[1, 4])["rows"]
    assert [(r["K"], r["L"]) for r in rates] == [(2, 1), (2, 4)]
    assert all(abs(r["mu"] / r["pred"] - 1) < 1e-3 for r in rates)


def test_fig1_run_and_plot():
    with_sgd = ch02.fig1_run(L=4, N=32, sgd_seeds=2, t_max=100.0)
    without = ch02.fig1_run(L=1, N=32, sgd_seeds=0, t_max=100.0)
    assert "sgd" not in without and with_sgd["ode"].t.size == 201
    g = with_sgd["sgd"]
    assert g.seeds.shape == (2, g.t.size) and g.sem is not None and not g.extras
    np.testing.assert_array_equal(with_sgd["ode"].loss, ch02.fig1_run(L=4, N=32, sgd_seeds=0, t_max=100.0)["ode"].loss)
    fig = ch02.plot_fig1({1: without, 4: with_sgd})
    assert len(fig.axes) == 1
    plt.close(fig)


def test_plateau_lengths_through_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALINGLAWS_STORE", str(tmp_path / "store"))
    kw = dict(K_len=2, eta_len=0.1, L_len=[1, 4], beta_len=[1.0, 2.0], K_list=[2, 3], L_K=4,
              delta0s=[1e-3, 1e-6], workers=0)
    res = ch02.plateau_lengths(**kw)
    # L=1 is computed once for every beta; (K=2, L=4, beta=1) is shared by both grids
    assert len(list((tmp_path / "store").glob("*.pkl"))) == 2 * (1 + 2 + 1)
    assert {(r["K"], r["L"], r["beta"]) for r in res["rows"]} == {(2, 1, 1.0), (2, 1, 2.0), (2, 4, 1.0),
                                                                   (2, 4, 2.0), (3, 4, 1.0)}
    assert res["aP"][2, 1, 2.0, 1e-6] == res["aP"][2, 1, 1.0, 1e-6]     # one spectrum at L = 1
    assert set(res["spread"]) == {1.0, 2.0} and res["d_lo"] == 1e-6 and res["d_hi"] == 1e-3
    # the escape is governed by mu: slope * mu within 10 % of 1 (the chapter's check)
    assert all(abs(r["slope_mu"] - 1) < 0.10 for r in res["rows"])
    # a second, store-only run reads every result back
    monkeypatch.setenv("SCALINGLAWS_STORE_ONLY", "1")
    again = ch02.plateau_lengths(**kw)
    assert again["aP"] == res["aP"]
    fig = ch02.plot_lengths(res, 2, 0.1, [1, 4], [1.0, 2.0], 4, [1e-3, 1e-6])
    assert len(fig.axes) == 2
    plt.close(fig)


def test_store_only_miss_raises(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALINGLAWS_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("SCALINGLAWS_STORE_ONLY", "1")
    with pytest.raises(experiments.StoreMissError):
        experiments.call(ch02.escape_rates, K_rate=[2], L_rate=[1])


def test_ln_n_escape_returns_escape_times_and_plots():
    r = ch02.ln_n_escape(N_list=[16, 32], seeds=3, eta=1.0, t_max=450.0)
    assert list(r["runs"]) == [16, 32] and list(r["esc"]) == [16, 32]
    for N in (16, 32):
        assert r["esc"][N].shape == (3,) and np.all(np.isfinite(r["esc"][N]))
        assert r["runs"][N].seeds is None and r["runs"][N].sem.shape == r["ode"].t.shape
    assert r["mu"] > 0 and r["fp"].eps == pytest.approx(pl.symmetric_fixed_point(2, 1.0).eps)
    fit, x, y = pl.log_n_fit(r["esc"])
    fig = ch02.plot_ln_n(r, fit, x, y)
    assert len(fig.axes) == 2
    plt.close(fig)
    classic = {1.0: ch02.classic_plateau(eta_ss=1.0, t_max=350.0)}
    plt.close(ch02.plot_classic(classic))


def test_escape_draws_and_plot():
    d = ch02.escape_draws(L=4, n_draws=10, N=128, t_max=6000.0)
    for k in ("alpha_P", "mu", "delta0", "height", "s0", "s0_plain"):
        assert d[k].shape == (10,) and np.all(np.isfinite(d[k]))
    assert np.array_equal(d["seeds"], np.arange(10))
    assert np.all(d["mu"] > 0) and np.all(d["height"] > 0)
    # the projection on the left eigenvector is close to the lambda-weighted specialisation
    # (median a few per cent here at N = 128, up to ~10 % for single draws)
    assert np.median(np.abs(d["delta0"] / d["s0"] - 1)) < 0.05
    pr = {4: dict(pl.escape_prediction(d["alpha_P"], d["delta0"], d["mu"], 5), n_calib_total=5)}
    import matplotlib.pyplot as plt
    plt.close(ch02.plot_escape_draws({4: d}, pr))
