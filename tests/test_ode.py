"""Unit tests of the order-parameter ODE (issue 3) against independent references.

References used (none of them produced by this code):

* the classic Saad--Solla K = M = 2 run of the peer codes pyscm / nn2pp, as tabulated in
  ``shared/papers/saad_solla_classic.md`` §3 (Euler, dt = 0.001, eta = 0.5) and its §4.4
  right-hand-side values at t = 0 (agreeing with Monte Carlo);
* Monte Carlo of the defining expectations (every tolerance is a multiple of the MC standard
  error, 4 SE unless stated: the probability that a correct formula fails one 4-SE check is 6e-5);
* exact identities: degenerate groups (L copies of one eigenvalue) must reproduce L = 1; the
  convention map eta_SS = eta/K, eps_SS = K eps for K = M.
"""

from __future__ import annotations

import numpy as np
import pytest

from scalinglaws import conventions
from scalinglaws.numerics.gaussian import Erf, Linear, get_activation
from scalinglaws.errors import DivergenceError
from scalinglaws.committee.setup import Overlaps, Setup, draw_weights
from scalinglaws.committee.ode import integrate, jacobian_physical, log_times, rhs
from scalinglaws.spectra import Spectrum

Q0 = np.diag([0.5, 0.5])
R0 = np.array([[1.01e-3, 0.99e-3], [0.99e-3, 1.01e-3]])
T0 = np.eye(2)

# saad_solla_classic.md §3: (t, eps_g) from Euler dt = 0.001, eta = 0.5 (7 significant digits)
TABLE = [(1, 2.982228e-01), (5, 3.997954e-02), (10, 1.877536e-02), (50, 1.551668e-02),
         (100, 1.493176e-02), (200, 1.471077e-02), (300, 1.454713e-02), (350, 1.252491e-02),
         (400, 4.152161e-03), (500, 6.334505e-05), (700, 9.551002e-09)]


def classic(eta=0.5):
    return Setup(2, 2, eta, "erf", conventions="saad-solla"), Overlaps.from_physical(Q0, R0, T0)


def half_ulp(x: float, digits: int = 7) -> float:
    """Half a unit in the last printed digit of a value printed with `digits` significant digits."""
    return 0.5 * 10.0 ** (np.floor(np.log10(abs(x))) - (digits - 1))


# ---------------------------------------------------------------------------------------------
# classic Saad--Solla parity
# ---------------------------------------------------------------------------------------------
def test_initial_error_classic():
    s, o = classic()
    assert s.eps_g(o.physical(s.spectrum)) == pytest.approx(0.5482100, abs=half_ulp(0.54821))


@pytest.mark.parametrize("eta,expected", [
    (0.5, {"dR11": 0.183414, "dR12": 0.183413, "dQ11": -0.036019, "dQ12": -0.106821}),
    (1.0, {"dR11": 0.366829, "dQ11": 0.155051, "dQ12": -0.004341}),
])
def test_rhs_at_t0_matches_peer_codes(eta, expected):
    """saad_solla_classic.md §4.4 (printed to 6 decimals): tolerance half a unit of the last digit."""
    s, o = classic(eta)
    dQ, dR = rhs(s, o.Q, o.R, o.T)
    got = {"dR11": dR[0, 0, 0], "dR12": dR[0, 0, 1], "dQ11": dQ[0, 0, 0], "dQ12": dQ[0, 0, 1]}
    for k, v in expected.items():
        assert got[k] == pytest.approx(v, abs=5e-7), k


def test_euler_parity_with_peer_table():
    """Same scheme and step as the peers (Euler, dt = 0.001): the table is printed with 7
    significant digits, so the tightest meaningful tolerance is half a unit in the 7th digit
    (the issue's 1e-9 cannot be resolved from a 7-digit table).  Up to t = 5 (5000 steps)."""
    s, o = classic(0.5)
    times = np.array([0.0, 1.0, 5.0])
    tr = integrate(s, o, times=times, method="euler", dt=1e-3, show_progress=False)
    for (t, ref), got in zip(TABLE[:2], tr.loss[1:]):
        assert abs(got - ref) <= half_ulp(ref), (t, got, ref)


