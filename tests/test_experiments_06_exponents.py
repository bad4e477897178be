"""Chapter 6's experiments (scalinglaws.experiments.ch06_exponents) and the helpers that moved out
of the chapter into scalinglaws.exponents (measured decay exponents and their spread over seeds).

The helpers are tested on exact power laws and against NumPy's mean and standard error; the
experiments at tiny sizes, for what the chapter reads from them, and once through the results
store (cached, then store-only).
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from scalinglaws import experiments  # noqa: E402
from scalinglaws import exponents as ex  # noqa: E402
from scalinglaws.experiments import ch06_exponents as ch06  # noqa: E402


# ----------------------------------------------------------------------------------------------
# helpers (scalinglaws.exponents)
# ----------------------------------------------------------------------------------------------
def test_decay_exponents_exact_power_laws():
    t = np.geomspace(0.5, 500.0, 31)
    L = np.vstack([3.0 * t ** -0.4, t ** -1.25])
    assert ex.decay_exponents(t, L) == pytest.approx([0.4, 1.25], abs=1e-12)
    # a broken power law: the window picks the branch
    broken = np.where(t < 10, t ** -0.5, 10 ** 0.5 * t ** -1.0)[None, :]
    assert ex.decay_exponents(t, broken, (1.0, 9.0))[0] == pytest.approx(0.5, abs=1e-12)
    assert ex.decay_exponents(t, broken, (11.0, 500.0))[0] == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError):
        ex.decay_exponents(t, t ** -0.5)                                    # one curve must be (1, n)


def test_spread():
    x = np.random.default_rng(3).normal(0.5, 0.1, 7)
    m, se = ex.spread(x)
    assert m == pytest.approx(x.mean(), rel=1e-15)
    assert se == pytest.approx(x.std(ddof=1) / np.sqrt(7), rel=1e-15)
    m1, se1 = ex.spread([0.3])
    assert m1 == 0.3 and np.isnan(se1)
    assert isinstance(m, float) and isinstance(se, float)


# ----------------------------------------------------------------------------------------------
# experiments at tiny sizes: what the chapter reads from them
# ----------------------------------------------------------------------------------------------
def _check_fit(r, n):
    assert r["slopes"].shape == (n,)
    assert r["fit"] == ex.spread(r["slopes"])
    assert np.isfinite(r["fit"][0]) and r["fit"][1] >= 0


def test_linear_sgd_exponent_tiny():
    r = ch06.linear_sgd_exponent(beta_wr=1.0, N_lin=256, eta_lin=0.5, seeds_lin=2, slope_tol_lin=0.02, seed=6)
    _check_fit(r, 2)
    assert r["lo"] < r["hi"]
    assert r["fit"][0] == pytest.approx(0.5, abs=0.1)          # s = beta/(1+beta) at beta = 1


def test_lazy_rf_exponent_tiny():
    a, b = ex.from_bordelon_atanasov_pehlevan(2.0, 0.5)
    r = ch06.lazy_rf_exponent(a=a, b=b, M_rf=512, N_rf=64, draws_rf=2, t_lo_rf=3.0, seed=6)
    _check_fit(r, 2)
    assert r["t_hi"] == pytest.approx(0.01 * 64 ** 2)
    assert r["inf"] == pytest.approx(0.5, abs=0.1)             # infinite width: the mode sum, s = 1/2


def test_projected_exponent_tiny():
    runs = [ch06.projected_exponent(alpha=2.0, beta=0.5, M_fl=256, N_fl=64, gamma=g, eta_fl=0.05, seeds_fl=2,
                                    window_fl=[3.0, 20.0], seed=6) for g in (0.0, 10.0)]
    for r in runs:
        _check_fit(r, 2)
    assert runs[1]["fit"][0] > runs[0]["fit"][0]               # feature learning steepens the curve


def test_emergence_exponent_tiny():
    r = ch06.emergence_exponent(beta_ren=0.8, d_em=64, P_em=16, m_em=16, eta_em=0.2, seeds_em=2, seed=6)
    _check_fit(r, 2)
    assert isinstance(r["steps"], int) and r["steps"] > 0


def test_tables_and_figure():
    nt = ch06.notation_table().split("\n")
    assert len(nt) == 2 + len(ex.notation_map()) and nt[2].startswith("| Worschech & Rosenow |")
    pts = [(2.0, 2.0), ex.from_ren_nichani_wu_lee(0.8)]
    et = ch06.exponent_table(pts).split("\n")
    assert len(et) == 2 + len(ex.tabulate(pts))
    st = ch06.simulation_table([("lin", 0.5, 0.5, (0.51, 0.01), "rich", 0.667)], 3.0, 0.03).split("\n")
    assert st[2] == "| lin | 0.5 | 0.500 | 0.510 ± 0.010 | 0.060 | rich: 0.667 |"
    fig = ch06.plot_exponents(2.0, 0.5, (0.5, 0.01), (0.49, 0.01), (0.5, 0.02), (0.66, 0.02), (0.7, 0.03), 0.75)
    assert len(fig.axes) == 3
    plt.close(fig)


def test_experiment_is_cached_in_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALINGLAWS_STORE", str(tmp_path))
    monkeypatch.delenv("SCALINGLAWS_STORE_ONLY", raising=False)
    kw = dict(beta_wr=1.0, N_lin=128, eta_lin=0.5, seeds_lin=2, slope_tol_lin=0.02, seed=6)
    r1 = experiments.call(ch06.linear_sgd_exponent, **kw)
    monkeypatch.setenv("SCALINGLAWS_STORE_ONLY", "1")
    r2 = experiments.call(ch06.linear_sgd_exponent, **kw)
    assert r2["fit"] == r1["fit"] and np.array_equal(r2["slopes"], r1["slopes"])
    with pytest.raises(experiments.StoreMissError):
        experiments.call(ch06.linear_sgd_exponent, **dict(kw, seed=7))
