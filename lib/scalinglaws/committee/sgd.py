r"""Online SGD for two-layer student--teacher networks, batched over seeds.

Model and conventions: :mod:`scalinglaws.conventions` (the same :class:`~scalinglaws.committee.setup.Setup`
the ODE takes).  Inputs :math:`\xi = \sqrt\lambda\odot z`, :math:`z\sim\mathcal N(0, 1_N)`, with the
per-coordinate variances ``spectrum.diagonal(N)`` (eigen-groups are contiguous blocks).  One step
on a fresh sample (gradient of :math:`\tfrac12(y-\hat y)^2`):

.. math::

    x_i = J_i\cdot\xi/\sqrt N,\quad y_n = B_n\cdot\xi/\sqrt N,\quad
    \hat y = c_s\sum_i g(x_i),\quad y = c_t\sum_n g(y_n) + \sigma\epsilon,

    J_i \leftarrow J_i + \frac{\eta}{\sqrt N} c_s\, g'(x_i)\,(y-\hat y)\,\xi
          - \frac{\eta\kappa}{N} J_i ,

(Saad & Solla 1995 for ``"none"`` outputs and isotropic inputs; Worschech & Rosenow 2024, as
reconstructed in the book's sources appendix, ``chapters/sources_worschech_rosenow.md``, for
:math:`1/\sqrt K` outputs and power-law spectra).  Time :math:`\alpha` = steps/N.

Observables are computed only at the recording times, from the exact current weights: the
group-resolved overlaps :math:`Q^{[l]} = J P_l J^T/N` etc. (:meth:`~scalinglaws.committee.setup.Overlaps.from_weights`), the
physical :math:`Q = \sum_l\lambda_l Q^{[l]}` and the closed-form population error
:math:`\varepsilon_g = \tfrac12 E[(y_0-\hat y)^2]` (:meth:`~scalinglaws.committee.setup.Setup.eps_g`); optionally a Monte-Carlo
test error on fresh samples.

Randomness.  Seed ``s`` owns ``np.random.SeedSequence(s).spawn(3)`` = (initialisation, training
inputs, Monte-Carlo test inputs).  Training inputs are drawn in blocks of ``block`` samples
(``z`` block of shape (block, N), then, if :math:`\sigma>0`, the (block,) label noise), so a seed's
trajectory depends only on ``(s, block)`` -- not on which other seeds run with it, on the
recording times or on the code path.  A batch of S seeds therefore equals the same seeds run one
by one (bit-identical for the NumPy path, to round-off for the compiled path).

Two code paths give the same dynamics:

* ``method="numpy"`` -- reference: all S seeds advance together, one vectorised step of shape
  (S, K, N) per sample (teacher outputs precomputed per block with one batched matmul);
* ``method="numba"`` -- compiled per-seed loop over the samples of a block; seeds run in parallel
  threads (NumPy's generators and the compiled kernel release the GIL).  Default when numba is
  importable.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from scalinglaws.numerics.gaussian import Erf, Linear
from scalinglaws.errors import (DEFAULT_MAX_MEMORY, DEFAULT_MAX_STEPS, DIVERGENCE_LIMIT, DivergenceError,
                     ParameterTypeError, check_array, check_bool, check_choice, check_cost,
                     check_int, check_real, diverged, divergence_message, require)
from scalinglaws.committee.setup import Overlaps, Setup, draw_weights, trajectory
from scalinglaws.result import Curve
from scalinglaws.progress import progress

__all__ = ["simulate", "initial_weights", "realise_overlaps", "seed_streams", "record_steps",
           "memory_estimate", "HAVE_NUMBA"]

try:  # optional compiled fast path
    import numba as _numba

    HAVE_NUMBA = True
except Exception:  # pragma: no cover - numba missing
    _numba = None
    HAVE_NUMBA = False

_ACT_CODES = {Erf: 0, Linear: 1}


# ----------------------------------------------------------------------------------------------
# random streams and initial weights
# ----------------------------------------------------------------------------------------------
def seed_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    """The three independent generators of one seed: (initialisation, training data, test data).

    ``np.random.SeedSequence(seed).spawn(3)``, each wrapped in ``np.random.default_rng`` (PCG64).
    """
    seed = check_int("seed", seed, 0)
    return tuple(np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(3))


def realise_overlaps(init: Overlaps, spectrum, N: int, rng: np.random.Generator | int = 0
                     ) -> tuple[np.ndarray, np.ndarray]:
    r"""Weights J (K, N), B (M, N) whose group overlaps equal ``init`` exactly (to round-off).

    For each eigen-group l (the contiguous block of :math:`n_l = f_l N` coordinates of
    ``spectrum.group_sizes(N)``) the stacked weights restricted to the block are
    :math:`W_l = \sqrt N\, F_l O_l^T`, with :math:`F_l` a factor of the group block
    :math:`G^{[l]} = F_l F_l^T` (Cholesky; eigen-decomposition if :math:`G^{[l]}` is only positive
    semi-definite) and :math:`O_l` an :math:`n_l\times(K+M)` matrix of random orthonormal columns
    (QR of a Gaussian matrix drawn from ``rng``), so :math:`W_l W_l^T/N = G^{[l]}`.
    Requires :math:`n_l \ge K+M`.

    This is the classic way to start SGD from given order parameters (e.g. Saad--Solla's
    :math:`Q_0 = \mathrm{diag}(.5,.5)`, :math:`R_0 = [[1.01, .99],[.99, 1.01]]\cdot 10^{-3}`,
    :math:`T = 1`), so that ODE and SGD start alike.  Use :meth:`~scalinglaws.committee.setup.Overlaps.from_physical` to turn
    physical overlaps into group overlaps.
    """
    require(isinstance(init, Overlaps), "init", type(init).__name__, "a scalinglaws Overlaps")
    require(init.L == spectrum.L, "init", f"L={init.L}",
            f"must match the spectrum's L={spectrum.L}")
    sizes = spectrum.group_sizes(N)
    K, M, L = init.K, init.M, init.L
    n = K + M
    require(bool(np.all(sizes >= n)), "N", N,
            f"every eigen-group must hold >= K+M = {n} coordinates to realise given overlaps "
            f"(group sizes {sizes.min()}..{sizes.max()}); with small groups (e.g. L = N) start from "
            f"weights instead: an Overlaps made by Overlaps.random / Overlaps.from_weights carries "
            f"its weights, or pass J0, B0 = draw_weights(setup, N, seed, sigma_J)")
    rng = np.random.default_rng(rng)
    G = init.blocks()
    W = np.empty((n, N))
    start = 0
    for l in range(L):
        Fl = _psd_factor(G[l], f"group block l={l}")
        O, _ = np.linalg.qr(rng.standard_normal((sizes[l], n)))
        W[:, start:start + sizes[l]] = math.sqrt(N) * Fl @ O.T
        start += sizes[l]
    return W[:K].copy(), W[K:].copy()


def _psd_factor(G: np.ndarray, what: str) -> np.ndarray:
    """F with F F^T = G for a symmetric positive semi-definite G."""
    try:
        return np.linalg.cholesky(G)
    except np.linalg.LinAlgError:
        w, V = np.linalg.eigh(G)
        scale = max(1.0, float(np.abs(G).max()))
        require(bool(w.min() > -1e-10 * scale), "init", f"{what} has eigenvalue {w.min():.3g}",
                "positive semi-definite group blocks (realisable by weights)")
        return V * np.sqrt(np.clip(w, 0.0, None))


def initial_weights(setup: Setup, N: int, seeds, *, init: Overlaps | None = None,
                    sigma_J: float = 1.0, teacher: str = "gaussian", J0=None, B0=None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Initial weights of every seed: J (S, K, N), B (S, M, N).

    Exactly one of three modes:

    * ``J0`` (and optionally ``B0``): given weights, shape (K, N) shared by all seeds or (S, K, N);
      without ``B0`` the teacher is drawn from each seed's initialisation stream
      (:func:`scalinglaws.committee.setup.draw_weights`' convention);
    * ``init``: :func:`realise_overlaps` of the group overlaps with the seed's initialisation
      stream (overlaps identical for all seeds, weights different);
    * otherwise random: :func:`scalinglaws.committee.setup.draw_weights` (student :math:`J_{ik}\\sim
      \\mathcal N(0,\\sigma_J^2)`, then teacher ``"gaussian"`` or ``"orthonormal"``).
    """
    seeds = _check_seeds(seeds)
    S, K, M = len(seeds), setup.K, setup.M
    setup.spectrum.group_sizes(N)
    J = np.empty((S, K, N))
    B = np.empty((S, M, N))
    if J0 is not None:
        require(init is None, "init", "given together with J0", "give either J0/B0 or init")
        J0 = np.asarray(J0, dtype=float)
        require(J0.shape in ((K, N), (S, K, N)), "J0", f"shape {J0.shape}",
                f"shape ({K}, {N}) or ({S}, {K}, {N})")
        require(bool(np.all(np.isfinite(J0))), "J0", "contains NaN/inf", "finite entries")
        J[:] = J0
        if B0 is not None:
            B0 = np.asarray(B0, dtype=float)
            require(B0.shape in ((M, N), (S, M, N)), "B0", f"shape {B0.shape}",
                    f"shape ({M}, {N}) or ({S}, {M}, {N})")
            require(bool(np.all(np.isfinite(B0))), "B0", "contains NaN/inf", "finite entries")
            B[:] = B0
        else:
            for s, seed in enumerate(seeds):
                B[s] = draw_weights(setup, N, seed_streams(seed)[0], 0.0, teacher)[1]
        return J, B
    require(B0 is None, "B0", "given without J0", "give J0 together with B0")
    if init is not None:
        require(isinstance(init, Overlaps), "init", type(init).__name__, "a scalinglaws Overlaps")
        init.validate(setup)
        small = bool(np.any(setup.spectrum.group_sizes(N) < setup.K + setup.M))
        if small and init.weights is not None and init.weights[0].shape == (setup.K, N):
            # groups too small to realise the overlaps afresh (e.g. L = N): every seed starts from
            # the weights the overlaps were computed from (seeds differ in their training streams)
            J[:], B[:] = init.weights
            return J, B
        for s, seed in enumerate(seeds):
            J[s], B[s] = realise_overlaps(init, setup.spectrum, N, seed_streams(seed)[0])
        return J, B
    for s, seed in enumerate(seeds):
        J[s], B[s] = draw_weights(setup, N, seed_streams(seed)[0], sigma_J, teacher)
    return J, B