def test_default_solver_against_peer_table():
    """Any other solver vs the dt = 0.001 Euler reference (saad_solla_classic.md §5): rtol 1e-4
    on the plateau (50 <= t <= 300), 1e-2 in the transient, the escape and the tail -- set by the
    first-order error of the reference itself (its §4.2), not by our solver."""
    s, o = classic(0.5)
    times = np.concatenate([[0.0], [t for t, _ in TABLE]])
    tr = integrate(s, o, times=times, show_progress=False)
    for (t, ref), got in zip(TABLE, tr.loss[1:]):
        tol = 1e-4 if 50 <= t <= 300 else 1e-2
        assert abs(got / ref - 1) <= tol, (t, got, ref)


@pytest.mark.parametrize("eta,height,window", [(0.5, 0.0147, (300, 450)), (1.0, 0.0206, (150, 250))])
def test_classic_plateau_and_specialisation(eta, height, window):
    """Plateau height (saad_solla_classic.md: 0.0147 / 0.0206, quoted to 3 digits -> 1%) and the
    specialisation (R11 -> 1, R12 -> 0) inside the quoted window."""
    s, o = classic(eta)
    tr = integrate(s, o, times=np.linspace(0, 1000, 2001), show_progress=False)
    t = tr.t
    r11, r12 = tr.R[:, 0, 0], tr.R[:, 0, 1]
    gap = np.abs(r11 - r12)
    t_spec = t[np.argmax(gap > 0.5)]
    # plateau height := eps_g at the flattest point (min |d eps/dt|) between 10 and t_spec / 2
    plateau = (t > 10) & (t < 0.5 * t_spec)
    slope = np.abs(np.gradient(tr.loss, t))
    h = tr.loss[plateau][np.argmin(slope[plateau])]
    assert abs(h / height - 1) < 0.01
    # symmetric on the plateau
    assert np.max(np.abs(r11 - r12)[plateau]) < 0.01
    assert window[0] <= t_spec <= window[1]
    assert r11[-1] > 0.999 and abs(r12[-1]) < 1e-3


# ---------------------------------------------------------------------------------------------
# identities
# ---------------------------------------------------------------------------------------------
def test_degenerate_groups_equal_isotropic():
    """L groups with one common eigenvalue are the L = 1 dynamics (exact identity)."""
    s1 = Setup(2, 2, 0.3, "erf")
    rng = np.random.default_rng(3)
    J = 0.3 * rng.standard_normal((2, 64))
    B = rng.standard_normal((2, 64))
    o1 = Overlaps.from_weights(J, B, s1.spectrum)
    s4 = Setup(2, 2, 0.3, "erf", spectrum=Spectrum(np.ones(4)))
    o4 = Overlaps.from_weights(J, B, s4.spectrum)
    times = log_times(200.0, 40)
    a = integrate(s1, o1, times=times, method="LSODA", rtol=1e-10, atol=1e-13, show_progress=False)
    b = integrate(s4, o4, times=times, rtol=1e-10, atol=1e-13, show_progress=False)
    np.testing.assert_allclose(b.loss, a.loss, rtol=1e-6)
    np.testing.assert_allclose(b.R, a.R, rtol=1e-6, atol=1e-9)


def test_convention_map_sqrtK_vs_saad_solla():
    """For K = M: 1/sqrt(K) dynamics at eta equal Saad--Solla dynamics at eta/K, eps x K."""
    K = 3
    eta = 0.9
    eta_ss, _ = conventions.convert(eta, None, K, K, "worschech-rosenow", "saad-solla")
    assert eta_ss == pytest.approx(eta / K)
    rng = np.random.default_rng(0)
    J, B = 0.5 * rng.standard_normal((K, 50)), rng.standard_normal((K, 50))
    wr = Setup(K, K, eta, "erf", conventions="worschech-rosenow")
    ss = Setup(K, K, eta_ss, "erf", conventions="saad-solla")
    o = Overlaps.from_weights(J, B, wr.spectrum)
    times = log_times(100.0, 20)
    a = integrate(wr, o, times=times, rtol=1e-10, atol=1e-13, show_progress=False)
    b = integrate(ss, o, times=times, rtol=1e-10, atol=1e-13, show_progress=False)
    np.testing.assert_allclose(b.loss, K * a.loss, rtol=1e-6)
    with pytest.raises(ValueError, match="K == M"):
        conventions.convert(eta, None, 2, 3, "worschech-rosenow", "saad-solla")


