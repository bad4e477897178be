"""The additive Hermite multi-index model: Hermite polynomials, the teacher, the closed-form
population loss and gradient, initialisation, and the checks and helpers shared by the
gradient-based runs (conventions: the package docstring of :mod:`scalinglaws.emergence`; the runs
return :class:`scalinglaws.result.Curve`, built by the private ``_run_curve``)."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import zeta

from scalinglaws.errors import ParameterTypeError, check_array, check_bool, check_int, check_real, is_int, require
from scalinglaws.result import Curve


__all__ = ['hermite', 'hermite_deriv', 'tail_loss', 'spherical_init', 'population_loss_from_overlaps', 'population_loss', 'population_grad', 'monte_carlo_loss']

# ----------------------------------------------------------------------------------------------
# Hermite polynomials and teacher
# ----------------------------------------------------------------------------------------------
def _check_k(k: int, even: bool = True) -> int:
    """Information exponent: an integer (``4.0``, ``True`` raise ParameterTypeError) in [2, 12],
    even unless ``even=False``.  The closed-form loss and gradient (and so every driver) need even
    k: they use the integer power q = k // 2 - 1 of the norms for n_j^(k/2 - 1), which is wrong for
    odd k (population_loss(k=3) disagreed with Monte Carlo before this check)."""
    allowed = ("an even integer in [2, 12] (information exponent of h_k)" if even else
               "an integer in [2, 12] (information exponent of h_k)")
    if not is_int(k):
        raise ParameterTypeError(f"k={k!r} is invalid: {allowed} (got {type(k).__name__})")
    require(2 <= int(k) <= 12 and (not even or k % 2 == 0), "k", k, allowed)
    return int(k)


_A_ALLOWED = ("positive teacher coefficients a_p > 0 (the student sum_j ||v_j||^2 h_k(<v_j, x>/"
              "||v_j||) with even k has non-negative projections v_jp^k onto h_k(x_p), so a_p <= 0 "
              "cannot be learned; the model does not need sum_p a_p^2 = 1, "
              "scalinglaws.spectra.power_law_amplitudes(P, beta) gives the normalised power law)")


def _check_teacher(a, d: int | None = None, positive: bool = True) -> np.ndarray:
    """Teacher coefficients: a non-empty finite 1-d array (``len(a) <= d`` when ``d`` is given),
    positive unless ``positive=False``."""
    a = check_array("a", a, ndim=1, min_size=1)
    if d is not None:
        require(len(a) <= d, "a", a.shape, f"a 1-d array with 1 <= len(a) <= d={d}")
    if positive:
        bad = np.flatnonzero(~(a > 0))
        if bad.size:
            require(False, f"a[{int(bad[0])}]", float(a[bad[0]]), _A_ALLOWED)
    return a


def _check_weights(V, name: str = "V", shape: tuple | None = None) -> np.ndarray:
    """Student weights: a finite 2-d array (of ``shape`` when given) whose rows are all nonzero
    (the student uses the direction v_j/||v_j||)."""
    V = check_array(name, V, ndim=2, shape=shape)
    require(V.shape[0] >= 1 and V.shape[1] >= 1, name, f"shape {V.shape}", "at least one neuron")
    zero = np.flatnonzero(~(np.sum(V * V, axis=1) > 0))
    if zero.size:
        require(False, f"{name}[{int(zero[0])}]", "zero row", "every neuron nonzero (the student "
                "uses the direction v_j/||v_j||, undefined for v_j = 0)")
    return V


def _check_seeds(seeds) -> list[int]:
    if isinstance(seeds, (str, bytes, float)):
        check_int("seeds", seeds)                # ParameterTypeError naming seeds
    seeds = list(np.atleast_1d(seeds)) if not isinstance(seeds, (list, tuple)) else list(seeds)
    require(len(seeds) >= 1, "seeds", seeds, "a non-empty list of integer seeds >= 0")
    return [check_int(f"seeds[{i}]", int(s) if is_int(s) else s, 0) for i, s in enumerate(seeds)]


def _check_widths(widths, name: str = "widths", min_count: int = 1,
                  distinct: bool = False) -> list[int]:
    """Network widths: a list (or 1-d array) of at least ``min_count`` integers >= 1 (``2.0``,
    ``True``, ``"8"`` raise ParameterTypeError), pairwise different when ``distinct``."""
    if isinstance(widths, (str, bytes, dict)) or widths is None:
        raise ParameterTypeError(f"{name}={widths!r} is invalid: a list of integers >= 1 "
                                 f"(got {type(widths).__name__})")
    ws = list(widths) if isinstance(widths, (list, tuple)) else np.atleast_1d(widths).tolist()
    out = [check_int(f"{name}[{i}]", w, 1) for i, w in enumerate(ws)]
    what = "distinct integers >= 1" if distinct else "integers >= 1"
    require(len(out) >= min_count, name, widths, f"a list of at least {min_count} {what}"
            if min_count > 1 else f"a non-empty list of {what}")
    if distinct:
        require(len(set(out)) == len(out), name, widths, f"a list of {what} (no repeats)")
    return out


def _check_positive_times(name: str, T, *, allow_inf: bool = True) -> np.ndarray:
    """Predicted times: a 1-d array of numbers > 0 (``inf``, a pair that never emerges, allowed
    when ``allow_inf``; NaN never)."""
    T = check_array(name, T, ndim=1, finite=False)
    ok = (T > 0) if allow_inf else (T > 0) & np.isfinite(T)
    bad = np.flatnonzero(~ok)
    if bad.size:
        require(False, f"{name}[{int(bad[0])}]", float(T[bad[0]]),
                "times > 0" + (" (inf allowed: a pair that never emerges)" if allow_inf else "")
                + "; NaN means no predicted time (k = 2 runs have none)")
    return T


def hermite(k: int, z):
    """Normalised probabilists' Hermite polynomial ``h_k(z) = He_k(z)/sqrt(k!)`` (E[h_k^2] = 1)."""
    check_int("k", k, 0, 20)
    z = np.asarray(z, dtype=float)
    h0, h1 = np.ones_like(z), z
    if k == 0:
        return h0
    for n in range(1, k):  # He_{n+1} = z He_n - n He_{n-1}
        h0, h1 = h1, z * h1 - n * h0
    return h1 / math.sqrt(math.factorial(k))


