"""Section 4.5 (04b_relu_mlps): the helpers moved out of the chapter (record times, window
exponent, the linearised loss with a fixed kernel) and the online-SGD experiments at small sizes,
run through the results store as the chapter runs them."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import scratch_store  # noqa: E402

from scalinglaws import experiments  # noqa: E402
from scalinglaws.analysis.fits import fit_power_law  # noqa: E402
from scalinglaws.experiments import ch04b_relu_mlps as ch04b  # noqa: E402
from scalinglaws.kernel import mlp  # noqa: E402

SETUP = dict(P=256, P_fine=8192, kmax=100, betas=[0.5, 1.25], eta=0.1, k_lo=4, batch=16, n_test=1024)  # the chapter's


# ------------------------------------------------------------------ helpers moved into mlp

def test_record_times_grid():
    eta, w = 0.1, (93.3, 979.7)
    t = mlp.record_times(w, eta)
    steps = t / eta
    np.testing.assert_allclose(steps, np.rint(steps), atol=1e-9)        # whole GD steps
    assert t[0] == pytest.approx(eta) and t[-1] == pytest.approx(np.rint(w[1] / eta) * eta)
    assert np.all(np.diff(t) > 0)
    assert np.sum((t >= w[0]) & (t <= w[1])) >= 30                      # densified inside the window
    # the chapter's inline formula before the move, bit for bit
    ref = np.unique(np.rint(np.concatenate([np.geomspace(eta, w[1], 60), np.geomspace(*w, 30)]) / eta)) * eta
    np.testing.assert_array_equal(t, ref)
    with pytest.raises(ValueError):
        mlp.record_times((10.0, 5.0), eta)
    with pytest.raises(ValueError):
        mlp.record_times(w, 0.0)


def test_window_exponent_of_a_power_law():
    t = np.geomspace(1.0, 1e4, 50)
    L = 3.0 * t ** -0.7 * (1 + 0.5 * (t < 10))                          # not a power law before t = 10
    assert mlp.window_exponent(t, L, (20.0, 1e4)) == pytest.approx(0.7, rel=1e-12)
    assert mlp.window_exponent(t, L, (20.0, 1e4)) == -fit_power_law(t, L, (20.0, 1e4)).slope


def test_linearised_loss_with_the_infinite_kernel_is_the_lazy_loss():
    """With the closed-form (circulant) NTK, GD on the grid from f = 0 decays each Fourier mode by
    (1 − ηλ_k) per step: the eigen-decomposition route must equal `lazy_loss_infinite`."""
    P, kmax, eta = 64, 20, 0.1
    th, X = mlp.circle_grid(P)
    lam = mlp.ntk_mode_spectrum(P)
    y, power = mlp.circle_target(th, lam, 0.5, kmax)
    K = mlp.ntk_infinite(th[:, None] - th[None, :])
    ev, V = np.linalg.eigh(K / P)
    t = eta * np.array([0, 1, 10, 100, 1000, 5000])
    L = mlp.lazy_loss_linearised(ev, V, y, t, eta)
    np.testing.assert_allclose(L, mlp.lazy_loss_infinite(t, lam, power, eta), rtol=1e-9)
    assert L[0] == pytest.approx(np.mean(y ** 2))
    with pytest.raises(ValueError):
        mlp.lazy_loss_linearised(ev, V, y[:-1], t, eta)


# ------------------------------------------------------------------ experiments

def test_circle_setup_fixes_windows_from_the_lazy_theory():
    s = ch04b.circle_setup(**SETUP)
    assert s["win_rule"][0.5][1] == "a priori" and s["win_rule"][1.25][1] == "local exponent"
    assert s["k_hi"] == 12 and s["fit_alpha"].slope == pytest.approx(-2.0, abs=0.1)
    assert s["lam_c"].size == 2048 and s["th_test"].size == 1024
    for be in SETUP["betas"]:
        t = s["t_rec"][be]
        assert s["lazy_inf"][be].shape == t.shape and t[-1] == pytest.approx(s["windows"][be][1], abs=0.1)
        assert s["chi_gd"][be] == pytest.approx(be, abs=0.03)           # rule (a) or (b): within ±0.03 of β
        assert s["chi_inf"][be] == pytest.approx(s["chi_gd"][be], abs=1e-3)  # minibatch noise: negligible
        assert np.all(s["lazy_inf"][be][1:] > s["lazy_gd"][be][1:])     # ... but present
        coef, power = s["targets"][be]
        np.testing.assert_allclose((coef ** 2).sum(0) / 2, power)


def test_continuum_spectrum_is_free_of_aliasing_on_the_target_modes():
    a, b = ch04b.continuum_spectrum(8192), ch04b.continuum_spectrum(16384)
    assert np.max(np.abs(a[1:101] / b[1:101] - 1)) < 1e-3
    assert np.max(np.abs(mlp.ntk_mode_spectrum(256)[1:101] / b[1:101] - 1)) > 0.5   # the coarse grid aliases


def test_kink_angles():
    p = mlp.MLPParams(np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 0.0]]), np.array([0.0, -1.0, 3.0]),
                      np.array([0.5, -2.0, 1.0]), 1.0)
    ang, w = ch04b.kink_angles(p)                    # the third neuron never changes sign
    np.testing.assert_allclose(np.sort(ang), np.sort([np.pi / 2, -np.pi / 2, np.pi / 2 - np.pi / 3,
                                                      np.pi / 2 + np.pi / 3]))
    np.testing.assert_allclose(np.sort(w), [0.5, 0.5, 2.0, 2.0])


BASE = dict(P_fine=8192, kmax=100, eta=0.1, k_lo=4, batch=4, n_test=256, N=16, seeds=2)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """The chapter's experiments at small widths, through a fresh results store."""
    store = tmp_path_factory.mktemp("store")
    grid = [dict(BASE, beta=0.5, gamma0=g, seed0=1000, data_seed0=2000) for g in (1e-5, 1.0)]
    with scratch_store(store):
        out = dict(
            ntk=experiments.call(ch04b.ntk_check, P=256, kmax=100, N_ntk=512, seed=12345),
            runs=experiments.run(ch04b.train, grid, max_workers=0),
            rand=experiments.call(ch04b.train, **BASE, beta=0.5, gamma0=1.0, seed0=1000, data_seed0=2000,
                                  phases="random", target_seed0=7),
            lin=experiments.call(ch04b.lazy_linearised, P_fine=8192, kmax=100, specs=[(0.5, "zero"), (0.5, "random")],
                                 eta=0.1, k_lo=4, batch=4, n_lin=128, N=16, seeds=2, seed0=1000, target_seed0=7))
    return store, grid, out


