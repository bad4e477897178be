"""Tests of the exponential integrator (scalinglaws.committee.expode) and its kernels
(scalinglaws.numerics.committee_exp).

References: the matrix exponential (scipy.linalg.expm) for the divided differences of exp, the NumPy
reference of each compiled kernel, scipy's solve_ivp on the frozen-coefficient linear system for one
propagation, and scalinglaws.committee.ode.integrate (scipy BDF on the same equations) for whole
trajectories.  Tolerances: round-off for the kernels (1e-12 relative, the compiled and NumPy paths
sum in different orders), the integrators' own tolerances for the trajectories (global error on eps_g within about
10 rtol; measured 4e-4 at rtol 1e-4 and 3e-5 at 1e-5 for K = 2, L = 32, 1e-4 and 1.5e-5 for K = 4, L = 64).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import linalg
from scipy.integrate import solve_ivp

from scalinglaws.committee import expode
from scalinglaws.committee.ode import _physical_C, integrate as integrate_bdf, log_times
from scalinglaws.committee.setup import Overlaps, Setup, draw_weights
from scalinglaws.errors import CostLimitError, DivergenceError
from scalinglaws.numerics import committee_exp as kx
from scalinglaws.spectra import Spectrum


def _dd2_expm(x, y):
    A = np.array([[x, 1.0, 0.0], [0.0, y, 1.0], [0.0, 0.0, 0.0]])
    return linalg.expm(A)[0, 2]


@pytest.mark.parametrize("x,y", [(-3.0, -3.0 + 1e-9), (-0.1, -0.2), (-50.0, -0.5), (0.0, 0.0), (2.0, -20.0),
                                 (-1e-8, 1e-8), (-700.0, -1e-3), (-1e-4, -5.0), (-0.6, -0.55), (1e-3, -1e-3)])
def test_second_divided_difference_against_matrix_exponential(x, y):
    ref = _dd2_expm(x, y)
    assert kx.dd2_0(x, y) == pytest.approx(ref, rel=1e-12, abs=1e-300)
    assert kx.dd2_0_numpy(np.array([x]), np.array([y]))[0] == pytest.approx(ref, rel=1e-12, abs=1e-300)


def _random_C(K, M, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((K + M, 3 * (K + M))) / math.sqrt(3 * (K + M))
    return W @ W.T


@pytest.mark.parametrize("K,M", [(2, 2), (5, 3), (12, 12)])
def test_compiled_i4_sum_equals_numpy_reference(K, M):
    C = _random_C(K, M)
    w = np.concatenate([-np.ones(K) / math.sqrt(K), np.ones(M) / math.sqrt(M)])
    ref = kx.i4_weighted_numpy(C, K, w)
    assert kx.i4_weighted(C, K, w) == pytest.approx(ref, rel=1e-12, abs=1e-14)


def test_compiled_group_updates_equal_numpy_references():
    rng = np.random.default_rng(1)
    L, K, M = 16, 6, 5
    a = np.logspace(-3, 1, L)
    for h in (1e-4, 0.3, 200.0):
        d = -np.abs(rng.standard_normal(K)) * 0.1
        d[:2] = [0.0, 1e-7]
        zR = np.ascontiguousarray((a * h)[:, None] * d[None, :])
        Qt = rng.standard_normal((L, K, K)); Qt = Qt + Qt.transpose(0, 2, 1)
        X1, Y2 = rng.standard_normal((L, K, K)), rng.standard_normal((L, K, K))
        Ft = rng.standard_normal((K, K)); Ft = Ft + Ft.T
        Rt, P = rng.standard_normal((L, K, M)), rng.standard_normal((L, K, M))
        bq = np.full(L, 1 / L)
        q1 = kx.q_update(zR, Qt, X1, Y2, Ft, a, bq, h)
        q2 = kx.q_update_numpy(zR, Qt, X1, Y2, Ft, a, bq, h)
        assert q1 == pytest.approx(q2, rel=1e-10, abs=1e-12 * np.abs(q2).max())
        assert kx.r_update(zR, Rt, P, a, h) == pytest.approx(kx.r_update_numpy(zR, Rt, P, a, h), rel=1e-12)


@pytest.mark.skipif(not kx.HAVE_NUMBA, reason="numba missing")
@pytest.mark.parametrize("K,M,L", [(3, 2, 5), (7, 7, 8)])
def test_fused_propagation_equals_the_numpy_path(K, M, L):
    sp_ = Spectrum.power_law(L, 1.0)
    s = Setup(K, M, 0.1, spectrum=sp_)
    J, B = draw_weights(s, 40, seed=3, sigma_J=0.5)
    ov = Overlaps.from_weights(J, B, sp_)
    Q, R, T = (np.ascontiguousarray(x, dtype=float) for x in (ov.Q, ov.R, ov.T))
    fr = expode.coefficients(s, _physical_C(s, Q, R, T))
    for h in (1e-3, 2.0, 500.0):
        Qc, Rc = expode.propagate(s, Q, R, T, fr, h, compiled=True)
        Qn, Rn = expode.propagate(s, Q, R, T, fr, h, compiled=False)
        assert Qc == pytest.approx(Qn, rel=1e-10, abs=1e-13 * np.abs(Qn).max())
        assert Rc == pytest.approx(Rn, rel=1e-10, abs=1e-13 * np.abs(Rn).max())


def _draw(K, L, N=64, seed=0, sigma_J=0.3, eta=0.1, beta=1.0):
    sp = Spectrum.power_law(L, beta)
    s = Setup(K, K, eta, spectrum=sp)
    J, B = draw_weights(s, N, seed=seed, sigma_J=sigma_J)
    return s, Overlaps.from_weights(J, B, sp)


def test_one_propagation_is_the_exact_solution_of_the_frozen_linear_system():
    s, ov = _draw(3, 4)
    C = _physical_C(s, ov.Q, ov.R, ov.T)
    fr = expode.coefficients(s, C)
    lam, f = s.spectrum.eigenvalues, s.spectrum.fractions
    ec = s.eta * s.c_s
    K, M, L = 3, 3, 4

    def rhs(t, y):
        Q = y[:L * K * K].reshape(L, K, K)
        R = y[L * K * K:].reshape(L, K, M)
        dR = (lam * ec)[:, None, None] * (fr.G @ R + fr.H @ ov.T)
        dQ = (lam * ec)[:, None, None] * (fr.G @ Q + Q @ fr.G + fr.H @ np.swapaxes(R, 1, 2)
                                           + R @ fr.H.T) + (lam * f)[:, None, None] * fr.F
        return np.concatenate([dQ.ravel(), dR.ravel()])

    h = 3.0
    ref = solve_ivp(rhs, (0, h), np.concatenate([ov.Q.ravel(), ov.R.ravel()]), method="DOP853",
                    rtol=1e-12, atol=1e-15).y[:, -1]
    Qn, Rn = expode.propagate(s, ov.Q, ov.R, ov.T, fr, h)
    assert Qn.ravel() == pytest.approx(ref[:L * K * K], rel=1e-8, abs=1e-12)
    assert Rn.ravel() == pytest.approx(ref[L * K * K:], rel=1e-8, abs=1e-12)
    Qp, Rp = expode.propagate(s, ov.Q, ov.R, ov.T, fr, h, compiled=False)
    assert Qp == pytest.approx(Qn, rel=1e-10, abs=1e-14) and Rp == pytest.approx(Rn, rel=1e-10, abs=1e-14)


@pytest.mark.parametrize("K,L", [(2, 16), (3, 8)])
def test_trajectory_agrees_with_bdf_and_converges_with_rtol(K, L):
    s, ov = _draw(K, L, sigma_J=1e-3)
    times = np.concatenate([[0.0], np.logspace(-1, 3, 30)])
    ref = integrate_bdf(s, ov, times=times, rtol=1e-9, atol=1e-12, show_progress=False)
    errs = []
    for rtol in (1e-4, 1e-5):
        c = expode.integrate(s, ov, times=times, rtol=rtol, show_progress=False)
        errs.append(float(np.max(np.abs(c.loss[1:] / ref.loss[1:] - 1))))
        assert errs[-1] <= 10 * rtol
        assert c.Q == pytest.approx(ref.Q, rel=20 * rtol, abs=1e-6)
    assert errs[1] < errs[0] / 3


def test_keep_groups_and_metadata():
    s, ov = _draw(2, 4)
    c = expode.integrate(s, ov, t_max=10.0, n_times=5, keep_groups=True, show_progress=False)
    assert c.groups["Q"].shape == (6, 4, 2, 2) and c.groups["R"].shape == (6, 4, 2, 2)
    assert c.meta["method"] == "exponential" and c.meta["steps"] > 0
    phys = np.einsum("l,tlik->tik", s.spectrum.eigenvalues, c.groups["Q"])
    assert phys == pytest.approx(c.Q, rel=1e-12)


@pytest.mark.parametrize("kw,needle", [
    (dict(rtol=0.0), "rtol"), (dict(rtol=0.5), "rtol"), (dict(atol=-1.0), "atol"),
    (dict(times=[0.0, 2.0, 1.0], t_max=None), "times"), (dict(times=[0.0, np.nan], t_max=None), "times"),
    (dict(max_memory=1e3), "K"), (dict(n_times=1), "n_times")])
def test_bad_inputs_raise_before_work(kw, needle):
    s, ov = _draw(2, 4)
    args = dict(t_max=10.0, show_progress=False)
    args.update(kw)
    if "times" in kw:
        args.pop("t_max", None)
    with pytest.raises(ValueError, match=needle):
        expode.integrate(s, ov, **args)


def test_weight_decay_and_shape_mismatch_are_refused():
    s, ov = _draw(2, 4)
    with pytest.raises(ValueError, match="weight_decay"):
        expode.integrate(Setup(2, 2, 0.1, spectrum=s.spectrum, weight_decay=0.01), ov, t_max=1.0)
    with pytest.raises(ValueError, match="init"):
        expode.integrate(Setup(3, 3, 0.1, spectrum=s.spectrum), ov, t_max=1.0)


def test_non_realisable_overlaps_are_refused():
    s, ov = _draw(2, 4)
    bad = Overlaps(ov.Q, ov.R * 100.0, ov.T)
    with pytest.raises(ValueError, match="semi-definite"):
        expode.integrate(s, bad, t_max=1.0, show_progress=False)


def test_memory_limit_names_K_before_any_work():
    """K = M = 120 at L = 512 needs ~5 GB of working state: refused before any work (4 GiB default)."""
    L, K = 512, 120
    s = Setup(K, K, 0.01, spectrum=Spectrum.power_law(L, 1.0))
    z = np.zeros((L, K, K))
    assert expode.memory_estimate(s, 201) > 4 * 2 ** 30
    with pytest.raises(CostLimitError, match="K=120"):
        expode.integrate(s, Overlaps(z, z, z), t_max=1.0, show_progress=False)


def test_divergence_is_reported():
    sp = Spectrum.power_law(4, 1.0)
    s = Setup(1, 1, 6.0, "linear", spectrum=sp)      # far above the linear threshold eta_c = 2
    J, B = draw_weights(s, 64, seed=0, sigma_J=0.5)
    with pytest.raises(DivergenceError):
        expode.integrate(s, Overlaps.from_weights(J, B, sp), t_max=1e3, show_progress=False)


# ----------------------------------------------------------------------------------------------
# the linearised specialised phase (specialised_mode_sum)
# ----------------------------------------------------------------------------------------------
def _near(K=3, L=8, N=64, delta=0.2, seed=2, beta=1.0, eta=0.05):
    sp_ = Spectrum.power_law(L, beta)
    s = Setup(K, K, eta, spectrum=sp_)
    xi, B = draw_weights(s, N, seed=seed, sigma_J=1.0)
    return s, B, xi, Overlaps.from_weights(B + delta * xi, B, sp_)


def test_specialised_mode_sum_equals_the_matrix_exponential_of_each_coordinate():
    """Reference: evolve every coordinate's deviation u_j by expm(a_l G* t) and sum
    lambda_l tr(-G* D_l(t)) directly (no eigen-decomposition)."""
    from scipy.linalg import expm
    s, B, xi, ov = _near()
    K, L, N = 3, 8, 64
    T = np.ascontiguousarray(ov.T)
    G = expode.coefficients(s, _physical_C(s, T, T, T)).G
    lam = s.spectrum.eigenvalues
    sizes = s.spectrum.group_sizes(N)
    edges = np.concatenate([[0], np.cumsum(sizes)])
    u = 0.2 * xi
    times = np.array([0.0, 0.5, 3.0, 40.0, 700.0])
    ref = []
    for t in times:
        tot = 0.0
        for l in range(L):
            E = expm(s.eta * s.c_s * lam[l] * G * t)
            Ul = E @ u[:, edges[l]:edges[l + 1]]
            tot += lam[l] * np.trace(-G @ Ul @ Ul.T) / N
        ref.append(tot)
    ref = np.array(ref) / ref[0]
    np.testing.assert_allclose(expode.specialised_mode_sum(s, ov, times), ref, rtol=1e-10)


def test_specialised_mode_sum_decays_and_is_one_at_zero():
    s, B, xi, ov = _near()
    m = expode.specialised_mode_sum(s, ov, np.array([0.0, 1.0, 10.0, 100.0]))
    assert m[0] == pytest.approx(1.0) and np.all(np.diff(m) < 0)


def test_specialised_mode_sum_bad_inputs():
    s, B, xi, ov = _near()
    t = np.array([0.0, 1.0])
    perm = Overlaps.from_weights((B + 0.2 * xi)[[1, 0, 2]], B, s.spectrum)       # students swapped
    with pytest.raises(ValueError, match="student i on teacher i"):
        expode.specialised_mode_sum(s, perm, t)
    with pytest.raises(ValueError, match="times"):
        expode.specialised_mode_sum(s, ov, np.array([1.0, 0.5]))
    with pytest.raises(ValueError, match="max_memory"):
        expode.specialised_mode_sum(s, ov, t, max_memory=10.0)
    s2 = Setup(3, 2, 0.05, spectrum=s.spectrum)
    with pytest.raises(ValueError, match="setup.K"):
        expode.specialised_mode_sum(s2, ov, t)
    with pytest.raises(TypeError):
        expode.specialised_mode_sum(s, "overlaps", t)
