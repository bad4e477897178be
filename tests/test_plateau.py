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