def hermite_deriv(k: int, z):
    """Derivative of :func:`hermite`: ``h_k' = sqrt(k) h_{k-1}``."""
    check_int("k", k, 1, 20)
    return math.sqrt(k) * hermite(k - 1, z)



def tail_loss(P: int, beta: float) -> float:
    """Loss carried by the directions ``p > P`` of the infinite-``P`` teacher, in units of the
    ``P``-direction normalisation: ``sum_{p>P} p^{-2 beta} / sum_{p<=P} p^{-2 beta}`` (Hurwitz zeta).

    Adding it to a finite-``P`` loss curve gives (up to a constant factor) the loss of the teacher
    with ``P = infinity`` while directions beyond ``P`` are not yet learned (finite-P correction,
    the book's sources appendix, chapters/sources_ren_nichani_wu_lee.md).  Requires ``beta > 1/2``.
    """
    check_int("P", P, 1)
    check_real("beta", beta)
    require(beta > 0.5, "beta", beta, "a number > 1/2 (summable tail)")
    s = 2.0 * beta
    head = float(np.sum(np.arange(1, P + 1, dtype=float) ** (-s)))
    return float(zeta(s, P + 1)) / head


def spherical_init(m: int, d: int, sigma0: float, rng: np.random.Generator) -> np.ndarray:
    """``m`` rows drawn uniformly on the sphere of radius ``sigma0`` in ``R^d`` (paper sec. 2)."""
    check_int("m", m, 1)
    check_int("d", d, 2)
    check_real("sigma0", sigma0)
    require(0 < sigma0 <= 1, "sigma0", sigma0, "a number in (0, 1]")
    if not isinstance(rng, np.random.Generator):
        raise ParameterTypeError(f"rng={rng!r} is invalid: a numpy.random.Generator "
                                 f"(got {type(rng).__name__})")
    g = rng.standard_normal((m, d))
    return sigma0 * g / np.linalg.norm(g, axis=1, keepdims=True)


# ----------------------------------------------------------------------------------------------
# Closed-form population loss and its gradient
# ----------------------------------------------------------------------------------------------
def population_loss_from_overlaps(C: np.ndarray, G: np.ndarray, a: np.ndarray, k: int) -> float:
    """Closed-form population MSE ``E[(f - f*)^2]`` (module docstring; Ren et al. 2025 eq. 4)
    from the teacher overlaps ``C = V[:, :P]`` (``m x P``) and the Gram matrix ``G = V V^T``."""
    n = np.diag(G).copy()
    q = k // 2 - 1
    w = n ** (-q)
    Ck = C ** k
    cross = float(np.sum((Ck @ a) * w))
    self_ = float(w @ (G ** k) @ w)
    return float(np.sum(a * a) - 2.0 * cross + self_)


def population_loss(V: np.ndarray, a: np.ndarray, k: int = 4) -> float:
    """Closed-form population MSE of the student ``V`` (``m x d``, finite, nonzero rows) against
    the teacher with directions ``e_1..e_P`` and coefficients ``a`` (``P = len(a) <= d``); no 1/2.
    Even ``k`` only (see ``_check_k``)."""
    V = _check_weights(V)
    a = _check_teacher(a, V.shape[1], positive=False)
    _check_k(k)
    return population_loss_from_overlaps(V[:, :len(a)], V @ V.T, a, k)


def _ipow(x: np.ndarray, n: int) -> np.ndarray:
    """``x**n`` for a small integer ``n >= 1`` by repeated multiplication (much faster than pow)."""
    out = x.copy()
    for _ in range(n - 1):
        out *= x
    return out