def test_structured_default_matches_tight_reference():
    """Power-law spectrum (L = 32): the default integrator against the same ODE solved at
    rtol 1e-10 -- rtol 1e-4 on the plateau-like slow part, 1e-2 everywhere (issue 3's accuracy
    target; the tight run is converged to far better than that)."""
    sp = Spectrum.power_law(32, 1.0)
    s = Setup(2, 2, 0.1, "erf", spectrum=sp)
    o = Overlaps.random(s, 256, seed=1, sigma_J=0.01)
    times = log_times(2000.0, 40)
    ref = integrate(s, o, times=times, rtol=1e-10, atol=1e-13, show_progress=False)
    got = integrate(s, o, times=times, show_progress=False)
    rel = np.abs(got.loss / ref.loss - 1)
    assert rel.max() < 1e-2
    slow = times > 10
    assert rel[slow].max() < 1e-4


# ---------------------------------------------------------------------------------------------
# Monte Carlo checks of the closed forms
# ---------------------------------------------------------------------------------------------
def random_cov(n, rng, scale=1.0):
    A = rng.standard_normal((n, n + 2))
    C = A @ A.T / (n + 2) * scale
    return C


@pytest.mark.parametrize("act", ["erf", "linear"])
def test_gaussian_integrals_against_monte_carlo(act):
    g = get_activation(act)
    rng = np.random.default_rng(11)
    n = 4
    C = random_cov(n, rng)
    S = 400_000
    u = rng.standard_normal((S, n)) @ np.linalg.cholesky(C).T
    gu, dgu = g.g(u), g.dg(u)

    def mc(x):
        return x.mean(), x.std(ddof=1) / np.sqrt(S)

    i2, i2p, i3, i4 = g.i2(C), g.i2p(C), g.i3(C), g.i4(C)
    for a, b in [(0, 1), (2, 2), (1, 3)]:
        m, se = mc(gu[:, a] * gu[:, b])
        assert abs(i2[a, b] - m) <= 4 * se + 1e-12
        m, se = mc(dgu[:, a] * dgu[:, b])
        assert abs(i2p[a, b] - m) <= 4 * se + 1e-12
    for a, b, c in [(0, 1, 2), (1, 1, 3), (2, 0, 0), (3, 2, 1)]:
        m, se = mc(dgu[:, a] * u[:, b] * gu[:, c])
        assert abs(i3[a, b, c] - m) <= 4 * se + 1e-12, (a, b, c)
    for a, b, c, d in [(0, 1, 2, 3), (0, 0, 1, 1), (2, 1, 3, 3), (1, 3, 0, 2)]:
        m, se = mc(dgu[:, a] * dgu[:, b] * gu[:, c] * gu[:, d])
        assert abs(i4[a, b, c, d] - m) <= 4 * se + 1e-12, (a, b, c, d)


def test_eps_g_against_monte_carlo():
    s = Setup(2, 3, 0.1, "erf")
    rng = np.random.default_rng(5)
    C = random_cov(5, rng)
    S = 400_000
    u = rng.standard_normal((S, 5)) @ np.linalg.cholesky(C).T
    err = s.c_t * Erf().g(u[:, 2:]).sum(1) - s.c_s * Erf().g(u[:, :2]).sum(1)
    e = 0.5 * err ** 2
    assert abs(s.eps_g(C) - e.mean()) <= 4 * e.std(ddof=1) / np.sqrt(S)


