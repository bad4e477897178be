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
