"""Tests of scalinglaws.committee.sgd: exact initial conditions, reproducibility, fast path == reference,
Monte-Carlo error, bad inputs, divergence, and SGD against the ODE.

Time is alpha = steps/N throughout.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from scalinglaws.errors import DivergenceError
from scalinglaws.committee.setup import Overlaps, Setup, trajectory_header
from scalinglaws.committee.sgd import (HAVE_NUMBA, initial_weights, realise_overlaps, record_steps,
                             simulate)
from scalinglaws.spectra import Spectrum

os.environ.setdefault("OMP_NUM_THREADS", "1")

SS = Setup(2, 2, 0.5, "erf", conventions="saad-solla")
SS_INIT = Overlaps(np.diag([0.5, 0.5]), [[1.01e-3, 0.99e-3], [0.99e-3, 1.01e-3]], np.eye(2))
PL = Spectrum.power_law(4, 1.0)

methods = ["numpy"] + (["numba"] if HAVE_NUMBA else [])


# ---------------------------------------------------------------------------------------------
# initial conditions
# ---------------------------------------------------------------------------------------------
def test_realise_overlaps_classic_is_exact():
    J, B = realise_overlaps(SS_INIT, Spectrum.isotropic(), 40, rng=3)
    ov = Overlaps.from_weights(J, B, Spectrum.isotropic())
    for a, b in ((ov.Q, SS_INIT.Q), (ov.R, SS_INIT.R), (ov.T, SS_INIT.T)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)
    assert np.isclose(SS.eps_g(ov.physical(Spectrum.isotropic())), 0.5482100, atol=5e-8)


def test_realise_overlaps_groups_and_psd():
    s = Setup(3, 2, 0.1, "erf", spectrum=PL)
    init = Overlaps.random(s, 200, seed=1, sigma_J=0.3)
    J, B = realise_overlaps(init, PL, 40, rng=0)
    ov = Overlaps.from_weights(J, B, PL)
    np.testing.assert_allclose(ov.blocks(), init.blocks(), rtol=0, atol=1e-12)
    # singular (PSD) block: a student unit equal to a teacher unit
    sing = Overlaps(np.ones((1, 1)), np.ones((1, 1)), np.ones((1, 1)))
    J, B = realise_overlaps(sing, Spectrum.isotropic(), 10, rng=0)
    np.testing.assert_allclose(J, B, atol=1e-12)
    with pytest.raises(ValueError, match="K\\+M"):
        realise_overlaps(init, PL, 16, rng=0)          # groups of 4 < K+M = 5


def test_given_weights_and_seed_streams():
    rng = np.random.default_rng(5)
    J0, B0 = rng.standard_normal((2, 60)), rng.standard_normal((2, 60))
    tr = simulate(SS, 60, times=[0.0, 0.5], n_seeds=2, J0=J0, B0=B0, show_progress=False)
    ov = Overlaps.from_weights(J0, B0, Spectrum.isotropic())
    np.testing.assert_allclose(tr.Q_seeds[:, 0], np.broadcast_to(ov.Q[0], (2, 2, 2)), atol=1e-14)
    assert not np.allclose(tr.Q_seeds[0, 1], tr.Q_seeds[1, 1])  # different training streams
    J, B = initial_weights(SS, 60, [0, 1], sigma_J=0.5)
    assert J.shape == (2, 2, 60) and not np.allclose(J[0], J[1])


# ---------------------------------------------------------------------------------------------
# reproducibility and code paths
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", methods)
def test_reproducible_and_batched_equals_single(method):
    s = Setup(2, 3, 0.3, "erf", spectrum=PL, sigma=0.2, weight_decay=0.1)
    kw = dict(times=[0, 0.1, 1.0, 3.0], sigma_J=0.5, method=method, show_progress=False, block=64)
    a = simulate(s, 40, seeds=[3, 7, 11], **kw)
    b = simulate(s, 40, seeds=[3, 7, 11], **kw)
    for x, y in ((a.seeds, b.seeds), (a.Q_seeds, b.Q_seeds), (a.R_seeds, b.R_seeds)):
        assert np.array_equal(x, y)
    c = simulate(s, 40, seeds=[4, 7, 12], **kw)
    assert np.array_equal(a.seeds[1], c.seeds[1])
    assert not np.any(a.seeds[0, 1:] == c.seeds[0, 1:])
    for i, sd in enumerate([3, 7, 11]):
        one = simulate(s, 40, seeds=[sd], **kw)
        assert np.array_equal(one.seeds[0], a.seeds[i])
        assert np.array_equal(one.R_seeds[0], a.R_seeds[i])
    # recording times do not change the stream (bit-identical for numpy; the compiled kernel
    # restarts its fused dot product at each record, so it agrees to round-off there)
    d = simulate(s, 40, seeds=[3], **{**kw, "times": [0, 0.05, 0.5, 1.0, 2.0, 3.0]})
    np.testing.assert_allclose(d.seeds[0, [0, 3, 5]], a.seeds[0, [0, 2, 3]],
                               rtol=0 if method == "numpy" else 1e-12, atol=0)


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed")
@pytest.mark.parametrize("act,K,M", [("erf", 3, 2), ("linear", 2, 2)])
def test_numba_equals_numpy_reference(act, K, M):
    """Same streams, same equations: the compiled path must reproduce the reference path up to
    floating-point reassociation (relative 1e-9 after 3N*... steps; observed ~1e-14)."""
    s = Setup(K, M, 0.4, act, spectrum=PL, sigma=0.3, weight_decay=0.05,
              conventions="worschech-rosenow")
    kw = dict(times=[0, 0.5, 2.0, 6.0], n_seeds=3, sigma_J=0.7, show_progress=False,
              mc_samples=200)
    a = simulate(s, 80, method="numpy", **kw)
    b = simulate(s, 80, method="numba", n_jobs=2, **kw)
    np.testing.assert_allclose(b.seeds, a.seeds, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(b.Q_seeds, a.Q_seeds, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(b.groups["R"], a.groups["R"], rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(b.eps_g_mc, a.eps_g_mc, rtol=1e-9)
    # threads over seeds and the prefetching of input blocks (n_jobs >= 2 S) leave streams alone
    c = simulate(s, 80, method="numba", n_jobs=1, **kw)
    d = simulate(s, 80, method="numba", n_jobs=6, **kw)
    assert np.array_equal(b.seeds, c.seeds)
    assert np.array_equal(c.seeds, d.seeds)


def test_record_steps_rounding():
    assert list(record_steps([0, 0.011, 0.019, 0.5, 1.0], 100)) == [0, 1, 2, 50, 100]
    assert list(record_steps([0.001, 0.004, 0.1], 100)) == [0, 10]  # duplicates dropped
    tr = simulate(SS, 100, times=[0.0, 0.014, 0.5], init=SS_INIT, show_progress=False)
    np.testing.assert_array_equal(tr.t, [0.0, 0.01, 0.5])
    assert abs(tr.loss[0] - 0.5482100) < 5e-8
    tr2 = simulate(SS, 100, t_max=2.0, n_times=10, init=SS_INIT, show_progress=False)
    assert tr2.t[0] == 0 and tr2.t[-1] == 2.0 and len(tr2.t) == 11
    assert trajectory_header(tr2)[-1] == "eps_g_se" and np.isnan(tr2.sem).all()  # one seed: no SE


def test_monte_carlo_error_matches_closed_form():
    """MC test error on fresh samples vs the closed form at the same weights: the per-seed
    difference has mean 0; |mean| <= 4 standard errors over 16 seeds (2000 samples each)."""
    s = Setup(2, 2, 0.5, "erf", spectrum=PL, sigma=0.0)
    tr = simulate(s, 40, times=[0.0, 2.0], n_seeds=16, sigma_J=0.8, mc_samples=2000,
                  show_progress=False)
    d = tr.eps_g_mc_seeds - tr.seeds
    se = d.std(axis=0, ddof=1) / np.sqrt(d.shape[0])
    assert np.all(np.abs(d.mean(axis=0)) <= 4 * se)


# ---------------------------------------------------------------------------------------------
# bad inputs and divergence
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw,name", [
    (dict(N=0), "N"), (dict(N=10.5), "N"), (dict(N=42, setup=Setup(1, 1, 0.1, spectrum=PL)), "N"),
    (dict(seeds=[1, 1]), "seeds"), (dict(seeds=[-1]), "seed"), (dict(n_seeds=0), "n_seeds"),
    (dict(times=[1.0, 0.5]), "times"), (dict(times=[-1.0]), "times"),
    (dict(t_max=None), "t_max"), (dict(t_max=-2.0), "t_max"), (dict(method="gpu"), "method"),
    (dict(block=0), "block"), (dict(mc_samples=-1), "mc_samples"), (dict(sigma_J=-1.0), "sigma_J"),
    (dict(J0=np.zeros((3, 40))), "J0"), (dict(teacher="uniform"), "teacher"),
    (dict(init=Overlaps(np.eye(3), np.zeros((3, 2)), np.eye(2))), "overlaps"),
    (dict(init=Overlaps(np.eye(2), 2 * np.eye(2), np.eye(2))), "overlaps"),
    (dict(n_jobs=0), "n_jobs"),
])
def test_bad_inputs_raise_before_work(kw, name):
    args = dict(setup=SS, N=40, t_max=1.0)
    args.update(kw)
    setup, N, t_max = args.pop("setup"), args.pop("N"), args.pop("t_max")
    with pytest.raises(ValueError, match=name):
        simulate(setup, N, t_max, show_progress=False, **args)


@pytest.mark.parametrize("method", methods)
def test_divergence_is_reported(method):
    s = Setup(2, 2, 6.0, "linear", spectrum=PL)       # eta far above eta_c = 2
    with pytest.raises(DivergenceError, match="learning rate eta=6.0 above the stability bound"):
        simulate(s, 40, t_max=20.0, method=method, show_progress=False)


# ---------------------------------------------------------------------------------------------
# SGD against the ODE
# ---------------------------------------------------------------------------------------------
#: Finite-N allowance: |<eps_SGD> - eps_ODE| may exceed the statistical 3 SE by A * eps_ODE / N.
#: The ODE is the N -> infinity limit of the seed-averaged SGD (Saad & Solla 1995; Goldt et al.
#: 2019): the mean trajectory differs from it at O(1/N) (fluctuations of |xi|^2/N in the eta^2
#: term, of the O(1/sqrt N) overlap noise fed back through the nonlinear drift and through the
#: nonlinear map overlaps -> eps_g).  We measured this bias, relative to eps_ODE and times N,
#: with 800 seeds at two N per case, on exactly the grids and initial conditions of the tests
#: below, twice with independent seeds (seeds 0..799; then seeds 10000..10799 in
#: ``test_finite_n_bias_table``, run with SCALINGLAWS_SLOW=1):
#:
#: ========================  =========================================================
#: case                      max over alpha of |bias|/eps_ODE * N  (+- 1 SE)
#: ========================  =========================================================
#: classic erf K=M=2         N=50: 0.67+-0.10, 0.60+-0.10;  N=100: 0.67+-0.13, 0.86+-0.13
#: power law L=4, erf        N=60: 0.45+-0.15, 0.50+-0.22;  N=120: 0.45+-0.15, 0.46+-0.35
#: linear, L=4, sigma, wd    N=60: 1.07+-0.32, 0.95+-0.35;  N=120: 0.96+-0.40, 1.63+-0.45
#: ========================  =========================================================
#:
#: The coefficient does not grow from the smaller to the larger N (so the bias is O(1/N), not
#: O(1/sqrt N)); every estimate lies below 2 (the largest, 1.63, is a maximum over many noisy
#: points and thus biased upwards).  We use A = 2 for all three cases; the slow test re-checks
#: estimate - 2 SE <= A.
FINITE_N_A = 2.0

POWER_SETUP = Setup(2, 2, 0.5, "erf", spectrum=PL)
LINEAR_SETUP = Setup(2, 2, 0.5, "linear", spectrum=PL, sigma=0.1, weight_decay=0.05)
ODE_CASES = {
    # name: (setup, init overlaps, t_max)
    "classic": (SS, SS_INIT, 30.0),
    "powerlaw": (POWER_SETUP, Overlaps.random(POWER_SETUP, 400, seed=7, sigma_J=0.5), 30.0),
    "linear": (LINEAR_SETUP, Overlaps.random(LINEAR_SETUP, 400, seed=8, sigma_J=0.5), 20.0),
}


def _sgd_and_ode(name, N, S, seed0=0):
    pytest.importorskip("scalinglaws.committee.ode")
    from scalinglaws.committee.ode import integrate, log_times

    setup, init, t_max = ODE_CASES[name]
    tr = simulate(setup, N, times=log_times(t_max, n=25, t_min=0.1), seeds=range(seed0, seed0 + S),
                  init=init, show_progress=False)
    # every seed starts from exactly `init` (realise_overlaps), so the ODE starts there too,
    # and is evaluated at the SGD's actual record times steps/N
    ode = integrate(setup, init, times=tr.t, show_progress=False)
    return tr, ode


@pytest.mark.parametrize("name,N,S", [("classic", 200, 32), ("powerlaw", 200, 32),
                                      ("linear", 200, 32)])
def test_sgd_mean_matches_ode(name, N, S):
    """Seed mean of SGD vs ODE at every recorded alpha: |mean - ODE| <= 3 SE + A eps_ODE / N.

    (i) classic Saad-Solla erf K = M = 2 (eta = 0.5, Q0 = diag(.5,.5), R0 = 1e-3 (1 +- 1e-2),
    T = 1) from alpha = 0.1 through the drop (eps 0.55 -> 0.02) onto the plateau (alpha <= 30,
    before the noise-driven escape); (ii) power law L = 4, beta = 1, erf, 1/sqrt K outputs;
    (iii) linear units, L = 4, output noise sigma = 0.1, weight decay 0.05.  SE = standard error
    over S seeds; A = FINITE_N_A (measured O(1/N) bias, see above).  All overlaps are compared
    too, on the same footing, for R (the teacher-student overlaps).
    """
    tr, ode = _sgd_and_ode(name, N, S)
    assert np.allclose(tr.t, ode.t)
    tol = 3 * tr.sem + FINITE_N_A * ode.loss / N
    bad = np.abs(tr.loss - ode.loss) > tol
    assert not bad.any(), (f"{name}: alpha={tr.t[bad]}, SGD={tr.loss[bad]}, ODE={ode.loss[bad]}, "
                           f"tol={tol[bad]}")
    assert ode.loss[-1] < 0.1 * ode.loss[0]  # the comparison covers the drop
    # R: SE per entry over seeds; allowance A * max(|R|)/N on the same O(1/N) footing
    R_se = tr.R_seeds.std(axis=0, ddof=1) / np.sqrt(S)
    tolR = 3 * R_se + FINITE_N_A * np.abs(ode.R).max() / N
    assert np.all(np.abs(tr.R - ode.R) <= tolR + 1e-12)


@pytest.mark.skipif(os.environ.get("SCALINGLAWS_SLOW") != "1",
                    reason="slow measurement of the finite-N bias (set SCALINGLAWS_SLOW=1)")
@pytest.mark.parametrize("name,Ns", [("classic", (50, 100)), ("powerlaw", (60, 120)),
                                     ("linear", (60, 120))])
def test_finite_n_bias_table(name, Ns):
    """Re-measures the table above FINITE_N_A: 800 seeds at two N; the bias coefficient
    max |<eps> - ODE| / ODE * N must stay below A at both N (within 2 SE), i.e. the bias is O(1/N)
    with a coefficient below the allowance."""
    for N in Ns:
        tr, ode = _sgd_and_ode(name, N, 800, seed0=10_000)
        rel = np.abs(tr.loss - ode.loss)[1:] / ode.loss[1:] * N
        rel_se = tr.sem[1:] / ode.loss[1:] * N
        print(name, N, "max rel bias * N:", rel.max(), "+-", rel_se[np.argmax(rel)])
        assert np.all(rel - 2 * rel_se <= FINITE_N_A)
