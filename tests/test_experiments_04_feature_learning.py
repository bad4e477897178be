"""Chapter 4 (04_feature_learning): the formulas moved out of the chapter (phase-diagram exponent
maps, the row-space leak of the projected update) and the experiments at tiny sizes, run
through the results store as the chapter runs them."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import scratch_store  # noqa: E402

from scalinglaws import experiments, spectra  # noqa: E402
from scalinglaws.experiments import ch04_feature_learning as ch04  # noqa: E402
from scalinglaws.kernel import featurelearning as fl  # noqa: E402
from scalinglaws.result import Curve  # noqa: E402


# ------------------------------------------------------------------ exponent maps (phase diagrams)

def test_chi_map_lazy_and_rich():
    """Lazy χ = β; rich χ = 2β/(1+β) below β = 1 and β above (Bordelon et al. 2025 (A) Eq. 10)."""
    be = np.array([0.25, 0.5, 0.99, 1.0, 1.5, 2.5])
    np.testing.assert_array_equal(fl.chi_map(2.0, be, False), be)
    rich = fl.chi_map(2.0, be, True)
    np.testing.assert_allclose(rich, np.where(be < 1, 2 * be / (1 + be), be), rtol=1e-15)
    assert np.all(rich >= be)                                   # feature learning never slows the decay
    assert fl.chi_map(3.0, [0.5], True) == pytest.approx([2 / 3])   # lists; α does not enter
    # the scalar form the chapter's checks used before the move, bit for bit
    for beta in (0.25, 0.5, 1.5):
        assert float(fl.chi_map(2.0, beta, True)) == beta * max(1.0, 2 / (1 + beta))
        assert fl.chi_map(2.0, beta, False) == beta


def test_compute_map_rows_and_continuity():
    """The three task classes: hard rows (Table 1 of (A)), easy αβ/(αβ+1), super-easy 1 − 1/(2α);
    the map is continuous across both class boundaries β = 1 and β = 2 − 1/α (lazy and rich)."""
    al = 2.0
    assert float(fl.compute_map(al, 0.5, False)) == pytest.approx(1 / 3, rel=1e-15)
    assert float(fl.compute_map(al, 0.5, True)) == pytest.approx(0.4, rel=1e-15)
    assert float(fl.compute_map(al, 1.25, False)) == pytest.approx(2.5 / 3.5, rel=1e-15)
    assert float(fl.compute_map(al, 1.25, True)) == float(fl.compute_map(al, 1.25, False))   # easy: rich = lazy
    assert float(fl.compute_map(al, 2.0, True)) == pytest.approx(0.75, rel=1e-15)
    AL = np.linspace(1.05, 4, 7)
    eps = 1e-9
    for rich in (False, True):
        for edge in (np.ones_like(AL), 2 - 1 / AL):
            lo, hi = fl.compute_map(AL, edge - eps, rich), fl.compute_map(AL, edge + eps, rich)
            np.testing.assert_allclose(lo, hi, atol=1e-8)
    # rich is steeper than lazy exactly on the hard tasks
    BE = np.linspace(0.05, 0.95, 10)
    assert np.all(fl.compute_map(al, BE, True) > fl.compute_map(al, BE, False))
    # the chapter's table values before the move, bit for bit
    assert float(fl.compute_map(al, 0.5, True)) == 2 * al * 0.5 / (al * 1.5 + 2)
    assert float(fl.compute_map(al, 0.5, False)) == al * 0.5 / (al + 1)


def test_compute_exponent_two_term_is_b_eq17():
    """(a−1)/(1+b) in paper (B)'s notation a = αβ+1, b = α; for an easy task it is steeper than the
    four-term row αβ/(αβ+1), which the chapter's DMFT frontier follows."""
    al, be = 2.0, 1.25
    a, b = al * be + 1, al
    assert fl.compute_exponent_two_term(al, be) == pytest.approx((a - 1) / (1 + b), rel=1e-15)
    assert fl.compute_exponent_two_term(al, be) > float(fl.compute_map(al, be, False)) + 0.1


