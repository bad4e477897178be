"""Unit tests of scalinglaws.analysis.allocation (the compute-optimal split between grid widths)."""

import numpy as np
import pytest

from scalinglaws.analysis import allocation


def _surfaces(chi, ab=1.0, seeds=4):
    Ns = np.round(4 * np.sqrt(2) ** np.arange(19))
    ts = [np.geomspace(1.0, 1e6 / N, 80) for N in Ns]
    Ls = [np.tile(t ** -chi + N ** -ab, (seeds, 1)) for N, t in zip(Ns, ts)]
    return Ns, ts, Ls


@pytest.mark.parametrize("chi, ab", [(0.5, 1.0), (2 / 3, 1.0), (1.0, 2.0)])
def test_two_term_law_exponents(chi, ab):
    """L = t^-chi + N^-ab: N* ~ C^(1/(1+ab/chi)), L* ~ C^-(ab/(1+ab/chi)) (the balance argument)."""
    C = np.geomspace(100.0, 1e5, 31)
    Ns, ts, Ls = _surfaces(chi, ab)
    f = allocation.optimal_allocation(Ns, ts, Ls, C, t_min=10.0)
    aN = 1 / (1 + ab / chi)
    assert abs(f.width_exponent - aN) < 0.01
    assert abs(f.time_exponent - (1 - aN)) < 0.01
    assert abs(f.loss_exponent - ab * aN) < 0.01
    assert f.width_exponent_se == 0.0 and f.jackknife.shape == (4, 2)      # identical seeds
    n, L = allocation.allocation_curve(Ns, ts, [x[0] for x in Ls], C)      # one seed = the mean here
    np.testing.assert_allclose(n[np.isfinite(f.n_opt)], f.n_opt[np.isfinite(f.n_opt)])
    assert allocation.window_exponents(C, n, L, f.window)[0] == pytest.approx(f.width_exponent)
    assert Ns.size == 19


def test_vertex_between_grid_points():
    """The parabola vertex recovers an optimum that lies between two grid widths."""
    Ns = np.array([10.0, 20.0, 40.0, 80.0])
    logN = np.log(Ns)
    S = ((logN - np.log(27.0)) ** 2)[:, None]                    # one compute value
    v = allocation._vertex(logN, S)
    assert np.exp(v[0, 0]) == pytest.approx(27.0)


def test_bad_inputs():
    Ns, ts, Ls = _surfaces(0.5)
    C = np.geomspace(100.0, 1e5, 31)
    with pytest.raises(ValueError, match="Ns"):
        allocation.optimal_allocation(Ns[::-1], ts, Ls, C, t_min=10.0)
    with pytest.raises(ValueError, match="losses"):
        allocation.optimal_allocation(Ns, ts, [L[:2] for L in Ls], C, t_min=10.0)      # < 3 seeds
    with pytest.raises(ValueError, match="t_min"):
        allocation.optimal_allocation(Ns, ts, Ls, C, t_min=0.0)
    with pytest.raises(ValueError, match="losses"):
        allocation.optimal_allocation(Ns, ts, Ls, C, t_min=1e9)                         # no window
    f = allocation.optimal_allocation(Ns, ts, Ls, C, t_min=10.0)
    g = allocation.optimal_allocation(Ns, ts, [L[:3] for L in Ls], C, t_min=10.0)
    with pytest.raises(ValueError, match="b"):
        allocation.allocation_difference(f, g)