@pytest.mark.parametrize("act", ["erf", "linear"])
def test_group_rhs_first_order_against_monte_carlo(act):
    """The O(eta) terms of the group-resolved RHS are exact expectations at finite N:
    dR^[l]_in/dalpha|_eta = eta c_s E[g'(x_i) delta xi^T P_l B_n / sqrt N] etc.  Checked with
    actual weights in N = 12 dimensions, L = 3 groups, 4e5 input samples (4 SE)."""
    N, K, M = 12, 2, 3
    sp = Spectrum(np.array([2.0, 0.7, 0.3]))
    eta = 1e-3  # eta^2 term negligible against the MC error; subtracted exactly below anyway
    s = Setup(K, M, eta, act, spectrum=sp)
    J, B = draw_weights(s, N, seed=7, sigma_J=0.7)
    o = Overlaps.from_weights(J, B, sp)
    dQ, dR = rhs(s, o.Q, o.R, o.T)
    # remove the exact eta^2 term (forcing) to isolate the O(eta) part
    s2 = Setup(K, M, 2 * eta, act, spectrum=sp)
    dQ2, dR2 = rhs(s2, o.Q, o.R, o.T)
    dQ1 = 2 * dQ - 0.5 * dQ2  # = eta * (first-order coefficient)
    rng = np.random.default_rng(8)
    S = 400_000
    xi = rng.standard_normal((S, N)) * np.sqrt(sp.diagonal(N))
    x, y = xi @ J.T / np.sqrt(N), xi @ B.T / np.sqrt(N)
    g = s.activation
    delta = s.c_t * g.g(y).sum(1) - s.c_s * g.g(x).sum(1)
    grp = sp.group_index(N)
    for l in range(sp.L):
        P = grp == l
        yl = xi[:, P] @ B[:, P].T / np.sqrt(N)
        xl = xi[:, P] @ J[:, P].T / np.sqrt(N)
        for i in range(K):
            for n in range(M):
                v = eta * s.c_s * g.dg(x[:, i]) * delta * yl[:, n]
                m, se = v.mean(), v.std(ddof=1) / np.sqrt(S)
                assert abs(dR[l, i, n] - m) <= 4 * se, (l, i, n)
            for k in range(K):
                v = eta * s.c_s * delta * (g.dg(x[:, i]) * xl[:, k] + g.dg(x[:, k]) * xl[:, i])
                m, se = v.mean(), v.std(ddof=1) / np.sqrt(S)
                assert abs(dQ1[l, i, k] - m) <= 4 * se, (l, i, k)


def test_eta2_term_against_monte_carlo():
    """eta^2 term: eta^2 c_s^2 f_l lam_l E[g'(x_i) g'(x_k) (delta^2 + sigma^2)] (|xi_l|^2/N -> f_l lam_l)."""
    sp = Spectrum(np.array([1.5, 0.5]))
    K, M = 2, 2
    eta, sigma = 1.0, 0.3
    s = Setup(K, M, eta, "erf", spectrum=sp, sigma=sigma)
    J, B = draw_weights(s, 40, seed=2, sigma_J=0.5)
    o = Overlaps.from_weights(J, B, sp)
    C = o.physical(sp)
    dQa, _ = rhs(s, o.Q, o.R, o.T)
    dQb, _ = rhs(Setup(K, M, 0.5 * eta, "erf", spectrum=sp, sigma=sigma), o.Q, o.R, o.T)
    quad = (dQa - 2 * dQb) / 0.5  # eta^2 coefficient * eta^2 (first-order part cancels)
    rng = np.random.default_rng(4)
    S = 400_000
    u = rng.standard_normal((S, K + M)) @ np.linalg.cholesky(C).T
    g = s.activation
    d = s.c_t * g.g(u[:, K:]).sum(1) - s.c_s * g.g(u[:, :K]).sum(1)
    for l in range(2):
        for i, k in [(0, 0), (0, 1), (1, 1)]:
            v = eta ** 2 * s.c_s ** 2 * sp.fractions[l] * sp.eigenvalues[l] * \
                g.dg(u[:, i]) * g.dg(u[:, k]) * (d ** 2 + sigma ** 2)
            m, se = v.mean(), v.std(ddof=1) / np.sqrt(S)
            assert abs(quad[l, i, k] - m) <= 4 * se