# ------------------------------------------------------------------ the row-space leak

def _leak_unprojected(lam, w2, N, gamma, eta, steps, seed):
    """The same GD map with the *unprojected* feature update A ← A + ηγ w vᵀΛ (the full gradient):
    it leaves the row space of A(0), so the leak check must see it."""
    A0 = np.random.default_rng([seed, 0]).standard_normal((N, lam.size))
    A, w, ws = A0.copy(), np.zeros(N), np.sqrt(w2)
    for _ in range(steps):
        v = ws - A.T @ w / N
        Lv = lam * v
        ALv = A @ Lv
        A += eta * gamma * np.outer(w, Lv)
        w += eta * ALv
    Q, _ = np.linalg.qr(A0.T)
    return np.linalg.norm(A.T - Q @ (Q.T @ A.T)) / np.linalg.norm(A.T - A0.T)


def test_row_space_leak_is_round_off_and_detects_a_leak():
    lam, w2 = spectra.source_task(64, 2.0, 0.5)
    leak = fl.row_space_leak(lam, w2, 16, 1.0, eta=0.05, steps=400, seed=700)
    assert 0 <= leak < 1e-12
    assert _leak_unprojected(lam, w2, 16, 1.0, 0.05, 400, 700) > 1e-2


def test_row_space_leak_replays_the_chapter_loop():
    """Identical (bit for bit) to the loop the chapter ran inline before the move."""
    lam, w2 = spectra.source_task(64, 2.0, 0.5)
    N, eta = 16, 0.05
    A0 = np.random.default_rng([700, 0]).standard_normal((N, 64))
    A = A0.copy(); w = np.zeros(N); ws = np.sqrt(w2)
    for _ in range(400):
        v = ws - A.T @ w / N
        Lv = lam * v
        ALv = A @ Lv
        A += eta * 1.0 * np.outer(w, A0.T @ (A0 @ Lv) / N)
        w += eta * ALv
    Q, _ = np.linalg.qr(A0.T)
    ref = np.linalg.norm(A.T - Q @ (Q.T @ A.T)) / np.linalg.norm(A.T - A0.T)
    assert fl.row_space_leak(lam, w2, N, 1.0, eta=eta, steps=400, seed=700) == ref


@pytest.mark.parametrize("bad", [dict(N=0), dict(gamma=0.0), dict(eta=-0.1), dict(steps=0), dict(seed=-1)])
def test_row_space_leak_rejects_bad_inputs(bad):
    lam, w2 = spectra.source_task(16, 2.0, 0.5)
    kw = dict(N=4, gamma=1.0, eta=0.05, steps=10, seed=0) | bad
    with pytest.raises(ValueError):
        fl.row_space_leak(lam, w2, kw.pop("N"), kw.pop("gamma"), **kw)


# ------------------------------------------------------------------ experiments at tiny sizes

