"""Unit tests of scalinglaws.committee.plateau against independent references.

References: the closed forms and tables of our reconstruction of Worschech & Rosenow (the book's
sources appendix, chapters/sources_worschech_rosenow.md; computed by separate code, quoted to 5
significant digits -> relative tolerance 1e-4 = rounding of the last quoted digit), the dense central-difference Jacobian of :mod:`scalinglaws.committee.ode`, and exact
identities (specialisation of the controlled start, crossing of a synthetic curve).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from scalinglaws.committee import plateau as pl
from scalinglaws.committee.setup import Setup
from scalinglaws.committee.ode import Packing
from scalinglaws.spectra import Spectrum


@pytest.mark.parametrize("K,table", [(2, 5.8054e-3), (3, 6.7655e-3), (4, 7.0943e-3), (5, 7.2453e-3)])
def test_height_closed_form_and_root(K, table):
    fp = pl.symmetric_fixed_point(K, 0.1, "linear")
    assert fp.eps == pytest.approx(pl.eps_plateau(K), rel=1e-10)        # root of O(eta) equations
    assert pl.eps_plateau(K) == pytest.approx(table, rel=1e-4)          # reference table, 5 digits
    assert fp.q == pytest.approx(1 / (2 * K - 1), rel=1e-10)
    assert fp.c == pytest.approx(1 / (2 * K - 1), rel=1e-10)
    assert fp.r == pytest.approx(1 / math.sqrt(K * (2 * K - 1)), rel=1e-10)


@pytest.mark.parametrize("eta,table", [(0.01, 5.8167e-3), (0.1, 5.9209e-3), (0.5, 6.4540e-3), (1.0, 7.3382e-3)])
def test_finite_eta_height_K2(eta, table):
    assert pl.symmetric_fixed_point(2, eta).eps == pytest.approx(table, rel=1e-4)


def test_saad_solla_normalisation_map():
    # eps_SS(eta_SS) = K eps_WR(K eta_SS) for K = M (exact map)
    a = pl.symmetric_fixed_point(3, 0.2, conventions="saad-solla").eps
    b = pl.symmetric_fixed_point(3, 0.6).eps
    assert a == pytest.approx(3 * b, rel=1e-10)


@pytest.mark.parametrize("K,table", [(2, 3.2875e-2), (3, 1.5373e-2), (4, 8.9118e-3), (5, 5.8166e-3)])
def test_mu_iso_table(K, table):
    assert pl.mu_iso(K, 1.0) == pytest.approx(table, rel=1e-4)


def test_escape_rate_structured_vs_dense_and_formula():
    sp = Spectrum.power_law(4, 1.0)
    s = Setup(2, 2, 0.1, spectrum=sp)
    st = pl.escape_mode(s, vectors=False).state
    Jd = pl.jacobian(s, st, "full", "dense")
    Js = pl.jacobian(s, st, "full", "structured")
    assert np.max(np.abs(Jd - Js)) <= 1e-6 * np.max(np.abs(Jd))      # forward-difference step 1e-7
    m = pl.escape_mode(s)
    assert m.mu == pytest.approx(pl.mu_iso(2, 0.1) * pl.lambda2(sp), rel=1e-5)
    assert m.mu / 0.1 == pytest.approx(6.9994e-2, rel=1e-4)           # reference table (mu/eta, K=2, L=4)
    assert m.multiplicity == 1
    # eigenvector normalisation: specialisation 1, left . right = 1
    pk = Packing(2, 2, 4)
    assert pl.specialisation_flat(m.right, pk, sp) == pytest.approx(1.0)
    assert float(m.left @ m.right) == pytest.approx(1.0)


def test_multiplicity_K3():
    m = pl.escape_mode(Setup(3, 3, 0.1), vectors=False)
    assert m.multiplicity == 4                                         # (K-1)^2


def test_group_fixed_point_spectrum_independent():
    s = Setup(2, 2, 0.1, spectrum=Spectrum.power_law(8, 0.5))
    ov, e = pl.group_fixed_point(s)
    assert e == pytest.approx(pl.symmetric_fixed_point(2, 0.1).eps, rel=1e-10)
    f = s.spectrum.fractions
    assert np.allclose(ov.R[:, 0, 0] / f, ov.R[0, 0, 0] / f[0], rtol=1e-8)


def test_perturbed_start_is_realisable_with_given_specialisation():
    sp = Spectrum.power_law(4, 1.0)
    s = Setup(3, 3, 0.1, spectrum=sp)
    ov = pl.perturbed_fixed_point(s, 0.05)
    ov.validate(s)
    R = ov.physical(sp)[:3, 3:]
    assert pl.specialisation(R) == pytest.approx(0.05, rel=1e-12)


def test_escape_time_synthetic():
    t = np.linspace(0, 100, 1001)
    eps = 1e-2 * (1 - 1 / (1 + np.exp(-(t - 60) / 3)))  # falls through 0.5e-2 exactly at t = 60
    eps = np.concatenate([[0.3], eps[1:]])
    assert pl.escape_time(t, eps, 1e-2) == pytest.approx(60.0, abs=0.05)
    assert math.isnan(pl.escape_time(t, np.full_like(t, 1e-2), 1e-2))


def test_bad_parameters():
    with pytest.raises(ValueError, match="K"):
        pl.eps_plateau(1)
    with pytest.raises(ValueError, match="eta"):
        pl.mu_iso(2, -1.0)
    with pytest.raises(ValueError, match="delta0"):
        pl.perturbed_fixed_point(Setup(2, 2, 0.1), 0.5)


def test_decision_helpers():
    assert pl.max_consecutive_ratio([4.0, 2.0, 1.0]) == pytest.approx(0.5)
    assert pl.max_consecutive_ratio([4.0, 2.0, 3.0]) == pytest.approx(1.5)
    assert math.isnan(pl.max_consecutive_ratio([4.0, float("nan"), 1.0]))
    assert pl.relative_spread([0.9, 1.0, 1.08]) == pytest.approx(0.2)
    assert pl.slope_test(10.0, 1.0, 12.9) and not pl.slope_test(10.0, 1.0, 13.1)
    assert pl.seeds_to_resolve(1.0, 10, 6.0) == 10          # 2 * 3 * 1 = 6: already resolved
    assert pl.seeds_to_resolve(2.0, 10, 6.0) == 40          # se halves with 4x the seeds
    with pytest.raises(ValueError):
        pl.sgd_ode_tolerance(-1.0, 1e-2, 100)


# ----------------------------------------------------------------------------------------------
# one random draw: its own plateau and its own escape
# ----------------------------------------------------------------------------------------------
def _orthonormal_teacher_overlaps(K: int, L: int, N: int = 64, seed: int = 0, sigma_J: float = 0.01):
    """Overlaps of a draw with an exactly orthonormal teacher (T^[l] = f_l 1 up to round-off is not
    guaranteed per group, so use L = 1 where T = 1 exactly)."""
    from scalinglaws.committee.setup import Overlaps
    rng = np.random.default_rng(seed)
    B = np.linalg.qr(rng.standard_normal((N, K)))[0].T * math.sqrt(N)
    J = sigma_J * rng.standard_normal((K, N))
    return Overlaps.from_weights(J, B, Spectrum.power_law(L, 1.0))


def test_draw_fixed_point_with_unit_teacher_is_the_symmetric_fixed_point():
    s = Setup(2, 2, 0.1, spectrum=Spectrum.power_law(1, 1.0))
    init = _orthonormal_teacher_overlaps(2, 1)
    fp, h = pl.draw_fixed_point(s, init)
    ref = pl.symmetric_fixed_point(2, 0.1)
    assert h == pytest.approx(ref.eps, rel=1e-9)
    assert fp.Q[0, 0, 0] == pytest.approx(ref.q, rel=1e-8)
    assert fp.Q[0, 0, 1] == pytest.approx(ref.c, rel=1e-8)
    assert fp.R[0] == pytest.approx(np.full((2, 2), ref.r), rel=1e-8)


def test_draw_fixed_point_of_a_random_teacher_is_a_root_of_the_full_rhs():
    from scalinglaws.committee.ode import rhs
    from scalinglaws.committee.setup import Overlaps, draw_weights
    sp = Spectrum.power_law(4, 1.0)
    s = Setup(2, 2, 0.1, spectrum=sp)
    J, B = draw_weights(s, 256, seed=3, sigma_J=0.01)
    init = Overlaps.from_weights(J, B, sp)
    fp, h = pl.draw_fixed_point(s, init)
    dQ, dR = rhs(s, fp.Q, fp.R, fp.T)
    assert np.max(np.abs(dQ)) < 1e-11 and np.max(np.abs(dR)) < 1e-11
    assert np.array_equal(fp.T, init.T)                      # the draw's own teacher
    assert fp.R[:, 0, :] == pytest.approx(fp.R[:, 1, :])     # every student unit alike
    assert 0.5 * pl.eps_plateau(2) < h < 2 * pl.eps_plateau(2)


def test_draw_escape_with_unit_teacher_has_the_closed_form_rate():
    s = Setup(2, 2, 0.1, spectrum=Spectrum.power_law(1, 1.0))
    de = pl.draw_escape(s, _orthonormal_teacher_overlaps(2, 1))
    ref = pl.escape_mode(s, order="full", vectors=False)
    assert de.mu == pytest.approx(ref.mu, rel=1e-6)
    assert de.multiplicity == 1
    assert de.delta0 == pytest.approx(de.s0, rel=0.05)       # L = 1: the projection is the specialisation
    assert de.s0 == pytest.approx(de.s0_plain, rel=1e-12)    # L = 1: lambda = 1, nothing to weight


def test_draw_escape_predicts_the_escape_of_a_controlled_start():
    """From the plateau moved by delta0 along P B (perturbed_fixed_point) the projection on the left
    eigenvector is delta0 to first order (the right eigenvector is scaled to unit specialisation)."""
    s = Setup(2, 2, 0.1, spectrum=Spectrum.power_law(4, 1.0))
    init = pl.perturbed_fixed_point(s, 1e-4)
    de = pl.draw_escape(s, init)
    assert abs(de.delta0) == pytest.approx(1e-4, rel=0.05)


def test_escape_prediction_scores():
    rng = np.random.default_rng(0)
    d0 = 10 ** rng.uniform(-5, -2, 40)
    mu = np.full(40, 0.01)
    a = 100 + np.log(1 / d0) / mu
    r = pl.escape_prediction(a, d0, mu, 20)
    assert r["fvu"] < 1e-20 and r["slope"] == pytest.approx(1.0) and r["A"] == pytest.approx(100.0)
    r2 = pl.escape_prediction(a, rng.permutation(d0), mu, 20)     # no information: FVU ~ 1 or worse
    assert r2["fvu"] > 0.5
    a_nan = a.copy(); a_nan[0] = np.nan
    assert pl.escape_prediction(a_nan, d0, mu, 20)["n_calib"] == 19


@pytest.mark.parametrize("kw,needle", [
    (dict(n_calib=2), "n_calib"), (dict(delta0=np.zeros(40)), "delta0"), (dict(mu=-np.ones(40)), "mu"),
    (dict(alpha_P=np.ones(39)), "alpha_P")])
def test_escape_prediction_bad_inputs(kw, needle):
    args = dict(alpha_P=np.ones(40), delta0=np.full(40, 1e-3), mu=np.full(40, 0.01), n_calib=20)
    args.update(kw)
    with pytest.raises(ValueError, match=needle):
        pl.escape_prediction(**args)


def test_local_log_slope_of_a_power_law_is_exact():
    t = np.logspace(0, 4, 50)
    a, s, e = pl.local_log_slope(t, 3.0 * t ** -0.7)
    assert s == pytest.approx(np.full(s.size, -0.7), abs=1e-12)
    assert a[0] == pytest.approx(math.sqrt(2.0)) and a[-1] == pytest.approx(1e4 / math.sqrt(2.0))


def test_plateau_extent_of_synthetic_curves():
    t = np.logspace(-1, 4, 400)
    h = 6e-3
    # a plateau from alpha ~ 10 to ~ 1000 (a tanh step in ln alpha), then a fall
    curve = 0.3 * np.exp(-t) + h / (1 + (t / 2000.0) ** 3)
    ext = pl.plateau_extent(t, curve, h)
    assert 50 < ext < 2000
    assert pl.plateau_extent(t, h * (t / 1.0) ** -0.5, h) == 1.0       # a power law is never a plateau
    assert pl.plateau_extent(t, np.full(t.size, 10 * h), h) == 1.0     # flat, but not at the plateau height
    assert pl.plateau_extent(t, np.full(t.size, h), h) == pytest.approx(t[-1] / t[0] / 2, rel=1e-9)


@pytest.mark.parametrize("kw,needle", [(dict(height=0.0), "height"), (dict(slope_max=1.5), "slope_max"),
                                       (dict(band=0.5), "band"), (dict(baseline=1.0), "baseline")])
def test_plateau_extent_bad_inputs(kw, needle):
    t = np.logspace(0, 3, 30)
    args = dict(t=t, eps=np.full(30, 1e-2), height=1e-2)
    args.update(kw)
    with pytest.raises(ValueError, match=needle):
        pl.plateau_extent(**args)