# ---------------------------------------------------------------------------------------------
# bad inputs and divergence
# ---------------------------------------------------------------------------------------------
def _good():
    return Setup(2, 2, 0.5, "erf"), Overlaps.from_physical(Q0, R0, T0)


@pytest.mark.parametrize("make, match", [
    (lambda: Setup(0, 2, 0.5), "K=0"),
    (lambda: Setup(2, -1, 0.5), "M=-1"),
    (lambda: Setup(2, 2, 0.0), "eta=0.0"),
    (lambda: Setup(2, 2, -1.0), "eta=-1.0"),
    (lambda: Setup(2, 2, 0.5, "tanh"), "activation='tanh'"),
    (lambda: Spectrum.power_law(0, 1.0), "L=0"),
    (lambda: Spectrum(np.array([1.0, -2.0])), "eigenvalues"),
    (lambda: Spectrum(np.array([1.0, np.nan])), "eigenvalues"),
    (lambda: Spectrum.power_law(3, 1.0).group_sizes(10), "N=10"),
    (lambda: draw_weights(Setup(2, 2, 0.5), 0), "N=0"),
    (lambda: Setup(2, 2, 0.5, sigma=-1), "sigma=-1"),
    (lambda: integrate(*_good(), t_max=-1.0), "t_max=-1.0"),
    (lambda: integrate(*_good(), t_max=0.0), "t_max=0.0"),
    (lambda: integrate(*_good(), t_max=1.0, method="rk99"), "method='rk99'"),
    (lambda: integrate(*_good(), t_max=1.0, method="euler"), "dt=None"),
    (lambda: integrate(Setup(2, 2, 0.5), Overlaps.from_physical(np.eye(3), np.zeros((3, 2)), T0),
                       t_max=1.0), "overlaps"),
    (lambda: integrate(Setup(2, 2, 0.5), Overlaps.from_physical(np.diag([1.0, -0.1]), R0, T0),
                       t_max=1.0), "positive semi-definite"),
    (lambda: integrate(*_good(), times=[0.0, 2.0, 1.0]), "increasing"),
    (lambda: Overlaps(np.zeros((1, 2, 2)), np.zeros((1, 3, 2)), np.zeros((1, 2, 2))), "R"),
    (lambda: integrate(Setup(2, 2, 0.5, spectrum=Spectrum.power_law(4, 1.0)),
                       Overlaps.from_physical(Q0, R0, T0), t_max=1.0), "L="),
])
def test_bad_inputs_raise_clear_valueerror(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_divergence_is_reported_not_nan():
    """Linear network above eta_c = 2/((1/N) tr Sigma) = 2 blows up; the error says why."""
    s = Setup(1, 1, 2.5, "linear")
    o = Overlaps.from_physical([[1.0]], [[0.0]], [[1.0]])
    with pytest.raises(DivergenceError, match="learning rate"):
        integrate(s, o, t_max=1e4, show_progress=False)
    # below the threshold the same run converges
    ok = integrate(Setup(1, 1, 1.5, "linear"), o, t_max=200.0, show_progress=False)
    assert ok.loss[-1] < 1e-8


def test_jacobian_shape_and_symmetric_fixed_point_stationary():
    from scalinglaws.committee.ode import symmetric_fixed_point
    K = 3
    q, r = symmetric_fixed_point(K)
    s = Setup(K, K, 1e-4, "erf")
    st = Overlaps.from_physical(np.full((K, K), q), np.full((K, K), r), np.eye(K))
    dQ, dR = rhs(s, st.Q, st.R, st.T)
    # O(eta) fixed point: the remaining drift is the O(eta^2) term only
    assert np.abs(dR).max() < 1e-12 and np.abs(dQ).max() < 10 * s.eta ** 2
    J = jacobian_physical(s, st)
    assert J.shape == (K * (K + 1) // 2 + K * K,) * 2


def test_euler_matches_independent_scalar_transcription():
    """Parity at 1e-9: the library's broadcast Euler step against an independent transcription of
    the equations of saad_solla_classic.md §1 / worschech_rosenow.md §2.3 as scalar index loops
    (benchmarks/bench_ode.py's naive baseline, the peer codes' scheme), 200 steps, classic L = 1
    and a 3-group power law."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_ode.py"
    spec = importlib.util.spec_from_file_location("bench_ode", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    cases = [classic(0.5)]
    sp = Spectrum.power_law(3, 1.0)
    s3 = Setup(2, 2, 0.4, "erf", spectrum=sp)
    cases.append((s3, Overlaps.random(s3, 30, seed=4, sigma_J=0.5)))
    for s, o in cases:
        G = bench.naive_euler(s, o, 0.01, 200, return_state=True)
        tr = integrate(s, o, times=[0.0, 2.0], method="euler", dt=0.01, show_progress=False)
        lam = s.spectrum.eigenvalues
        C = np.einsum("l,lab->ab", lam, G)
        np.testing.assert_allclose(C[:2, :2], tr.Q[-1], rtol=1e-9, atol=1e-13)
        np.testing.assert_allclose(C[:2, 2:], tr.R[-1], rtol=1e-9, atol=1e-13)


# ---------------------------------------------------------------------------------------------
# compiled Euler loop (numerics/committee_rhs.py) against the NumPy reference
# ---------------------------------------------------------------------------------------------
def _have_numba():
    from scalinglaws.numerics.committee_rhs import HAVE_NUMBA
    return HAVE_NUMBA


def _euler_both(monkeypatch, s, o, times, dt):
    """The same Euler run through the compiled loop (required) and the NumPy reference."""
    from scalinglaws.committee import ode
    monkeypatch.setattr(ode, "_EULER_KERNEL", "numba")
    a = integrate(s, o, times=times, method="euler", dt=dt, show_progress=False)
    monkeypatch.setattr(ode, "_EULER_KERNEL", "numpy")
    b = integrate(s, o, times=times, method="euler", dt=dt, show_progress=False)
    return a, b


def _compiled_cases():
    classic_case = classic(0.5) + (np.array([0.0, 0.5, 1.0, 5.0, 20.0, 50.0]),)
    sp = Spectrum.power_law(8, 1.0)
    s = Setup(3, 2, 0.3, "erf", spectrum=sp, sigma=0.3, weight_decay=0.01)
    structured_case = (s, Overlaps.random(s, 64, seed=2, sigma_J=0.5), log_times(20.0, 25, t_min=0.05))
    sl = Setup(2, 3, 0.2, "linear", spectrum=Spectrum.power_law(4, 1.5), sigma=0.2, weight_decay=0.02)
    linear_case = (sl, Overlaps.random(sl, 48, seed=3, sigma_J=0.5), np.array([0.0, 0.3, 3.0, 20.0]))
    return {"classic": classic_case, "structured-noise-decay": structured_case, "linear": linear_case}


@pytest.mark.skipif(not _have_numba(), reason="numba not installed")
@pytest.mark.parametrize("case", ["classic", "structured-noise-decay", "linear"])
def test_compiled_euler_matches_numpy_reference(monkeypatch, case):
    """The compiled Euler loop reproduces the NumPy reference trajectory to round-off (max relative
    difference < 1e-10 on Q, R and eps_g), same output steps and step count; (a) classic
    Saad--Solla K = M = 2, L = 1; (b) K = 3, M = 2, power law L = 8, output noise, weight decay;
    (c) linear units, K = 2, M = 3, L = 4, noise and decay."""
    s, o, times = _compiled_cases()[case]
    a, b = _euler_both(monkeypatch, s, o, times, 0.01)
    np.testing.assert_array_equal(a.t, b.t)
    assert a.meta["nfev"] == b.meta["nfev"]
    for name, x, y in (("Q", a.Q, b.Q), ("R", a.R, b.R), ("eps_g", a.loss, b.loss)):
        ok = np.abs(x - y) <= 1e-10 * np.abs(y)       # elementwise relative (exact zeros equal)
        assert ok.all(), (case, name, np.max(np.abs(x - y)[~ok] / np.abs(y[~ok])))
    assert np.all(a.loss[1:] != a.loss[0])   # the runs moved


@pytest.mark.skipif(not _have_numba(), reason="numba not installed")
def test_compiled_euler_is_the_default_and_peer_parity():
    """method='euler' takes the compiled loop by default (erf/linear) and keeps parity with the
    peer table (Euler dt = 0.001, 7 digits) as the reference does."""
    from scalinglaws.committee import ode
    assert ode._EULER_KERNEL == "auto" and ode._euler_compiled_available(classic()[0])
    s, o = classic(0.5)
    tr = integrate(s, o, times=np.array([0.0, 1.0, 5.0]), method="euler", dt=1e-3, show_progress=False)
    for (t, ref), got in zip(TABLE[:2], tr.loss[1:]):
        assert abs(got - ref) <= half_ulp(ref), (t, got, ref)


@pytest.mark.skipif(not _have_numba(), reason="numba not installed")
def test_compiled_euler_divergence_raises_like_reference(monkeypatch):
    """Above the linear stability bound both loops raise DivergenceError at the same step
    (same message), and a finite but too large overlap trips the physical |Q| limit."""
    s = Setup(1, 1, 2.5, "linear")
    o = Overlaps.from_physical([[1.0]], [[0.0]], [[1.0]])
    msgs = []
    for kernel in ("numba", "numpy"):
        from scalinglaws.committee import ode
        monkeypatch.setattr(ode, "_EULER_KERNEL", kernel)
        with pytest.raises(DivergenceError, match="learning rate") as exc:
            integrate(s, o, times=[0.0, 2e3], method="euler", dt=0.01, show_progress=False)
        msgs.append(str(exc.value))
    assert msgs[0] == msgs[1]
    monkeypatch.setattr(ode, "_EULER_KERNEL", "numba")
    with pytest.raises(DivergenceError, match=r"\|Q\| > 10"):
        integrate(s, o, times=[0.0, 2e3], method="euler", dt=0.01, show_progress=False,
                  divergence_limit=10.0)


@pytest.mark.skipif(not _have_numba(), reason="numba not installed")
def test_compiled_euler_progress_chunks_are_exact(monkeypatch):
    """With a progress bar the compiled loop runs in chunks of whole thousands of steps; the
    result is bit-identical to one call, and the bar advances 1000 per 1000 steps."""
    import io

    from tqdm import tqdm

    from scalinglaws.committee import ode
    bars = []

    def bar(**kw):
        kw["disable"] = False
        b = tqdm(file=io.StringIO(), **kw)
        bars.append(b)
        return b

    s, o = classic(0.5)
    times = log_times(30.0, 20, t_min=0.1)
    one = integrate(s, o, times=times, method="euler", dt=0.01, show_progress=False)
    monkeypatch.setattr(ode, "progress", bar)
    chunked = integrate(s, o, times=times, method="euler", dt=0.01, show_progress=True)
    np.testing.assert_array_equal(one.Q, chunked.Q)
    np.testing.assert_array_equal(one.R, chunked.R)
    assert bars[-1].total == 3000 and bars[-1].n == 3000


def test_euler_falls_back_to_numpy_without_numba(monkeypatch):
    """Without numba (simulated) method='euler' runs the NumPy reference; requiring the compiled
    loop then raises a ValueError naming the alternative."""
    from scalinglaws.committee import ode
    from scalinglaws.numerics import committee_rhs
    monkeypatch.setattr(committee_rhs, "HAVE_NUMBA", False)
    s, o = classic(0.5)
    tr = integrate(s, o, times=[0.0, 0.5], method="euler", dt=0.01, show_progress=False)
    monkeypatch.setattr(ode, "_EULER_KERNEL", "numpy")
    ref = integrate(s, o, times=[0.0, 0.5], method="euler", dt=0.01, show_progress=False)
    np.testing.assert_array_equal(tr.Q, ref.Q)
    monkeypatch.setattr(ode, "_EULER_KERNEL", "numba")
    with pytest.raises(ValueError, match="numpy"):
        integrate(s, o, times=[0.0, 0.5], method="euler", dt=0.01, show_progress=False)