TINY = dict(
    kernel_limit=dict(M_rf=100, a=2.0, b=1.5, N_list=[20], P_list=[20], N_fixed=20, draws=4, n_talbot=12,
                      eta_gd=0.5, draws_gd=2),
    scaling_exponents=dict(M_exp=200, a=2.0, b=1.5, N_exp=[8, 16, 32], draws_exp=3, n_talbot=12, M_time=100000),
    lazy_frontier=dict(al=2.0, be=0.5, M_co=200, N_co=[4, 8, 16], N_co_sim=[4, 8], draws_co=3,
                       co_window=[100.0, 1e4]),
    early_stopping=dict(M_rf=100, a=2.0, b=1.5, P_es=30, sigma2_es=1.0, kappas=[0.0, 1e-2], draws_es=4,
                        n_talbot=12),
    langevin=dict(M_rf=100, a=2.0, b=1.5, P_es=30, sigma2_es=1.0, draws=4, n_talbot=12),
    finite_width=dict(M_sim=16, alpha=2.0, t_sim_max=5.0, N_sim=[32, 64], seeds_sim=2, eta_sim=0.05, n_talbot=12),
    sgd_transient=dict(M_sim=16, alpha=2.0, t_sim_max=5.0, N_sgd=16, seeds_sgd=3, B_sgd=[4, 16], eta_sim=0.05),
    time_exponents=dict(M_fl=1000, alpha=2.0, betas=[0.5, 1.5], fit_window=[10.0, 300.0], gammas=[0.0, 0.1, 1.0],
                        betas_gamma=[0.5]),
    rich_frontier=dict(M_cs=128, alpha=2.0, beta=0.5, N_cs=[4, 6, 8, 11, 16, 23, 32, 45, 64], seeds_cs=3,
                       C_cs_max=3000.0, gamma=1.0, eta_cs=0.05, t_min=10.0),
    finite_width_de=dict(M_de=200, alpha=2.0, beta_de=0.5, N_de=[8, 16], gammas_de=[0.0, 1.0], seeds_de=4,
                         eta_de=0.05, t_de_max=20.0, seed_de=1300, n_talbot=12),
)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Every experiment once, through the results store (a fresh folder), as the chapter calls them."""
    store = tmp_path_factory.mktemp("store")
    with scratch_store(store):
        out = {name: experiments.call(getattr(ch04, name), **kw) for name, kw in TINY.items()}
    return store, out


def test_experiments_are_stored_and_reproduced_store_only(results, monkeypatch):
    store, out = results
    assert len(list(store.glob("*.pkl"))) == len(TINY)
    assert all(p.stat().st_size < 200_000 for p in store.glob("*.pkl"))
    monkeypatch.setenv("SCALINGLAWS_STORE", str(store))
    monkeypatch.setenv("SCALINGLAWS_STORE_ONLY", "1")
    again = experiments.call(ch04.kernel_limit, **TINY["kernel_limit"])
    assert again["z_rf"] == out["kernel_limit"]["z_rf"]
    np.testing.assert_array_equal(again["b_sim"], out["kernel_limit"]["b_sim"])
    with pytest.raises(experiments.StoreMissError):
        experiments.call(ch04.kernel_limit, **(TINY["kernel_limit"] | {"draws": 5}))


def test_kernel_limit_returns_what_the_chapter_uses(results):
    kl = results[1]["kernel_limit"]
    assert kl["runs"] == [(20, np.inf), (20, 20)] and kl["rP"] == (20, 20)
    for r in kl["runs"]:
        assert isinstance(kl["theory"][r], Curve) and {"bias", "variance"} <= set(kl["theory"][r].extras)
        assert "v" not in kl["sims"][r].extras and kl["sims"][r].seeds.shape == (4, 25)   # no error vectors
    assert set(kl["gd"]) == {(20, np.inf)} and kl["gd"][20, np.inf].shape == kl["t_gd"].shape
    for k in ("z_rf", "z_rf_alt", "gd_ratio", "gd_rel", "x_gd", "z_bias", "z_bias_alt", "th_rise", "sim_rise",
              "bias_ratio_late"):
        assert np.isfinite(kl[k]), k
    assert kl["gd_ratio"] <= 1.0                          # the proved GD-flow bound
    assert kl["b_sim"].shape == kl["b_se"].shape == kl["t"].shape


def test_scaling_and_frontier_results(results):
    ex, co = results[1]["scaling_exponents"], results[1]["lazy_frontier"]
    assert ex["L_N_sim"].shape == ex["L_P_sim"].shape == (3, 3)
    assert ex["fit_t"].slope == pytest.approx(-(2.0 - 1) / 1.5, abs=0.05)    # t^-(a-1)/b
    assert np.all(np.diff(ex["L_N_th"]) < 0) and np.all(np.diff(ex["L_P_th"]) < 0)
    assert co["Lth"].shape == (3, co["t_co"].size) and co["f_th"].shape == co["C_grid"].shape
    assert co["z"] < co["z_alt"]
    assert np.all(np.diff(co["f_th"]) <= 1e-12)            # a lower envelope does not rise with compute


def test_noise_and_langevin_results(results):
    es, lg = results[1]["early_stopping"], results[1]["langevin"]
    assert set(es["opt_th"]) == set(es["opt_sim"]) == {0.0, 1e-2}
    t_star, L_star = es["opt_th"][0.0]
    assert es["t_es"][0] < t_star < es["t_es"][-1] and L_star <= es["es_th"][0.0].loss.min()
    assert np.isfinite(es["z_es"]) and np.isfinite(es["z_es_alt"]) and len(es["opt_bias"]) == 2
    assert lg["T_gp"] == pytest.approx(1 / 30)
    assert np.all(lg["lang_th"] >= lg["lang_gf"])           # the Langevin term adds variance
    assert lg["gp"].shape == (4,) and lg["lang_sim"].seeds.shape == (4, lg["t_l"].size)


def test_feature_learning_results(results):
    fw, sg, te, rc = (results[1][k] for k in ("finite_width", "sgd_transient", "time_exponents", "rich_frontier"))
    assert set(fw["z_fw"]) == set(fw["z_fw_alt"]) == set(fw["dev_fw"]) == {(g, N) for g in (0.0, 1.0) for N in (32, 64)}
    assert set(fw["allow"]) == {32, 64} and fw["diag_dev"] >= 0
    assert set(sg["exc"]) == set(sg["Bex_m"]) == set(sg["Bex_se"]) == {4, 16}
    assert sg["exc"][4].shape == sg["pop"].seeds.shape and sg["late"].dtype == bool
    assert set(te["chi"]) == {(b, g) for b in (0.5, 1.5) for g in (0.0, 1.0)}
    assert set(te["curves"]) == set(te["chi"]) | {(0.5, 0.1)}
    assert te["chi"][0.5, 1.0][0] > te["chi"][0.5, 0.0][0]      # rich is faster on the hard task
    assert len(rc["t"]) == len(rc["L"]) == len(rc["th_L"]) == 9 and rc["L"][0].shape == (3, 40)
    assert np.isfinite(rc["fit"].exponent) and np.isfinite(rc["alloc"].width_exponent)
    assert rc["alloc"].jackknife.shape == (3, 2) and len(rc["th_exp"]) == 2
    de = results[1]["finite_width_de"]
    keys = {(g, N) for g in (0.0, 1.0) for N in (8, 16)}
    assert set(de["z"]) == set(de["z_inf"]) == set(de["z_other"]) == set(de["th"]) == set(de["sim"]) == keys
    assert set(de["binning"]) == {8, 16} and all(v >= 0 for v in de["binning"].values())
    assert de["sim"][1.0, 16].seeds.shape == (4, 11) and de["th"][1.0, 16].meta["solver"] == "finite-width-de"


def test_plots_return_figures(results):
    out = results[1]
    T = TINY
    figs = [
        ch04.plot_kernel_limit(out["kernel_limit"], N_list=[20], N_fixed=20, eta_gd=0.5),
        ch04.plot_bias_variance(out["kernel_limit"]),
        ch04.plot_scaling_exponents(out["scaling_exponents"], draws_exp=3),
        ch04.plot_lazy_frontier({"hard": out["lazy_frontier"]}, N_co=[4, 8, 16], N_co_sim=[4, 8]),
        ch04.plot_early_stopping(out["early_stopping"], kappas=[0.0, 1e-2], P_es=30, sigma2_es=1.0),
        ch04.plot_langevin(out["langevin"], draws=4),
        ch04.plot_finite_width(out["finite_width"], N_sim=[32, 64], M_sim=16, alpha=2.0),
        ch04.plot_sgd_transient(out["sgd_transient"], B_sgd=[4, 16], N_sgd=16, M_sim=16, seeds_sgd=3),
        ch04.plot_time_exponents(out["time_exponents"], betas=[0.5, 1.5]),
        ch04.plot_phase_diagrams(out["time_exponents"]["chi"], {"hard": out["lazy_frontier"]}, betas=[0.5, 1.5],
                                 alpha=2.0),
        ch04.plot_gamma_curves(out["time_exponents"], gammas=[0.0, 0.1, 1.0], betas_gamma=[0.5]),
        ch04.plot_rich_frontier({1.0: out["rich_frontier"]}, N_cs=T["rich_frontier"]["N_cs"], alpha=2.0,
                                tables={1.0: (0.4, 0.4)}),
        ch04.plot_finite_width_de(out["finite_width_de"], N_de=[8, 16], gammas_de=[0.0, 1.0], M_de=200, beta_de=0.5),
    ]
    assert all(isinstance(f, matplotlib.figure.Figure) for f in figs)
    plt.close("all")


# ---------------------------------------------------------------------------------------------
# the random-feature DMFT's own predictions (noisy_predictions)
# ---------------------------------------------------------------------------------------------
def test_jackknife_optimum_exponents_exact_power_laws():
    # loss curves with a parabolic minimum in log t at t* = P^0.7, L* = P^-0.5 (per draw scaled
    # by (1 + small offsets)); the exponents are exact for the mean and the jackknife sees the
    # spread of the offsets
    t = np.geomspace(0.1, 1e4, 101)
    P = [50, 100, 200, 400]

    def curve(p, eps):
        ts, Ls = p ** 0.7, p ** -0.5
        return Ls * (1 + eps) * (1 + 0.3 * np.log(t / ts) ** 2)
    rng = np.random.default_rng(0)
    eps = 0.01 * rng.standard_normal(6)
    seeds = [np.array([curve(p, e) for e in eps]) for p in P]
    r = ch04.jackknife_optimum_exponents(P, t, seeds)
    assert r["t_exp"] == pytest.approx(0.7, abs=1e-9)
    assert r["L_exp"] == pytest.approx(-0.5, abs=1e-3)
    assert r["t_star"] == pytest.approx(np.array(P, float) ** 0.7, rel=1e-9)
    assert 0 <= r["t_exp_se"] < 1e-6 and r["L_exp_se"] < 1e-3
    one = ch04.jackknife_optimum_exponents(P, t, [S[:1] for S in seeds])
    assert one["t_exp_se"] == 0.0 and one["L_exp_se"] == 0.0


def test_gp_posterior_losses_mean_and_sample():
    from scalinglaws.kernel import randomfeatures as rf
    lam, w2 = spectra.power_law_task(200, 2.0, 1.5)
    mean, sample = rf.gp_posterior_losses(lam, w2, 50, 0.5, draws=3, seed=4)
    assert np.array_equal(sample, rf.gp_posterior_loss(lam, w2, 50, 0.5, draws=3, seed=4))
    assert np.all(sample > mean) and np.all(mean > 0)
    # tr(Λ S) directly for the first draw
    rng = np.random.default_rng(4)
    Psi = rng.standard_normal((50, 200)) * np.sqrt(lam)
    S = 0.5 * np.linalg.inv(Psi.T @ Psi + 0.5 * np.eye(200))
    assert sample[0] - mean[0] == pytest.approx(np.trace(np.diag(lam) @ S), rel=1e-8)


def test_noisy_predictions_tiny():
    r = ch04.noisy_predictions(M_rf=200, a=2.0, b=1.5, P_scan=[40, 80, 160], sigma2_es=1.0,
                               draws_scan=6, P_es=60, T_factors=[0.5, 2.0], N_fin=80, draws=6,
                               n_talbot=16)
    assert set(r) == {"t_scan", "scan_th", "scan_sim", "scan_curves", "langevin", "finite",
                      "gp_mean", "gp_sample", "th_mean", "th_sample"}
    assert r["scan_th"]["t_exp"] > 0 > r["scan_th"]["L_exp"]
    assert set(r["langevin"]) == {0.5, 2.0} and all(len(v) == 2 for v in r["langevin"].values())
    assert r["th_sample"] > r["th_mean"] > 0
    assert r["gp_mean"].shape == (6,)
    fig = ch04.plot_noisy_predictions(r, P_scan=[40, 80, 160])
    assert len(fig.axes) == 2
    plt.close(fig)