def _check_seeds(seeds) -> list[int]:
    if isinstance(seeds, (str, bytes, dict, float, bool, np.bool_)):
        raise ParameterTypeError(f"seeds={seeds!r} is invalid: a list of integers >= 0 "
                                 f"(got {type(seeds).__name__})")
    seeds = [seeds] if isinstance(seeds, (int, np.integer)) else list(seeds)
    require(len(seeds) >= 1, "seeds", seeds, "a non-empty list of integers >= 0")
    for i, s in enumerate(seeds):
        check_int(f"seeds[{i}]", s, 0)
    require(len(set(int(s) for s in seeds)) == len(seeds), "seeds", seeds, "distinct integers")
    return [int(s) for s in seeds]


def record_steps(times, N: int) -> np.ndarray:
    """Step numbers at which times ``alpha`` are recorded: ``rint(alpha * N)`` (round half to even).

    Duplicates after rounding (several alphas inside one step) are dropped, so the reported times
    ``steps / N`` are strictly increasing and within ``1/(2N)`` of the requested ones.
    """
    t = np.asarray(times, dtype=float)
    require(t.ndim == 1 and t.size >= 1, "times", f"shape {t.shape}", "a non-empty 1-d array")
    require(bool(np.all(np.isfinite(t)) and np.all(t >= 0)), "times", "negative or NaN entries",
            "finite values >= 0")
    require(bool(np.all(np.diff(t) > 0)), "times", "not increasing", "strictly increasing")
    return np.unique(np.rint(t * N).astype(np.int64))