def _forces(C: np.ndarray, G: np.ndarray, a: np.ndarray, k: int):
    """Pieces of the gradient of L/2: returns ``(D, gamma, H)`` (module docstring)."""
    n = np.diag(G).copy()
    q = k // 2 - 1
    w = n ** (-q) if q else np.ones_like(n)
    Ckm1 = _ipow(C, k - 1)
    D = Ckm1 * a * w[:, None]
    Gkm1 = _ipow(G, k - 1)
    H = Gkm1 * np.outer(w, w)
    if q:
        cross = np.sum(Ckm1 * C * a, axis=1)
        self_ = (Gkm1 * G) @ w
        gamma = 2.0 * q * w / n * (cross - self_)
    else:
        gamma = np.zeros_like(n)
    return D, gamma, H


def population_grad(V: np.ndarray, a: np.ndarray, k: int = 4) -> np.ndarray:
    """Gradient of ``L/2`` (half the closed-form population MSE) with respect to ``V`` (``m x d``)."""
    V = _check_weights(V)
    a = _check_teacher(a, V.shape[1], positive=False)
    _check_k(k)
    P = len(a)
    D, gamma, H = _forces(V[:, :P], V @ V.T, a, k)
    g = gamma[:, None] * V + k * (H @ V)
    g[:, :P] -= k * D
    return g


def monte_carlo_loss(V: np.ndarray, a: np.ndarray, k: int, n: int, rng: np.random.Generator,
                     chunk: int = 20000) -> tuple[float, float]:
    """Monte Carlo estimate of ``E[(f - f*)^2]`` and its standard error from ``n`` fresh samples
    (independent check of the closed form)."""
    V = np.asarray(V, dtype=float)
    m, d = V.shape
    P = len(a)
    nrm2 = np.sum(V * V, axis=1)
    Vb = V / np.sqrt(nrm2)[:, None]
    s = s2 = 0.0
    done = 0
    while done < n:
        b = min(chunk, n - done)
        X = rng.standard_normal((b, d))
        f = hermite(k, X @ Vb.T) @ nrm2
        fs = hermite(k, X[:, :P]) @ a
        e = (f - fs) ** 2
        s += e.sum()
        s2 += (e * e).sum()
        done += b
    mean = s / n
    var = s2 / n - mean ** 2
    return float(mean), float(np.sqrt(max(var, 0.0) / n))


# ----------------------------------------------------------------------------------------------
# The result of a gradient-based run
# ----------------------------------------------------------------------------------------------
def _run_curve(t, loss, pair_overlap, norms, students, teachers, u0, T_pred, t_emerge, t_emerge_dir,
               final_overlaps, *, method: str, eta: float, level: float, **meta) -> Curve:
    """The :class:`~scalinglaws.result.Curve` of one population-GD or online-SGD run (the package
    docstring of :mod:`scalinglaws.emergence` lists its fields and extras).  ``final_overlaps``:
    squared cosines ``(m, P)`` of every neuron with every teacher direction at the end of the run."""
    extras = dict(pair_overlap=pair_overlap, norms=norms, students=students, teachers=teachers,
                  u0=u0, T_pred=T_pred, t_emerge=t_emerge, t_emerge_dir=t_emerge_dir,
                  final_best_teacher=np.argmax(final_overlaps, axis=1),
                  final_best_overlap=np.max(final_overlaps, axis=1))
    return Curve(t=t, loss=loss, t_unit="steps", loss_factor=1.0,
                 meta=dict(family="emergence", method=method, eta=eta, level=level, **meta),
                 extras=extras, series=("pair_overlap", "norms"))


def _log_grid(steps: int, n: int) -> np.ndarray:
    g = np.unique(np.round(np.logspace(0, np.log10(max(steps, 1)), n)).astype(np.int64))
    return np.concatenate([[0], g[g <= steps]])


def _check_gd_args(m, d, a, k, eta, steps, level=None, eta_max=1.0) -> np.ndarray:
    """Validate the arguments shared by the GD and SGD drivers (``level`` only when given);
    return ``a`` as float array."""
    check_int("m", m, 1)
    check_int("d", d, 2)
    a = _check_teacher(a, d)
    _check_k(k)
    check_real("eta", eta)
    require(0 < eta <= eta_max, "eta", eta, f"a number in (0, {eta_max:g}]")
    check_int("steps", steps, 1)
    if level is not None:
        check_real("level", level)
        require(0 < level < 1, "level", level, "a number in (0, 1) (squared cosine that counts "
                "as emerged)")
    return a


def _check_run_args(seed=0, sigma0=1e-3, n_record=1, show_progress=True, reduced=False) -> None:
    """Seed, initial scale, number of checkpoints and flags shared by the drivers."""
    check_int("seed", seed, 0)
    check_real("sigma0", sigma0)
    require(0 < sigma0 <= 1, "sigma0", sigma0, "a number in (0, 1]")
    check_int("n_record", n_record, 1)
    check_bool("show_progress", show_progress)
    check_bool("reduced", reduced)


def _divergence_limit(a: np.ndarray) -> float:
    """Loss above which population GD counts as diverged: 1e3 times the initial loss scale
    max(1, sum_p a_p^2) (= 1e3 for the normalised teacher)."""
    return 1e3 * max(1.0, float(np.sum(a * a)))
