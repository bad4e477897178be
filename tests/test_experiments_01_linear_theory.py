"""Chapter 1's experiments (scalinglaws.experiments.ch01_linear) and the formulas that moved out of
the chapter into scalinglaws.committee.linear.

The formulas are tested against independent computations (the unsymmetrised one-step map of the
finite-N recursion iterated directly, the N -> infinity threshold, the incomplete-gamma form and
the frozen floor); the experiments at tiny sizes, for what the chapter reads from them, and once
through the results store (cached, then store-only).
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from scalinglaws import experiments  # noqa: E402
from scalinglaws.committee import linear as lin  # noqa: E402
from scalinglaws.experiments import ch01_linear as ch01  # noqa: E402
from scalinglaws.result import Curve  # noqa: E402
from scalinglaws.spectra import Spectrum  # noqa: E402


# ----------------------------------------------------------------------------------------------
# formulas (scalinglaws.committee.linear)
# ----------------------------------------------------------------------------------------------
def _one_step_map(sp, eta, N):
    # E_l <- (1 - 2 ep lam_l + 2 ep^2 lam_l^2) E_l + ep^2 N lam_l * 2 eps_g,  2 eps_g = sum_m f_m lam_m E_m
    lam, f = sp.eigenvalues, sp.fractions
    ep = eta / N
    return np.diag(1 - 2 * ep * lam + 2 * ep ** 2 * lam ** 2) + ep ** 2 * N * np.outer(lam, f * lam)


@pytest.mark.parametrize("N", [64, 256, 4096])
def test_finite_N_radius_is_the_radius_of_the_recursion(N):
    sp = Spectrum.power_law(8, 1.0)
    for eta in (0.5, 1.9, 2.1):
        ref = np.max(np.abs(np.linalg.eigvals(_one_step_map(sp, eta, N))))   # unsymmetrised map
        assert lin.finite_N_radius(sp, eta, N) == pytest.approx(ref, rel=1e-12)


def test_finite_N_threshold():
    sp = Spectrum.power_law(8, 1.0)
    eta_c = lin.stability_threshold(sp)
    for N in (128, 256, 4096):
        e = lin.finite_N_threshold(sp, N)
        assert lin.finite_N_radius(sp, e, N) == pytest.approx(1.0, abs=1e-9)
        # iterating the mean recursion: decays just below the threshold, grows just above it
        E = np.ones(sp.L)
        for eta, grows in ((0.99 * e, False), (1.01 * e, True)):
            En = np.linalg.matrix_power(_one_step_map(sp, eta, N), 200 * N) @ E
            assert (En.sum() > E.sum()) == grows
    # N -> infinity: the threshold tends to eta_c = 2 (relative correction O(eta lambda_1 / N))
    assert lin.finite_N_threshold(sp, 10 ** 6) == pytest.approx(eta_c, rel=1e-4)
    # the chapter's statement: at N = 128 the finite-N threshold lies below 0.95 eta_c, at N = 256 inside
    assert lin.finite_N_threshold(sp, 128) < 0.95 * eta_c < lin.finite_N_threshold(sp, 256) < 1.05 * eta_c
    with pytest.raises(ValueError):
        lin.finite_N_threshold(sp, 128, bracket=(1.5, 0.5))
    with pytest.raises(ValueError):
        lin.finite_N_radius(sp, 1.0, 0)


def test_fitted_time_exponent():
    # the chapter's decision: the fitted slope of the exact solution at large L is -beta/(1+beta) +- 0.02
    lo, hi, slope = lin.fitted_time_exponent(65536, 1.0, 0.01, slope_tol=0.01, sigma_J=0.01)
    assert (lo, hi) == lin.power_law_window(65536, 1.0, 0.01, slope_tol=0.01)
    assert slope == pytest.approx(-0.5, abs=0.02)
    with pytest.raises(ValueError):
        lin.fitted_time_exponent(65536, 1.0, 0.01, n_points=1)


def test_gamma_form_error():
    sp = Spectrum.power_law(1024, 0.75)
    l1, lL = sp.eigenvalues[[0, -1]]
    tg = np.logspace(np.log10(20 / (2 * 0.01 * l1)), np.log10(0.01 / (2 * 0.01 * lL)), 30)
    ref = np.max(np.abs(lin.incomplete_gamma(1024, 0.75, 0.01, tg) / lin.small_eta(sp, 0.01, tg) - 1))
    assert lin.gamma_form_error(1024, 0.75, 0.01, 0.01) == pytest.approx(ref, rel=1e-12)
    # deep inside the window the two agree to 1e-4; nearer the lambda_L edge the end term shows
    assert lin.gamma_form_error(1024, 0.75, 0.01, 0.01) < 1e-4 < lin.gamma_form_error(1024, 0.75, 0.01, 0.1)


def test_two_term_amplitudes():
    L, beta, eta, sJ = 65536, 1.0, 0.05, 0.01
    A, B = lin.two_term_amplitudes(L, beta, eta, sigma_J=sJ)
    # A alpha^-s is the incomplete-gamma form deep inside its window (bracket -> Gamma(s))
    lo, hi = lin.power_law_window(L, beta, eta, slope_tol=0.01)
    t = np.sqrt(lo * hi)
    assert A * t ** -0.5 == pytest.approx(float(lin.incomplete_gamma(L, beta, eta, [t], sigma_J=sJ)[0]), rel=1e-2)
    # B N_l^-beta is the frozen floor for N >> N_l >> 1 (relative error O(1/N_l) + O(N_l/N))
    sp = Spectrum.power_law(L, beta)
    for nl in (64, 256):
        assert B * nl ** -beta == pytest.approx(lin.frozen_floor(sp, nl, sigma_J=sJ), rel=2.0 / nl)
    with pytest.raises(ValueError):
        lin.two_term_amplitudes(1, 1.0, 0.05)


# ----------------------------------------------------------------------------------------------
# experiments at tiny sizes: what the chapter reads from them
# ----------------------------------------------------------------------------------------------
def test_ode_vs_closed_form_tiny():
    r = ch01.ode_vs_closed_form(N_left=16, alpha_max_left=5.0)
    assert r["rel_ode_1"] < 1e-6 and r["rel_ode_2"] < 1e-6
    assert r["alt_ode_1"] > 1e-3 and r["alt_ode_2"] > 1e-6          # the small-eta sum is rejected


def test_fig2_left_tiny():
    r = ch01.fig2_left(N_left=16, seeds_left=3, alpha_max_left=5.0, n_times=6)
    sim = r["sim"]
    assert isinstance(sim, Curve) and sim.extras == {} and sim.seeds.shape == (3, sim.t.size)
    assert r["exact"].shape == r["small_eta"].shape == r["t"].shape == (201,)
    assert r["finite_N"].shape == r["median"].shape == sim.t.shape
    for k in ("ratio_left", "sgd_over_ode", "med_over_ode", "fn_over_ode", "eta_lam1_N"):
        assert isinstance(r[k], float) and np.isfinite(r[k])
    assert r["eta_lam1_N"] == pytest.approx(Spectrum.power_law(16, 1.0).eigenvalues[0] / 16)
    plt.close(ch01.plot_fig2_left(r, 16, 3))


def test_grid_point_and_plot_tiny():
    runs = [ch01.grid_point(N_grid=16, L=L, beta=b, seeds_grid=2, alpha_max_grid=5.0)
            for b in (0.5, 1.0) for L in (4, 16)]
    for r in runs:
        assert r["t"].shape == r["theory"].shape == (150,)
        assert r["sim"].sem.shape == r["sim"].t.shape
        assert abs(r["theory"][0] / r["sim"].loss[0] - 1) < 0.1   # same initial weights, alpha = 0.01
    plt.close(ch01.plot_grid(runs, [4, 16], [0.5, 1.0], 16))


def test_fig2_right_tiny():
    r = ch01.fig2_right(N_fig2=32, seeds_fig2=3, seed0_fig2=11, alpha_max_fig2=3.0, n_times=6)
    assert r["n_cmp"] == r["sim"].t.size - 1
    assert set(r["agr_inf"]) == {"max_ratio", "k"} and len(r["alt_inf"]) == len(r["alt_N"]) == 2
    assert r["agr_inf"]["k"] > r["agr_pw"]["k"]                       # Bonferroni over the times
    assert r["edge_lo"] < r["edge_hi"] and r["t"][-1] == pytest.approx(1e4)
    assert 0 <= r["rel_allow"] and 0 <= r["init_dev"]
    plt.close(ch01.plot_fig2_right(r, 32, 3))


def test_local_slopes_and_fits_small():
    r = ch01.local_slopes(L_fit=2048, L_phase_max=64)
    assert [(L, b) for L, b, _ in r["slopes"]] == [(1024, 0.75), (1024, 1.0), (16384, 0.75), (16384, 1.0),
                                                   (2048, 0.75), (2048, 1.0)]
    assert r["ok"].shape == (r["Ls"].size, r["t"].size) and r["edges"].shape == (r["Ls"].size, 2)
    assert -0.75 / 1.75 - 0.2 < r["sl_a1"] < 0 and -1.2 < r["sl_a1000"] < 0
    plt.close(ch01.plot_local_slopes(r))
    f = ch01.exponent_fits(65536)
    assert [row[0] for row in f["rows"]] == [0.5, 0.75, 1.0]
    for b, lo, hi, slope in f["rows"]:
        assert lo < hi and abs(slope + b / (1 + b)) < 0.02
    assert f["gam_rel"] < f["gam_rel_edge"]


def test_trainable_and_floor_tiny():
    runs = [ch01.trainable_point(N_nl=32, n_trained=nl, n_family=2, seeds_nl=3, seed0_nl=5, alpha_max_nl=20.0)
            for nl in (4, 8)]
    for nl, r in zip((4, 8), runs):
        assert r["n_compare"] == 2 * (r["sim_t"].size - 1) and len(r["alt"]) == 2
        assert r["floor"][0] == nl and r["floor"][1] > 0 and r["floor"][2] > 0
        # the exact asymptote from the seed-mean E(0) is near the one from the expected E(0) = 1 + sigma_J^2
        exp_floor = lin.trainable_asymptote(Spectrum.power_law(32, 1.0), 0.05, nl, sigma_J=0.01)
        assert 0.3 < r["floor"][3] / exp_floor < 3
        assert r["ratio"] >= 0 and r["k"] > 3
    floors = np.array([r["floor"] for r in runs])
    assert floors.shape == (2, 4)
    plt.close(ch01.plot_trainable(runs, [4, 8], 32))
    fl = ch01.floor_exponent(N_floor=4096, N_nl=32, Nl_max=8)
    assert fl["slope_floor"] == pytest.approx(-1.0, abs=0.2)
    assert fl["asymptote_small"].shape == (28,) and fl["tau_last"] > 0
    plt.close(ch01.plot_floor(fl, floors, 4096, 32, 20.0))


def test_real_data_tiny():
    spec = ch01.real_spectrum("digits", (2, 30))
    assert spec["N"] + spec["n_dead"] == 64 and spec["lam"].mean() == pytest.approx(1.0)
    assert 0 < spec["beta"] < 2 and (2, 30) in spec["beta_windows"]
    runs = [ch01.real_point(n_trained=nl, seeds_real=3, alpha_max_real=5.0, dataset="digits",
                            window=(2, 30)) for nl in (2, 4)]
    for r in runs:
        for k in ("z", "z_alt", "z_path", "dev"):
            assert np.isfinite(r[k]) and r[k] >= 0
        assert r["t"].shape == r["theory"].shape == (200,)
    plt.close(ch01.plot_real(spec, runs, [2, 4]))


def test_image_patches_are_1024_dimensional_with_a_decaying_spectrum():
    spec = ch01.real_spectrum("patches", (4, 256))
    assert spec["N"] == 1024 and spec["n_samples"] == 30294
    assert spec["lam"].mean() == pytest.approx(1.0)
    assert np.all(np.diff(spec["lam"]) <= 0)
    assert set(spec["beta_windows"]) == set(ch01.BETA_WINDOWS)


def test_real_data_bad_inputs():
    with pytest.raises(ValueError, match="dataset"):
        ch01.real_spectrum("cifar")
    with pytest.raises(ValueError, match="window"):
        ch01.real_spectrum("digits", (2, 100))


def test_stability_tiny():
    th = ch01.stability_theory(N_div=256, L_div=8)
    assert th["mu_plus"] > 0 > th["mu_minus"]
    assert th["eta_c_128"] < 0.95 * th["eta_c"] < th["eta_c_N"]
    r = ch01.stability_runs(N_div=256, L_div=8, seeds_div=2)
    assert r["raised"] == 1 and "diverged" in r["msg"] and "stability threshold" in r["closed_msg"]
    assert r["conv_ratio"] < 1e-2


def test_experiment_is_cached_in_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALINGLAWS_STORE", str(tmp_path))
    monkeypatch.delenv("SCALINGLAWS_STORE_ONLY", raising=False)
    kw = dict(N_div=256, L_div=8, seeds_div=2)
    r1 = experiments.call(ch01.stability_runs, **kw)
    assert len(list(tmp_path.glob("*.pkl"))) == 1
    monkeypatch.setenv("SCALINGLAWS_STORE_ONLY", "1")
    assert experiments.call(ch01.stability_runs, **kw) == r1          # read back, not recomputed
    with pytest.raises(experiments.StoreMissError):
        experiments.call(ch01.stability_runs, **dict(kw, seeds_div=3))
