"""Unit tests of scalinglaws.exponents: converters, per-mechanism exponents, domains."""

import doctest
import math

import numpy as np
import pytest

from scalinglaws import exponents as ex
def test_doctests():
    res = doctest.testmod(ex, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0 and res.attempted > 10


# ---------------------------------------------------------------- the chapters' own examples
@pytest.mark.parametrize("beta", [0.6, 0.8, 1.0, 1.5, 2.0, 3.0])
def test_ren_teacher_equals_kernel_task_on_the_line(beta):
    """Ch. 5's teacher (Ren et al., fixed eta) against ch. 4's kernel law at a = 2 beta, b = beta."""
    a, b = ex.from_ren_nichani_wu_lee(beta)
    assert (a, b) == (2 * beta, beta)
    em = ex.additive_emergence(a, b)
    rf = ex.random_features(a, b)
    assert em.time == pytest.approx((2 * beta - 1) / beta)
    assert em.width == pytest.approx(2 * beta - 1)
    assert em.compute == pytest.approx((2 * beta - 1) / (1 + beta))
    assert em.width_alloc == pytest.approx(1 / (1 + beta))
    assert em.time_alloc == pytest.approx(beta / (1 + beta))
    # the kernel law has the same time and width exponents (no 2b saturation: 2 beta - 1 < 2 beta)
    assert rf.time == pytest.approx(em.time)
    assert rf.width == pytest.approx(em.width)
    if beta <= 1:            # hard task or b <= 1: same compute law
        assert rf.compute == pytest.approx(em.compute)
    else:                    # easy task s > 1: the random-feature transient changes the optimum
        assert rf.compute == pytest.approx((a - 1) / a)
        assert rf.compute < em.compute


def test_bap_alpha2_beta05():
    a, b = ex.from_bordelon_atanasov_pehlevan(2.0, 0.5)
    assert (a, b) == (2.0, 2.0)
    lazy, rich = ex.random_features(a, b), ex.rich_feature_learning(a, b)
    assert lazy.compute == pytest.approx(1 / 3)
    assert rich.compute == pytest.approx(0.4)
    assert lazy.time == pytest.approx(0.5)
    assert rich.time == pytest.approx(2 / 3)
    assert rich.width_alloc == pytest.approx(0.4)        # N* ~ C^0.4 with feature learning
    assert lazy.width_alloc == pytest.approx(1 / 3)
    assert rich.width == lazy.width == 1.0               # width bottleneck unchanged


@pytest.mark.parametrize("alpha,beta", [(2.0, 0.25), (1.5, 0.5), (3.0, 0.9), (1.2, 0.1)])
def test_bap_hard_rows(alpha, beta):
    a, b = ex.from_bordelon_atanasov_pehlevan(alpha, beta)
    assert ex.random_features(a, b).compute == pytest.approx(alpha * beta / (alpha + 1))
    r = ex.rich_feature_learning(a, b)
    assert r.compute == pytest.approx(2 * alpha * beta / (alpha * (1 + beta) + 2))
    assert r.width_alloc == pytest.approx(2 / (alpha * (1 + beta) + 2))
    assert r.time == pytest.approx(2 * beta / (1 + beta))


@pytest.mark.parametrize("alpha,beta", [(2.0, 1.25), (3.0, 1.5), (1.5, 1.1)])
def test_bap_easy_rows(alpha, beta):
    """Easy tasks (1 < beta < 2 - 1/alpha): C^-(alpha beta/(alpha beta + 1)) in both regimes."""
    a, b = ex.from_bordelon_atanasov_pehlevan(alpha, beta)
    for e in (ex.random_features(a, b), ex.rich_feature_learning(a, b)):
        assert e.compute == pytest.approx(alpha * beta / (alpha * beta + 1))
        assert e.time == pytest.approx(beta)


def test_wr_beta1():
    a, b = ex.from_worschech_rosenow(1.0)
    e = ex.linear_online_sgd(a, b)
    assert e.time == pytest.approx(0.5)
    assert e.data == e.time
    for beta in (0.25, 0.5, 2.0, 5.0):
        assert ex.linear_online_sgd(*ex.from_worschech_rosenow(beta)).time == pytest.approx(beta / (1 + beta))


def test_linear_equals_lazy_time_and_width_on_wr_line():
    for beta in (0.3, 1.0, 4.0):
        a, b = ex.from_worschech_rosenow(beta)
        lin, rf = ex.linear_online_sgd(a, b), ex.random_features(a, b)
        assert lin.time == pytest.approx(rf.time)
        assert lin.width == pytest.approx(rf.width)
        assert lin.compute == pytest.approx(rf.compute)


def test_unstable_emergence_on_wr_line():
    """Ren's unstable-eta law sits on W&R's line a = b, with beta_WR = 2 beta_R - 1."""
    for br in (0.6, 1.0, 2.0):
        a, b = ex.from_ren_nichani_wu_lee(br, "unstable")
        e = ex.additive_emergence(a, b, "unstable")
        assert e.time == pytest.approx((2 * br - 1) / (2 * br))
        assert ex.to_worschech_rosenow(a, b) == pytest.approx(2 * br - 1)
        assert ex.linear_online_sgd(a, b).time == pytest.approx(e.time)


def test_saturation_and_sgd_noise_branch():
    e = ex.random_features(6.0, 2.0)
    assert e.width == e.data == 4.0                      # min(a - 1, 2b)
    lin = ex.linear_online_sgd(6.0, 2.0)
    assert lin.time == pytest.approx(1.5)                # 2 - 1/b < s = 2.5
    assert lin.width == 5.0                              # exact projections: no saturation


# ---------------------------------------------------------------- compute_optimum
def test_compute_optimum_matches_closed_forms_on_a_grid():
    for a in np.linspace(1.1, 6, 15):
        for b in np.linspace(0.3, 4, 15):
            s = (a - 1) / b
            m = min(a - 1, 2 * b)
            e, x = ex.compute_optimum([(0, s), (m, 0)])
            assert e == pytest.approx(s * m / (s + m))
            assert x == pytest.approx(s / (s + m))
            r = ex.rich_feature_learning(a, b)
            assert r.width_alloc + r.time_alloc == pytest.approx(1.0)
            if s < 1 and a - 1 <= 2 * b:
                assert r.compute == pytest.approx(2 * (a - 1) / (a + b + 1))


def test_compute_optimum_brute_force():
    rng = np.random.default_rng(0)
    xs = np.linspace(0, 1, 20001)
    for _ in range(50):
        terms = [tuple(rng.uniform(0, 3, 2)) for _ in range(rng.integers(1, 5))]
        e, x = ex.compute_optimum(terms)
        brute = np.max(np.min([p * xs + q * (1 - xs) for p, q in terms], axis=0))
        assert e == pytest.approx(brute, abs=1e-3)


# ---------------------------------------------------------------- round trips
@pytest.mark.parametrize("beta", [0.1, 1.0, 2.5])
def test_round_trip_wr(beta):
    assert ex.to_worschech_rosenow(*ex.from_worschech_rosenow(beta)) == pytest.approx(beta)


@pytest.mark.parametrize("alpha,beta", [(2.0, 0.5), (1.3, 2.0), (0.7, 0.1)])
def test_round_trip_bap(alpha, beta):
    assert ex.to_bordelon_atanasov_pehlevan(*ex.from_bordelon_atanasov_pehlevan(alpha, beta)) == \
        pytest.approx((alpha, beta))


@pytest.mark.parametrize("a,b", [(1.5, 1.25), (2.0, 2.0), (4.0, 0.3)])
def test_round_trip_klh_and_bap_inverse(a, b):
    assert ex.to_kramp_lindner_helias(*ex.from_kramp_lindner_helias(a, b)) == (a, b)
    assert ex.from_bordelon_atanasov_pehlevan(*ex.to_bordelon_atanasov_pehlevan(a, b)) == \
        pytest.approx((a, b))


@pytest.mark.parametrize("eta", ["fixed", "unstable"])
@pytest.mark.parametrize("beta", [0.51, 0.8, 2.0])
def test_round_trip_ren(beta, eta):
    assert ex.to_ren_nichani_wu_lee(*ex.from_ren_nichani_wu_lee(beta, eta), eta) == pytest.approx(beta)


def test_source_exponent():
    assert ex.source_exponent(2.0, 2.0) == 0.5
    a, b = ex.from_bordelon_atanasov_pehlevan(3.0, 0.7)
    assert ex.source_exponent(a, b) == pytest.approx(0.7)


# ---------------------------------------------------------------- domains
@pytest.mark.parametrize("f", [ex.linear_online_sgd, ex.random_features, ex.rich_feature_learning,
                               ex.source_exponent, ex.to_bordelon_atanasov_pehlevan])
def test_domain_ab(f):
    with pytest.raises(ValueError, match=r"a=1\.0 is invalid"):
        f(1.0, 2.0)
    with pytest.raises(ValueError, match=r"b=0\.0 is invalid"):
        f(2.0, 0.0)
    with pytest.raises(ValueError, match=r"a=nan"):
        f(float("nan"), 2.0)
    with pytest.raises(TypeError):
        f("2", 2.0)


def test_domain_emergence():
    with pytest.raises(ValueError, match="beta=0.5 is invalid"):
        ex.from_ren_nichani_wu_lee(0.5)
    with pytest.raises(ValueError, match="beta=0.3 is invalid"):
        ex.from_ren_nichani_wu_lee(0.3, "unstable")
    with pytest.raises(ValueError, match="b=2.0 is invalid"):
        ex.additive_emergence(2.0, 2.0)                  # off the fixed-eta line b = a/2
    with pytest.raises(ValueError, match="b=1.0 is invalid"):
        ex.additive_emergence(2.0, 1.0, "unstable")      # off the line b = a
    with pytest.raises(ValueError, match="a=1.0 is invalid"):
        ex.additive_emergence(1.0, 0.5)                  # beta_R = 1/2: no scaling law
    with pytest.raises(ValueError, match="eta"):
        ex.additive_emergence(2.0, 1.0, "small")
    with pytest.raises(ValueError, match="a=2.0 is invalid"):
        ex.to_worschech_rosenow(2.0, 3.0)


def test_domain_converters():
    for bad in (0.0, -1.0, math.inf):
        with pytest.raises(ValueError, match="beta"):
            ex.from_worschech_rosenow(bad)
        with pytest.raises(ValueError, match="alpha"):
            ex.from_bordelon_atanasov_pehlevan(bad, 0.5)
    with pytest.raises(ValueError, match="terms"):
        ex.compute_optimum([])
    with pytest.raises(ValueError, match="terms"):
        ex.compute_optimum([(0.0, 0.0)])


def test_tabulate_and_map():
    rows = ex.tabulate([(2.0, 2.0), (4.0, 2.0), (1.6, 0.8)])
    mech = {(r["a"], r["b"], r["mechanism"]) for r in rows}
    assert (4.0, 2.0, "additive emergence (fixed eta)") in mech
    assert (2.0, 2.0, "additive emergence (unstable eta)") in mech
    assert (2.0, 2.0, "additive emergence (fixed eta)") not in mech
    assert all(r["time"] > 0 and r["compute"] > 0 for r in rows)
    with pytest.raises(ValueError, match="mechanisms"):
        ex.tabulate([(2.0, 2.0)], ["nope"])
    for r in ex.notation_map():
        a, b = r["example"]
        assert a > 1 and b > 0
    e = ex.random_features(2.0, 2.0)
    with pytest.raises(Exception):
        e.time = 1.0                                     # frozen
