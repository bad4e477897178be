"""Chapter 5's experiments (scalinglaws.experiments.ch05_emergence) and the rules that moved from
the chapter into the library (scalinglaws.emergence.analysis, scalinglaws.analysis.frontier).

References: hand-computed values for the rules (exact up to round-off), the library functions the
experiments wrap (the same computation done directly, compared exactly), and exact power laws
for the fits (slope known to round-off)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from scalinglaws import emergence as em  # noqa: E402
from scalinglaws import experiments, spectra  # noqa: E402
from scalinglaws.analysis import fits  # noqa: E402
from scalinglaws.analysis.frontier import compute_frontier, frontier_fit  # noqa: E402
from scalinglaws.experiments import ch05_emergence as ch05  # noqa: E402
from scalinglaws.result import Curve  # noqa: E402

TINY = dict(d=64, P=16, beta=0.8, eta=0.2, sigma0=1e-3)


# ---------------------------------------------------------------------------------------------
# rules moved from the chapter
# ---------------------------------------------------------------------------------------------
def test_seed_spread():
    m, sd, se = em.seed_spread([1.0, 2.0, 3.0, 6.0])
    assert m == 3.0
    assert sd == pytest.approx(np.sqrt(14.0 / 3.0), rel=1e-14)      # sum of squares 14, ddof 1
    assert se == pytest.approx(sd / 2.0, rel=1e-14)
    m1, sd1, se1 = em.seed_spread([0.5])
    assert m1 == 0.5 and np.isnan(sd1) and np.isnan(se1)


def test_time_fit_window():
    assert em.time_fit_window(10.0, 1e6) == (20.0, 400.0)
    assert em.time_fit_window(10.0, 300) == (20.0, 300)              # clipped at the run's end
    assert em.time_fit_window(10.0, 1e6, lo=3, hi=20) == (30.0, 200.0)


def test_width_run_steps():
    # widest network: max T1 = 100 -> 40 T1 = 4000; C_hi = 1.6e5 -> C_hi / m = 1e4 (m = 16)
    s = em.width_run_steps([16, 64, 128], [80.0, 100.0], 1.6e5, 50_000)
    assert s == {16: int(np.ceil(1.05 * 1e4)), 64: int(np.ceil(1.05 * 4000)),
                 128: int(np.ceil(1.05 * 4000))}
    assert all(isinstance(v, int) for v in s.values())
    assert em.width_run_steps([16], [100.0], 1.6e5, 5000) == {16: 5000}   # capped
    with pytest.raises(ValueError, match="C_hi"):
        em.width_run_steps([16], [100.0], -1.0, 5000)


def test_width_clock():
    clk = em.width_clock({8: [4.0, 6.0], 32: [2.0, 2.0]}, 32)
    assert clk == {8: 2.5, 32: 1.0}
    with pytest.raises(ValueError, match="ref"):
        em.width_clock({8: [1.0]}, 16)


def test_floor_slope():
    floors = {m: 3.0 * m ** -0.6 for m in (4, 8, 16, 32, 64)}
    assert em.floor_slope(floors, (4, 64)) == pytest.approx(-0.6, abs=1e-12)
    assert em.floor_slope(floors, (16, 64)) == pytest.approx(-0.6, abs=1e-12)
    assert np.isnan(em.floor_slope(floors, (32, 64)))               # fewer than three widths


def test_frontier_fit_matches_envelope_and_clock():
    t = np.logspace(0, 4, 200)
    curves = {m: (t, m ** -0.5 + 1.0 / t) for m in (2, 8, 32)}
    C = np.logspace(1, 5, 60)
    win = (30.0, 3e4)
    L, f = frontier_fit(curves, C, win)
    L0 = compute_frontier(curves, C)[0]
    assert np.array_equal(L, L0)
    assert f.slope == fits.fit_power_law(C, L0, win).slope
    clock = {2: 2.0, 8: 1.5, 32: 1.0}
    Lc, fc = frontier_fit(curves, C, win, clock=clock)
    Lm = compute_frontier({m: (t / clock[m], L_) for m, (t, L_) in curves.items()}, C)[0]
    assert np.array_equal(Lc, Lm)
    # Curves are accepted too, with and without the clock
    cc = {m: Curve(t=t_, loss=L_) for m, (t_, L_) in curves.items()}
    assert np.array_equal(frontier_fit(cc, C, win)[0], L0)
    assert np.array_equal(frontier_fit(cc, C, win, clock=clock)[0], Lm)


def test_greedy_frontier_slopes_matches_direct_computation():
    d, P, beta, eta, sigma0 = 64, 16, 0.8, 0.2, 1e-3
    widths, seeds = [2, 4, 8, 16], [3, 4]
    out = em.greedy_frontier_slopes(d, P, beta, widths, seeds, eta=eta, sigma0=sigma0)
    assert len(out) == 1 and len(out[0]) == 2 and all(len(x) == 3 for x in out[0])
    # the same rule written out with the underlying functions
    a = spectra.power_law_amplitudes(P, beta)
    R = em.tail_loss(P, beta)
    crv = em.toy_curve(4, u0=1.0 / d, rho0=sigma0**2 / 0.1)
    dec = np.log10(2e3 * max(widths) ** beta * d / eta)
    t = np.logspace(0, dec, int(100 * dec))
    res = [em.greedy_toy(widths, d, a, s, t, crv, eta=eta, sigma0=sigma0) for s in seeds]
    T1m = float(np.mean([T1[16] for _, T1 in res]))
    win = em.frontier_window(widths, T1m, beta)
    C = np.logspace(np.log10(2 * T1m), np.log10(1.5 * win[1]), 120)
    raw = [fits.fit_power_law(C, compute_frontier({m: (t, L[m] + R) for m in widths}, C)[0],
                              win).slope for L, _ in res]
    assert out[0][0] == em.seed_spread(raw)
    assert -2.0 < out[0][0][0] < 0.0
    # spans: one entry per list of widths, the full list reproducing the default
    two = em.greedy_frontier_slopes(d, P, beta, widths, seeds, eta=eta, sigma0=sigma0,
                                    spans=[widths, widths[1:]])
    assert len(two) == 2 and two[0] == out[0]


# ---------------------------------------------------------------------------------------------
# experiments at tiny sizes: what the chapter reads, equal to the direct computation
# ---------------------------------------------------------------------------------------------
def test_gd_runs_returns_what_the_chapter_uses():
    seeds, steps = [5, 6], 300
    r = ch05.gd_runs(m=8, seeds=seeds, steps=steps, n_record=40, **TINY)
    assert set(r) == {"runs", "overlap0", "converged", "unused"}
    a = spectra.power_law_amplitudes(TINY["P"], TINY["beta"])
    full = em.population_gd(8, TINY["d"], a, seeds=seeds, k=4, eta=TINY["eta"], steps=steps,
                            sigma0=TINY["sigma0"], n_record=40)
    assert len(r["runs"]) == 2
    for s, f in zip(r["runs"], full):
        assert np.array_equal(s.t, f.t) and np.array_equal(s.loss, f.loss)
        assert set(s.extras) == set(ch05.PAIR_EXTRAS) and s.series == ()
        for k in ch05.PAIR_EXTRAS:
            assert np.array_equal(s.extras[k], f.extras[k], equal_nan=True)
        assert s.meta["m"] == 8 and s.meta["eta"] == TINY["eta"]
    assert np.array_equal(r["overlap0"], full[0].pair_overlap[:, :12])
    for (ov, nr), f in zip(r["converged"], full):
        ov0, nr0 = em.converged_pairs(f, steps, a)
        assert np.array_equal(ov, ov0) and np.array_equal(nr, nr0)
    u0 = em.unused_neurons(full[0], steps)
    assert r["unused"].violations == u0.violations
    assert np.array_equal(r["unused"].late, u0.late)
    # the chapter's analyses run on the slim curves
    em.due_ratios(r["runs"][0], steps, by="direction")
    assert em.converged(r["runs"][0].t, r["runs"][0].loss) in (True, False)


def test_greedy_floors_and_frontiers_wrap_the_library():
    g = ch05.greedy_floors(widths=[2, 4], d=64, P=16, beta=0.8, seeds=[1, 2, 3])
    a = spectra.power_law_amplitudes(16, 0.8)
    for m in (2, 4):
        f0, T0 = em.greedy_floor(m, 64, a, [1, 2, 3])
        assert np.array_equal(g[m][0], f0) and np.array_equal(g[m][1], T0)
    gt = ch05.greedy_frontiers(d=64, P=16, beta=0.8, widths=[2, 4, 8], seeds=[3, 4], eta=0.2,
                               sigma0=1e-3)
    assert gt == em.greedy_frontier_slopes(64, 16, 0.8, [2, 4, 8], [3, 4], eta=0.2, sigma0=1e-3)


def test_toy_laws_tiny():
    r = ch05.toy_laws(beta=0.8, P=512, P_toy=4000, d=256, sigma0=1e-3)
    assert {"t", "L_big", "L_fin", "f_big", "f_fin", "f_raw", "win_t", "f_w", "f_c", "win_c",
            "n_widths"} <= set(r)
    assert r["t"].shape == r["L_big"].shape == r["L_fin"].shape == (300,)
    assert r["win_t"] == (3.0, min(1e3, 0.1 * 512 ** 0.8))
    # exponents of the toy sum: -(2 beta - 1)/beta in time, -(2 beta - 1) in width (loose: small P)
    assert r["f_big"].slope == pytest.approx(-0.75, abs=0.1)
    assert r["f_w"].slope == pytest.approx(-0.6, abs=0.1)
    assert r["n_widths"] == len(np.unique(np.round(np.logspace(0.5, 3.5, 25)).astype(int)))


def test_sgd_and_contrast_runs_tiny():
    sgd = ch05.sgd_runs(m=2, d=32, P=2, beta=0.8, eta=0.5 / 32**2, steps=2000, sigma0=1e-3, seed=1,
                        n_init=2, n_record=20)
    assert len(sgd) == 2
    for r in sgd:
        assert r.series == ("pair_overlap",) and "norms" not in r.extras
        assert r.pair_overlap.shape == (len(r.t), len(r.students))
    one = ch05.sgd_runs(m=2, d=32, P=2, beta=0.8, eta=0.5 / 32**2, steps=500, sigma0=1e-3, seed=1,
                        n_init=1, n_record=10)
    assert isinstance(one, list) and len(one) == 1
    rk = ch05.contrast_run(k=2, m=4, d=32, P=2, beta=0.8, eta=0.05, steps=200, sigma0=1e-3, seed=2,
                           n_record=30)
    assert set(rk.extras) == {"students", "teachers", "u0", "pair_overlap"}
    assert rk.to(t_unit="time").t[-1] == pytest.approx(0.05 * 200)
    assert em.rise_width(rk).shape == (len(rk.students),)


def test_experiment_is_cached_and_small(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALINGLAWS_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("SCALINGLAWS_STORE_ONLY", raising=False)
    p = dict(m=4, seeds=[1], steps=100, n_record=20, **TINY)
    r1 = experiments.call(ch05.gd_runs, **p)
    files = list((tmp_path / "store").glob("*.pkl"))
    assert len(files) == 1 and files[0].stat().st_size < 20_000
    monkeypatch.setenv("SCALINGLAWS_STORE_ONLY", "1")
    r2 = experiments.call(ch05.gd_runs, **p)                  # read back, nothing computed
    assert np.array_equal(r1["runs"][0].loss, r2["runs"][0].loss)
    with pytest.raises(experiments.StoreMissError):
        experiments.call(ch05.gd_runs, **dict(p, steps=101))


def test_plots_draw():
    curve = em.toy_curve(4, u0=1 / 256, rho0=1e-5)
    toy = ch05.toy_laws(beta=0.8, P=512, P_toy=4000, d=256, sigma0=1e-3)
    figs = [ch05.plot_toy(curve, toy, beta=0.8, P_toy=4000, tau_half_cf=1.0)]
    a = spectra.power_law_amplitudes(TINY["P"], TINY["beta"])
    sw = {m: ch05.gd_runs(m=m, seeds=[1, 2], steps=300, n_record=30, **TINY) for m in (2, 4)}
    runs = {m: s["runs"] for m, s in sw.items()}
    figs.append(ch05.plot_staircase(runs[4][0], sw[4]["overlap0"], a, curve, 300))
    C = np.logspace(0, 3, 30)
    L, f = frontier_fit({m: (r[0].t[1:], r[0].loss[1:]) for m, r in runs.items()}, C, (10, 500))
    figs.append(ch05.plot_laws(runs=runs, R=0.01, beta=0.8,
                               time=dict(window=(10, 300), fit=f, mean=-0.7),
                               width=dict(floor_runs=runs, steps=300, greedy={2: 0.5, 4: 0.3},
                                          n_greedy=4, same=None, a=a),
                               compute=dict(C=C, frontier=L, pred=L, clock=L, window=(10, 500),
                                            fit=f, mean=-0.3, mean_pred=-0.3, mean_clock=-0.3)))
    sgd = ch05.sgd_runs(m=2, d=32, P=2, beta=0.8, eta=0.5 / 32**2, steps=2000, sigma0=1e-3,
                        seed=1, n_init=2, n_record=20)
    figs.append(ch05.plot_sgd(sgd, spectra.power_law_amplitudes(2, 0.8), curve, 2000))
    rk = {k: ch05.contrast_run(k=k, m=4, d=32, P=2, beta=0.8, eta=0.05, steps=200, sigma0=1e-3,
                               seed=2, n_record=30) for k in (2, 4)}
    figs.append(ch05.plot_contrast(rk))
    for fig in figs:
        assert isinstance(fig, plt.Figure) and fig.axes
        plt.close(fig)


# ---------------------------------------------------------------------------------------------
# the frontier at several d, T_p against d, k* = 6, beta < 1/2, Thm 2.1(d)
# ---------------------------------------------------------------------------------------------
def test_population_gd_float32_matches_float64():
    a = spectra.power_law_amplitudes(TINY["P"], TINY["beta"])
    kw = dict(seeds=[3, 4], k=4, eta=0.2, steps=1500, sigma0=1e-3, n_record=40)
    r64 = em.population_gd(16, TINY["d"], a, dtype="float64", **kw)
    r32 = em.population_gd(16, TINY["d"], a, dtype="float32", **kw)
    for x, y in zip(r64, r32):
        assert np.array_equal(x.teachers, y.teachers) and np.array_equal(x.T_pred, y.T_pred)
        ok = np.isfinite(x.t_emerge_dir)
        assert ok.sum() >= 4 and np.array_equal(ok, np.isfinite(y.t_emerge_dir))
        assert np.allclose(y.t_emerge_dir[ok], x.t_emerge_dir[ok], rtol=1e-3, atol=0)
        assert np.allclose(y.loss, x.loss, rtol=1e-3, atol=1e-6)
    with pytest.raises(ValueError, match="dtype"):
        em.population_gd(4, 64, a, dtype="float16", **kw)
    with pytest.raises(ValueError, match="dtype"):
        em.population_gd(4, 64, a, dtype="float32", seed=1, steps=10)


def test_gd_runs_k_and_dtype():
    r = ch05.gd_runs(m=8, seeds=[5], steps=200, n_record=20, k=6, dtype="float32", **TINY)
    assert r["runs"][0].meta["k"] == 6
    a = spectra.power_law_amplitudes(TINY["P"], TINY["beta"])
    full = em.population_gd(8, TINY["d"], a, seeds=[5], k=6, eta=TINY["eta"], steps=200,
                            sigma0=TINY["sigma0"], n_record=20, dtype="float32")
    assert np.array_equal(r["runs"][0].loss, full[0].loss)


def test_staircase_bounds_and_window():
    a = np.array([0.8, 0.6])
    lo, hi = em.staircase_bounds([0.5, 1.0, 1.5, 2.0, 3.0], a, [0, 1], [1.0, 2.0], 0.2)
    assert np.allclose(lo, [1.0, 0.36, 0.36, 0.0, 0.0])     # (1 - 0.2) T = 0.8, 1.6
    assert np.allclose(hi, [1.0, 1.0, 0.36, 0.36, 0.0])     # (1 + 0.2) T = 1.2, 2.4
    t = np.linspace(0.1, 4.0, 400)
    T = np.array([1.0, 2.0])

    def run(loss):
        return Curve(t, loss, t_unit="steps", loss_factor=1.0,
                     extras=dict(teachers=np.array([0, 1]), T_pred=T))
    on_time = 1.0 - 0.64 * (t >= 1.05) - 0.36 * (t >= 2.1)   # 5 % late: window 0.05
    assert em.staircase_window(run(on_time), a, 0.0) == pytest.approx(0.05)
    late = 1.0 - 0.64 * (t >= 1.4) - 0.36 * (t >= 2.8)       # 40 % late
    assert em.staircase_window(run(late), a, 0.0, frac=1.0) == pytest.approx(0.4)
    # the default tolerates 5 % of the times outside: the 15 of 400 just before each late step
    assert em.staircase_window(run(late), a, 0.0) == pytest.approx(0.35)
    never = np.ones_like(t)                                  # nothing learned: no window
    assert np.isnan(em.staircase_window(run(never), a, 0.0))
    with pytest.raises(ValueError, match="t_min"):
        em.staircase_window(run(on_time), a, 10.0)
    with pytest.raises(ValueError, match="delta"):
        em.staircase_bounds(t, a, [0, 1], T, 1.5)


def test_network_frontier_matches_direct_computation():
    t = np.logspace(0, 4, 200)
    runs = {m: [(t, 1.0 / m + 1.0 / np.sqrt(t)), (t, 2.0 / m + 1.0 / t)] for m in (4, 8, 16, 32)}
    out = ch05.network_frontier(runs, R=0.01, T1bar=1.0, window=(20.0, 1e4), max_steps=10_000)
    C = np.logspace(np.log10(4.0), np.log10(32 * 10_000), 120)
    assert np.allclose(out["C"], C)
    for g in range(2):
        cv = {m: (t[1:], runs[m][g][1][1:] + 0.01) for m in runs}
        L, ms = compute_frontier(cv, C)
        assert np.array_equal(out["frontier"][g], L)
        assert np.array_equal(out["m_star"][g], ms, equal_nan=True)
        assert out["slope"][g] == fits.fit_power_law(C, L, (20.0, 1e4)).slope
        assert out["m_slope"][g] == fits.fit_power_law(C, ms, (20.0, 1e4)).slope
        assert out["sensitivity"]["lo*2"][g] == fits.fit_power_law(C, L, (40.0, 1e4)).slope
        assert out["sensitivity"]["hi/4"][g] == fits.fit_power_law(C, L, (20.0, 2.5e3)).slope
    # m* grows with C
    assert out["m_slope"][0] > 0
    # Curves are accepted as well as (t, loss) pairs, and clock divides the time
    cur = {m: [Curve(t, v[0][1], t_unit="steps", loss_factor=1.0)] for m, v in runs.items()}
    o2 = ch05.network_frontier(cur, R=0.01, T1bar=1.0, window=(20.0, 1e4), max_steps=10_000,
                               clock={m: 1.0 for m in runs})
    assert o2["slope"][0] == out["slope"][0]


def test_d_sweep_tiny():
    r = ch05.d_sweep(d=64, P=16, beta=0.8, widths=[4, 8], seeds=[1, 2], eta=0.2, sigma0=1e-3,
                     max_steps=400, dtype="float64", n_record=30)
    a = spectra.power_law_amplitudes(16, 0.8)
    T1 = em.greedy_floor(8, 64, a, [1, 2])[1] / 0.2
    assert r["T1bar"] == pytest.approx(float(np.mean(T1)))
    assert r["window"] == em.frontier_window([4, 8], r["T1bar"], 0.8)
    assert r["steps"] == em.width_run_steps([4, 8], T1, r["window"][1], 400)
    full = em.population_gd(4, 64, a, seeds=[1, 2], k=4, eta=0.2, steps=r["steps"][4],
                            sigma0=1e-3, n_record=30)
    assert np.array_equal(r["runs"][4][1].loss, full[1].loss)


def test_tp_vs_d_tiny():
    r = ch05.tp_vs_d(k=4, ds=[32, 64], m=4, P=2, beta=0.8, seeds=[1, 2, 3], eta=0.2, sigma0=1e-3)
    assert list(r["d"]) == [32] * 3 + [64] * 3 and r["k"] == 4
    a = spectra.power_law_amplitudes(2, 0.8)
    T1 = em.greedy_floor(4, 64, a, [1, 2, 3])[1] / 0.2
    assert r["steps"][64] == int(np.ceil(3.0 * np.max(T1)))
    assert np.allclose(r["T_first"][3:], T1)
    assert np.all(np.isfinite(r["t_first"]))
    # first emergence close to the first predicted time (decoupled, tiny widths)
    assert np.all((r["t_first"] / r["T_first"] > 0.7) & (r["t_first"] / r["T_first"] < 1.5))


def test_low_beta_runs_and_toy():
    r = ch05.low_beta_runs(d=64, P=8, beta=0.3, m=24, seeds=[1, 2], eta=0.2, sigma0=1e-3,
                           dtype="float64")
    assert len(r["runs"]) == 2 and r["t_half"].shape == (2,)
    for x, th in zip(r["runs"], r["t_half"]):
        assert x.loss[-1] < 0.5 * x.loss[0]
        assert fits.first_crossing(x.t[1:].astype(float), x.loss[1:], 0.5, "down") == th
    assert r["steps"] >= 1.5 * max(float(np.max(x.T_pred)) for x in r["runs"]) - 1
    toy = ch05.low_beta_toy(beta=0.3, P=20_000, d=1024, sigma0=1e-3)
    sel = (toy["t"] >= 0.1) & (toy["t"] <= 0.9)
    assert np.max(np.abs(toy["L"] - toy["formula"])[sel]) < 2 * toy["disc"] + 0.003
    from scipy.special import zeta
    assert toy["disc"] == pytest.approx(2 * abs(zeta(0.6)) * 0.4 * 20_000 ** -0.4)


def test_new_plots_draw():
    t = np.logspace(0, 4, 100)
    runs = {m: [(t, 1.0 / m + 1.0 / np.sqrt(t))] for m in (4, 8, 16)}
    fr = {d_: ch05.network_frontier(runs, R=0.0, T1bar=1.0, window=(20.0, 1e4), max_steps=10_000)
          for d_ in (256, 512)}
    tp = {k: ch05.tp_vs_d(k=k, ds=[32, 64], m=4, P=2, beta=0.8, seeds=[1, 2], eta=0.2,
                          sigma0=1e-3) for k in (4,)}
    tpf = {k: fits.fit_power_law(r["d"], r["t_first"]) for k, r in tp.items()}
    ks = {k: ch05.gd_runs(m=8, seeds=[5], steps=300, n_record=20, k=k, **TINY) for k in (4, 6)}
    figs = [ch05.plot_d_laws(front_d=fr, tp=tp, tp_fit=tpf, ks_runs=ks, beta=0.8, P_alt=16)]
    low = ch05.low_beta_runs(d=64, P=8, beta=0.3, m=24, seeds=[1], eta=0.2, sigma0=1e-3,
                             dtype="float64")
    figs.append(ch05.plot_low_beta(low, ch05.low_beta_toy(beta=0.3, P=2000, d=64, sigma0=1e-3),
                                   beta=0.3))
    for f in figs:
        assert len(f.axes) >= 1
        plt.close(f)


def test_sgd_vs_gd_same_inits():
    r = ch05.sgd_vs_gd(m=6, d=32, P=3, beta=0.8, c_sgd=0.25, eta_gd=0.2, sigma0=1e-3, seed=3,
                       n_init=2, n_record=30)
    assert r["eta"] == 0.25 / 32 ** 2 and len(r["sgd"]) == len(r["gd"]) == 2
    rng = np.random.default_rng(3)
    for s, g in zip(r["sgd"], r["gd"]):
        V = em.spherical_init(6, 32, 1e-3, rng)
        st, te, u0 = em.greedy_pairing(V, spectra.power_law_amplitudes(3, 0.8), 4)
        assert np.array_equal(s.teachers, te) and np.array_equal(g.teachers, te)
        # the same gradient-flow horizon for both
        assert s.to(t_unit="time").t[-1] == pytest.approx(g.to(t_unit="time").t[-1], rel=0.01)