# ----------------------------------------------------------------------------------------------
# observables
# ----------------------------------------------------------------------------------------------
@dataclass
class _Groups:
    edges: np.ndarray  # (L+1,) coordinate block edges
    lam: np.ndarray    # (L,)

    def overlaps(self, A: np.ndarray, Bm: np.ndarray, N: int) -> np.ndarray:
        """Group blocks of A (..., a, N) with Bm (..., b, N): (..., L, a, b)."""
        prod = A[..., :, None, :] * Bm[..., None, :, :]
        G = np.add.reduceat(prod, self.edges[:-1], axis=-1) / N
        return np.moveaxis(G, -1, -3)


def _eps_g_batch(setup: Setup, C: np.ndarray) -> np.ndarray:
    return np.array([setup.eps_g(c) for c in C.reshape(-1, *C.shape[-2:])]).reshape(C.shape[:-2])


def _stability_message(setup: Setup, alpha: float, what: str) -> str:
    """The shared divergence message (:func:`scalinglaws.errors.divergence_message`)."""
    return divergence_message(setup, alpha, what, "SGD")


def memory_estimate(setup: Setup, N: int, S: int, n_t: int, *, method: str = "numba",
                    block: int = 256, n_jobs: int = 1, mc_samples: int = 0) -> tuple[float, str]:
    """Rough peak memory (bytes) of :func:`simulate` and the size that dominates it (``"N"``,
    ``"n_seeds"``, ``"n_times"``, ``"K"`` or ``"M"``): weights, input blocks (prefetched), the
    (seeds, K, K, N) and (seeds, M, M, N) products of the overlap records, the per-seed records and
    the Monte-Carlo test draws."""
    K, M, L = setup.K, setup.M, setup.L
    par = S if method == "numpy" else max(1, min(S, n_jobs))
    per_n = {"weights": S * (K + M), "blocks": S * block * (3 if method == "numpy" else 2),
             "records": par * K * max(K, M) + S * M * M, "mc": par * mc_samples}
    out = S * n_t * 3 * (K + M) ** 2 + n_t * 2 * L * K * (K + M)
    words = N * sum(per_n.values()) + out
    if out >= N * sum(per_n.values()):
        driver = "n_times"
    elif max(K, M) ** 2 > block + K + M:
        driver = "K" if K >= M else "M"
    else:
        driver = "N" if N >= S else "n_seeds"
    return 8.0 * words, driver