def test_ntk_check_returns_what_the_chapter_uses(stored):
    ntk = stored[2]["ntk"]
    assert ntk["lam_emp"].shape == ntk["lam_se"].shape == (129,)
    assert np.isfinite(ntk["z_ntk"]) and ntk["z_ntk"] < 5          # a finite-width MC estimate of λ_k


def test_train_returns_what_the_chapter_uses(stored):
    store, grid, out = stored
    s = ch04b.circle_setup(P=16, P_fine=8192, kmax=100, betas=[0.5], eta=0.1, k_lo=4, batch=4, n_test=256)
    for p, r in zip(grid, out["runs"]):
        np.testing.assert_array_equal(r["t"], s["t_rec"][0.5])
        assert r["loss"].shape == (2, r["t"].size) and r["chi"].shape == (2,)
        assert r["chi"][0] == mlp.window_exponent(r["t"], r["loss"][0], s["windows"][0.5])
        assert isinstance(r["params_end"], mlp.MLPParams) and r["params_end"].N == 16
        assert r["loss"][0, -1] < r["loss"][0, 0]
    # the same as training directly: initialisation 1001, data stream 2001, the zero-phase target
    direct = mlp.train_online(mlp.init_params(16, 1.0, 1001), s["targets"][0.5][0], 0.1, s["t_rec"][0.5], batch=4,
                              seed=2001, n_test=256)
    np.testing.assert_array_equal(out["runs"][1]["loss"][1], direct.loss)
    # random phases: network r gets the phases of seed target_seed0 + r, the same power spectrum
    coef1 = ch04b.target(s["lam_c"], 0.5, 100, "random", 8)[0]
    direct = mlp.train_online(mlp.init_params(16, 1.0, 1001), coef1, 0.1, s["t_rec"][0.5], batch=4, seed=2001,
                              n_test=256)
    np.testing.assert_array_equal(out["rand"]["loss"][1], direct.loss)
    assert not np.allclose(out["rand"]["loss"], out["runs"][1]["loss"])