# ----------------------------------------------------------------------------------------------
# compiled kernel
# ----------------------------------------------------------------------------------------------
def _make_kernel():
    nb = _numba

    @nb.njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz", "arcp"})
    def kernel(J, Yt, Xi, noise, start, stop, a, decay, c_s, c_t, sigma, act, x, coef
               ):  # pragma: no cover - jit
        """Advance J (K, N) in place over samples start..stop-1 of the block Xi (block, N), with the
        teacher preactivations Yt (block, M) of the whole block precomputed by one BLAS product
        (:meth:`_Block.refill`), label noise ``noise`` (block,).  a = eta c_s / sqrt(N);
        decay = 1 - eta kappa/N; act 0 = erf, 1 = linear.  The update of sample t is fused with the
        student preactivations of sample t+1 (one pass over J per step).  Returns False if the
        error became non-finite."""
        K, N = J.shape
        M = Yt.shape[1]
        inv_sqrt_n = 1.0 / math.sqrt(N)
        for i in range(K):
            s = 0.0
            for j in range(N):
                s += J[i, j] * Xi[start, j]
            x[i] = s * inv_sqrt_n
        for t in range(start, stop):
            yhat = 0.0
            y = 0.0
            if act == 0:
                for i in range(K):
                    yhat += math.erf(x[i] * 0.7071067811865476)
                for n in range(M):
                    y += math.erf(Yt[t, n] * 0.7071067811865476)
            else:
                for i in range(K):
                    yhat += x[i]
                for n in range(M):
                    y += Yt[t, n]
            err = c_t * y + sigma * noise[t] - c_s * yhat
            if not math.isfinite(err):
                return False
            for i in range(K):
                if act == 0:
                    d = 0.7978845608028654 * math.exp(-0.5 * x[i] * x[i])
                else:
                    d = 1.0
                coef[i] = a * d * err
            if t + 1 < stop:
                for i in range(K):
                    ci = coef[i]
                    s = 0.0
                    for j in range(N):
                        w = decay * J[i, j] + ci * Xi[t, j]
                        J[i, j] = w
                        s += w * Xi[t + 1, j]
                    x[i] = s * inv_sqrt_n
            else:
                for i in range(K):
                    ci = coef[i]
                    for j in range(N):
                        J[i, j] = decay * J[i, j] + ci * Xi[t, j]
        return True

    return kernel


_KERNEL = None


def _kernel():
    global _KERNEL
    if _KERNEL is None:
        _KERNEL = _make_kernel()
    return _KERNEL


# ----------------------------------------------------------------------------------------------
# the simulator
# ----------------------------------------------------------------------------------------------
class _Block:
    """Per-seed buffer of training samples drawn ``size`` at a time from one generator, with the
    teacher preactivations of the whole block (one matrix product, so the compiled loop only runs
    the inherently sequential student updates)."""

    def __init__(self, rng, size, N, sqrt_lam, B, setup):
        self.rng, self.size, self.N = rng, size, N
        self.sqrt_lam, self.B, self.setup = sqrt_lam, B, setup
        self.pos = size  # empty
        self.Xi = self.Y = None
        self.pool = self.future = None

    def prefetch_with(self, pool) -> None:
        """Draw the next block in ``pool`` (a thread) while the current one is used; the draws
        stay sequential on the same generator, so the stream is unchanged."""
        self.pool = pool

    def _draw(self):
        Z = self.rng.standard_normal((self.size, self.N))
        noise = (self.rng.standard_normal(self.size) if self.setup.sigma > 0
                 else np.zeros(self.size))
        Z = Z if self.sqrt_lam is None else Z * self.sqrt_lam
        return Z, noise, Z @ self.B.T / math.sqrt(self.N)       # teacher preactivations (size, M), one GEMM

    def refill(self, labels: bool = True) -> None:
        """Draw the next block: z (size, N), then the label noise (size,) if sigma > 0.  With
        ``labels`` also compute the labels y = c_t sum_n g(y_n) + sigma eps (NumPy path)."""
        s = self.setup
        if self.future is not None:
            self.Xi, self.noise, self.Yt = self.future.result()
        else:
            self.Xi, self.noise, self.Yt = self._draw()
        self.future = self.pool.submit(self._draw) if self.pool is not None else None
        if labels:
            self.Y = s.c_t * s.activation.g(self.Yt).sum(axis=1) + s.sigma * self.noise
        self.pos = 0


def simulate(setup: Setup, N: int, t_max: float | None = None, *, times=None, n_times: int = 100,
             t_min: float = 1e-2, seeds=None, n_seeds: int = 1, seed: int = 0,
             init: Overlaps | None = None, sigma_J: float = 1.0, teacher: str = "gaussian",
             J0=None, B0=None, method: str = "auto", block: int = 256, mc_samples: int = 0,
             n_jobs: int | None = None, keep_seeds: bool = True,
             divergence_limit: float = DIVERGENCE_LIMIT, show_progress: bool = True,
             max_steps: int = DEFAULT_MAX_STEPS, max_memory: float = DEFAULT_MAX_MEMORY
             ) -> Curve:
    r"""Online SGD of S seeds of the ``setup`` at input dimension N, recorded on an alpha grid.

    Parameters
    ----------
    setup : Setup
        K, M, activation, spectrum, conventions, eta, sigma, weight decay (as for the ODE).
    N : int
        Input dimension (every eigen-group size ``f_l N`` must be an integer).
    t_max : float
        Final time alpha = steps/N; with ``n_times``/``t_min`` gives the ODE's grid
        :func:`scalinglaws.committee.ode.log_times` (0 plus ``n_times`` log-spaced points).
    times : array, optional
        Explicit recording times alpha (strictly increasing, >= 0).  Time ``alpha`` is recorded
        after ``rint(alpha N)`` steps (:func:`record_steps`); reported times are ``steps/N``.
    seeds : sequence of int, optional
        Seeds (default ``range(seed, seed + n_seeds)``).  See the module docstring for streams.
    init : Overlaps, optional
        Start from weights that realise these group overlaps exactly (:func:`realise_overlaps`).
    sigma_J, teacher
        Random initialisation (when neither ``init`` nor ``J0``): :func:`~scalinglaws.committee.setup.draw_weights`.
    J0, B0 : arrays, optional
        Given initial weights, (K, N)/(M, N) or per seed (S, K, N)/(S, M, N).
    method : {"auto", "numpy", "numba"}
        Code path (same dynamics).  ``"auto"``: numba when available.
    block : int
        Samples drawn per generator call (part of the stream definition, default 256).
    mc_samples : int
        If > 0, also a Monte-Carlo test error :math:`\tfrac12\langle(y_0-\hat y)^2\rangle` on this
        many fresh samples per record (seed's test stream), stored as the extra ``eps_g_mc``
        (n_t,) with ``eps_g_mc_se`` and ``eps_g_mc_seeds``.
    n_jobs : int, optional
        Threads over seeds for ``"numba"`` (default: number of CPUs).
    keep_seeds : bool
        Keep per-seed arrays (the Curve's ``seeds`` and the extras ``Q_seeds``, ``R_seeds``,
        ``T_seeds``).
    divergence_limit : float
        Raise :class:`~scalinglaws.errors.DivergenceError` when a physical overlap exceeds this (or
        is NaN/inf): the rule the ODE uses too (:func:`scalinglaws.errors.diverged`, default 10^6).
    max_steps : int
        Cost limit: SGD sample updates summed over seeds, ``S * rint(t_max N)``, are refused
        before the run beyond this (default :data:`scalinglaws.errors.DEFAULT_MAX_STEPS` = 10^9);
        raise it explicitly for longer runs.
    max_memory : float
        Memory limit in bytes (default 4 GiB) for the estimate of :func:`memory_estimate`.

    Returns
    -------
    Curve
        ``t`` (steps/N), seed-mean ``eps_g`` (closed form from the exact overlaps), ``eps_g_se``
        (standard error over seeds, NaN for one seed), seed-mean physical ``Q``, ``R``, ``T``,
        ``eps_g_seeds`` (S, n_t), ``groups = {"Q": (n_t, L, K, K), "R": (n_t, L, K, M),
        "T": (L, M, M)}`` (seed means), ``meta``; extra attributes ``init_overlaps`` (seed-mean
        initial group overlaps, an :class:`~scalinglaws.committee.setup.Overlaps`) and ``seeds``.

    Raises
    ------
    ValueError
        Bad parameters (before any work).
    DivergenceError
        Non-finite or runaway weights (typically eta above the stability bound).
    """
    # ---------------- validation (no work before this is done) ----------------
    if not isinstance(setup, Setup):
        raise ParameterTypeError(f"setup must be a scalinglaws.committee.setup.Setup, got "
                                 f"{type(setup).__name__}")
    N = check_int("N", N, 1)
    setup.spectrum.group_sizes(N)
    require(type(setup.activation) in _ACT_CODES, "activation", setup.activation.name,
            "erf or linear")
    check_choice("method", method, ("auto", "numpy", "numba"))
    if method == "numba":
        require(HAVE_NUMBA, "method", method, "'numpy' (numba is not installed)")
    if method == "auto":
        method = "numba" if HAVE_NUMBA else "numpy"
    block = check_int("block", block, 1)
    mc_samples = check_int("mc_samples", mc_samples, 0)
    n_seeds = check_int("n_seeds", n_seeds, 1)
    check_choice("teacher", teacher, ("gaussian", "orthonormal"))
    sigma_J = check_real("sigma_J", sigma_J, 0.0)
    keep_seeds = check_bool("keep_seeds", keep_seeds)
    show_progress = check_bool("show_progress", show_progress)
    divergence_limit = check_real("divergence_limit", divergence_limit, 0.0, lo_open=True)
    max_steps = check_int("max_steps", max_steps, 1)
    max_memory = check_real("max_memory", max_memory, 0.0, lo_open=True, finite=False)
    if n_jobs is None:
        n_jobs = os.cpu_count() or 1
    n_jobs = check_int("n_jobs", n_jobs, 1)
    if seeds is None:
        seed = check_int("seed", seed, 0)
        S = n_seeds
    else:
        if isinstance(seeds, (str, bytes, dict, float)) or isinstance(seeds, (bool, np.bool_)):
            raise ParameterTypeError(f"seeds={seeds!r} is invalid: a list of integers >= 0 "
                                     f"(got {type(seeds).__name__})")
        if not isinstance(seeds, (int, np.integer)) and not hasattr(seeds, "__len__"):
            seeds = list(seeds)
        S = 1 if isinstance(seeds, (int, np.integer)) else len(seeds)
    if times is None:
        require(t_max is not None, "t_max", t_max, "give t_max or times")
        t_max = check_real("t_max", t_max, 0.0, lo_open=True)
        n_times = check_int("n_times", n_times, 2)
        t_min = check_real("t_min", t_min, 0.0, lo_open=True)
        require(t_min < t_max, "t_max", t_max, f"a number > t_min={t_min:g} (the first nonzero "
                "output time of the log-spaced grid); lower t_min or give explicit times")
        n_t, t_last, cost_name, cost_value = n_times + 1, t_max, "t_max", t_max
    else:
        times = check_array("times", times, finite=False)
        require(times.ndim == 1 and times.size >= 1, "times", f"shape {times.shape}",
                "a non-empty 1-d array")
        require(t_max is None or abs(t_max - float(times[-1])) <= 1e-12 * max(1.0, abs(t_max)),
                "t_max", t_max, f"give either t_max or times, not both (times end at "
                f"{float(times[-1]):.6g})")
        n_t, t_last = times.size, float(times[-1])
        cost_name, cost_value = "times", f"... {t_last:.6g}"
    if np.isfinite(t_last):
        # name the largest of the three factors (seeds, t_max, N) as the one to reduce
        if S >= max(N, t_last):
            cost_name, cost_value = ("n_seeds", S) if seeds is None else ("seeds", f"<{S} seeds>")
        elif N > t_last:
            cost_name, cost_value = "N", N
        check_cost(cost_name, cost_value, S * t_last * N, max_steps,
                   what=f"SGD sample updates (seeds x t_max x N = {S} x {t_last:.4g} x {N})",
                   limit_name="max_steps", cli_option="--max-steps")
        mem, driver = memory_estimate(setup, N, S, n_t, method=method, block=block,
                                      n_jobs=n_jobs, mc_samples=mc_samples)
        drv_value = {"N": N, "n_seeds": S, "n_times": n_t - 1, "K": setup.K, "M": setup.M}[driver]
        check_cost(driver, drv_value, mem, max_memory,
                   what=f"of memory (N={N}, seeds={S}, K={setup.K}, M={setup.M}, L={setup.L}, "
                   f"{n_t} record times)", limit_name="max_memory", cli_option="--max-memory",
                   memory=True)
    if times is None:
        from scalinglaws.committee.ode import log_times
        times = log_times(float(t_max), n=n_times, t_min=t_min)
    steps = record_steps(times, N)
    if seeds is None:
        seeds = list(range(seed, seed + n_seeds))
    seeds = _check_seeds(seeds)
    J, B = initial_weights(setup, N, seeds, init=init, sigma_J=sigma_J, teacher=teacher,
                           J0=J0, B0=B0)

    # ---------------- run ----------------
    S = len(seeds)
    lam_diag = setup.spectrum.diagonal(N)
    sqrt_lam = None if np.all(lam_diag == 1.0) else np.sqrt(lam_diag)
    sizes = setup.spectrum.group_sizes(N)
    grp = _Groups(np.concatenate([[0], np.cumsum(sizes)]), setup.spectrum.eigenvalues)
    streams = [seed_streams(s) for s in seeds]
    bufs = [_Block(st[1], int(block), N, sqrt_lam, B[s], setup) for s, st in enumerate(streams)]
    n_t = len(steps)
    K, M, L = setup.K, setup.M, setup.L
    lam = grp.lam
    Qs = np.empty((S, n_t, K, K))                 # per-seed physical overlaps
    Rs = np.empty((S, n_t, K, M))
    Qg_sum = np.zeros((n_t, L, K, K))             # seed sums of the group overlaps
    Rg_sum = np.zeros((n_t, L, K, M))
    lock = threading.Lock()
    Tg = grp.overlaps(B, B, N)                                         # (S, L, M, M)
    mc = np.full((S, n_t), np.nan) if mc_samples else None

    def record(k, idx, Jr):
        """Record seeds ``idx`` (weights Jr (len(idx), K, N)) at record index k."""
        Qgk = grp.overlaps(Jr, Jr, N)
        Rgk = grp.overlaps(Jr, B[idx], N)
        Qs[idx, k] = np.einsum("l,slik->sik", lam, Qgk)
        Rs[idx, k] = np.einsum("l,slin->sin", lam, Rgk)
        if diverged(Qs[idx, k], divergence_limit):
            raise DivergenceError(_stability_message(
                setup, steps[k] / N, f"a physical overlap |Q| > {divergence_limit:g} or non-finite"))
        with lock:
            Qg_sum[k] += Qgk.sum(axis=0)
            Rg_sum[k] += Rgk.sum(axis=0)
        if mc is not None:
            for a, s in enumerate(idx):
                mc[s, k] = _mc_error(setup, Jr[a], B[s], streams[s][2], mc_samples, sqrt_lam)

    a = setup.eta * setup.c_s / math.sqrt(N)
    decay = 1.0 - setup.eta * setup.weight_decay / N
    n_steps = int(steps[-1])
    Q0g = grp.overlaps(J, J, N).mean(axis=0)
    R0g = grp.overlaps(J, B, N).mean(axis=0)
    bar = progress(total=n_steps * S, desc=f"SGD N={N} S={S}", unit="step",
                   **({} if show_progress else {"disable": True}))
    try:
        if method == "numpy":
            _run_numpy(J, bufs, steps, record, setup, a, decay, N, bar)
        else:
            _run_numba(J, bufs, steps, record, setup, a, decay, N, bar, n_jobs)
    finally:
        bar.close()

    # ---------------- assemble ----------------
    Ts = np.einsum("l,slnm->snm", lam, Tg)
    top = np.concatenate([Qs, Rs], axis=3)
    bot = np.concatenate([np.swapaxes(Rs, 2, 3), np.broadcast_to(Ts[:, None], (S, n_t, M, M))],
                         axis=3)
    eps_seeds = _eps_g_batch(setup, np.concatenate([top, bot], axis=2))   # (S, n_t)
    se = (eps_seeds.std(axis=0, ddof=1) / math.sqrt(S)) if S > 1 else np.full(n_t, np.nan)
    meta = dict(setup.describe(), method=f"sgd-{method}", source="sgd", N=N, n_seeds=S,
                seeds=_seeds_label(seeds), block=int(block))
    extras = dict(seed_list=list(seeds), steps=steps, init_overlaps=Overlaps(Q0g, R0g, Tg.mean(axis=0)))
    if keep_seeds:
        extras.update(Q_seeds=Qs, R_seeds=Rs, T_seeds=Ts)
    if mc is not None:
        extras.update(eps_g_mc=mc.mean(axis=0),
                      eps_g_mc_se=(mc.std(axis=0, ddof=1) / math.sqrt(S) if S > 1 else np.full(n_t, np.nan)),
                      eps_g_mc_seeds=mc)
    traj = trajectory(steps / N, eps_seeds.mean(axis=0), Qs.mean(axis=0), Rs.mean(axis=0),
                      Ts.mean(axis=0), eps_g_se=se,
                      eps_g_seeds=eps_seeds if keep_seeds else None,
                      groups={"Q": Qg_sum / S, "R": Rg_sum / S, "T": Tg.mean(axis=0)},
                      meta=dict(meta, time_per_step=setup.eta / N), **extras)
    return traj