def test_lazy_linearised_follows_the_lazy_runs(stored):
    """γ0 = 1e-5 online SGD against the linearised population GD with the same kernel: within the
    fluctuations of single runs with B = 4 at N = 16 (30 %); the chapter measures the difference)."""
    store, grid, out = stored
    lin = out["lin"]
    assert set(lin) == {(0.5, "zero"), (0.5, "random")} and lin[0.5, "zero"]["chi"].shape == (2,)
    assert np.all(lin[0.5, "zero"]["loss"][:, 0] < 1.0) and np.all(np.diff(lin[0.5, "zero"]["loss"], axis=1) <= 0)
    np.testing.assert_allclose(out["runs"][0]["loss"], lin[0.5, "zero"]["loss"], rtol=0.3)   # B = 4: noisy runs


def test_store_only_reproduces_and_refuses_new_points(stored, monkeypatch):
    store, grid, out = stored
    assert len(list(store.glob("*.pkl"))) == 5
    assert all(p.stat().st_size < 100_000 for p in store.glob("*.pkl"))
    monkeypatch.setenv("SCALINGLAWS_STORE", str(store))
    monkeypatch.setenv("SCALINGLAWS_STORE_ONLY", "1")
    again = experiments.call(ch04b.train, **grid[1])
    np.testing.assert_array_equal(again["chi"], out["runs"][1]["chi"])
    with pytest.raises(experiments.StoreMissError):
        experiments.call(ch04b.train, **(grid[1] | {"seed0": 2000}))


def test_kernel_growth_and_plots(stored):
    out = stored[2]
    s = ch04b.circle_setup(**SETUP)
    X = mlp.circle_grid(256)[1]
    p0 = mlp.init_params(16, 1.0, 1000)
    same = ch04b.kernel_growth(p0, p0, X, 0.1)
    np.testing.assert_allclose(same["growth"], 1.0)
    assert same["top_growth"] == 1.0 and 0 < same["eta_top"] < 2
    kg = ch04b.kernel_growth(p0, out["runs"][1]["params_end"], X, 0.1)
    assert kg["top_growth"] > 1                                        # rich training grows the kernel
    Ls = {g: r["loss"] for g, r in zip((1e-5, 1.0), out["runs"])}
    chi = {g: r["chi"] for g, r in zip((1e-5, 1.0), out["runs"])}
    panels = [("hard β = 0.5, zero phases", 0.5, Ls, chi), ("hard β = 0.5, random phases", 0.5, Ls, chi),
              ("easy β = 1.25, zero phases", 0.5, Ls, chi)]
    figs = [ch04b.plot_spectrum(s, out["ntk"], kmax=100, N_ntk=512, example_random=ch04b.target(s["lam_c"], 0.5, 100,
                                                                                                  "random", 7)[0]),
            ch04b.plot_training(s, panels, N=16),
            ch04b.plot_diagnosis({"zero": kg["growth"]}, {"init": ch04b.kink_angles(p0)}, g_rich=1.0, kmax=100)]
    assert all(isinstance(f, matplotlib.figure.Figure) for f in figs)
    plt.close("all")