def _seeds_label(seeds) -> str:
    if len(seeds) > 1 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}..{seeds[-1]}"
    return " ".join(str(s) for s in seeds)


def _mc_error(setup, J, B, rng, n, sqrt_lam) -> float:
    N = J.shape[1]
    Z = rng.standard_normal((n, N))
    Xi = Z if sqrt_lam is None else Z * sqrt_lam
    g = setup.activation.g
    y0 = setup.c_t * g(Xi @ B.T / math.sqrt(N)).sum(axis=1)
    yh = setup.c_s * g(Xi @ J.T / math.sqrt(N)).sum(axis=1)
    return float(0.5 * np.mean((y0 - yh) ** 2))


def _segments(steps):
    """(record index, steps to advance before recording it)."""
    prev = 0
    for k, s in enumerate(steps):
        yield k, int(s) - prev
        prev = int(s)


def _run_numpy(J, bufs, steps, record, setup, a, decay, N, bar) -> None:
    """Reference path: all seeds together, one vectorised (S, K, N) step per sample."""
    S = J.shape[0]
    idx = np.arange(S)
    g, dg, c_s = setup.activation.g, setup.activation.dg, setup.c_s
    inv = 1.0 / math.sqrt(N)
    pos = bufs[0].pos
    for k, n in _segments(steps):
        while n > 0:
            if pos >= bufs[0].size:
                for b in bufs:
                    b.refill()
                Xi = np.stack([b.Xi for b in bufs])        # (S, block, N)
                Y = np.stack([b.Y for b in bufs])          # (S, block)
                pos = 0
            m = min(n, bufs[0].size - pos)
            for t in range(pos, pos + m):
                xi = Xi[:, t, :]                           # (S, N)
                x = np.matmul(J, xi[:, :, None])[:, :, 0] * inv
                err = Y[:, t] - c_s * g(x).sum(axis=1)
                coef = a * dg(x) * err[:, None]            # (S, K)
                if decay != 1.0:
                    J *= decay
                J += coef[:, :, None] * xi[:, None, :]
            if not np.all(np.isfinite(J)):
                raise DivergenceError(_stability_message(setup, (int(steps[k]) - n + m) / N,
                                                         "non-finite weights"))
            pos += m
            n -= m
            bar.update(m * S)
        record(k, idx, J)


def _run_numba(J, bufs, steps, record, setup, a, decay, N, bar, n_jobs) -> None:
    """Compiled path: each seed runs its own loop; seeds in parallel threads."""
    kern = _kernel()
    act = _ACT_CODES[type(setup.activation)]
    c_s, c_t, sigma = setup.c_s, setup.c_t, setup.sigma
    S, K = J.shape[:2]

    def run_seed(s):
        b = bufs[s]
        Js = J[s]
        x = np.empty(K)
        coef = np.empty(K)
        for k, n in _segments(steps):
            while n > 0:
                if b.pos >= b.size:
                    b.refill(labels=False)
                m = min(n, b.size - b.pos)
                ok = kern(Js, b.Yt, b.Xi, b.noise, b.pos, b.pos + m, a, decay, c_s, c_t, sigma, act,
                          x, coef)
                if not ok or not np.all(np.isfinite(x)):
                    raise DivergenceError(_stability_message(setup, (int(steps[k]) - n + m) / N,
                                                             "non-finite preactivations"))
                b.pos += m
                n -= m
                bar.update(m)
            record(k, [s], Js[None])

    par = min(n_jobs, S)                 # seeds advanced concurrently
    pool = None
    if n_jobs >= 2 * par:                # spare cores: draw the next input block concurrently
        pool = ThreadPoolExecutor(max_workers=par)
        for b in bufs:
            b.prefetch_with(pool)
    try:
        if par == 1:
            for s in range(S):
                run_seed(s)
        else:
            with ThreadPoolExecutor(max_workers=par) as ex:
                for f in [ex.submit(run_seed, s) for s in range(S)]:
                    f.result()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
