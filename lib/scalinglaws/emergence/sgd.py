"""Online SGD of the emergence model (batch 1, fresh samples; numba kernels with a NumPy fallback)."""

from __future__ import annotations

import math

import numpy as np

from scalinglaws.errors import DivergenceError, check_int, require
from scalinglaws.progress import progress

try:  # numba is optional: it speeds up online SGD by ~50x but is not required
    import numba as _numba
except Exception:  # pragma: no cover
    _numba = None
from scalinglaws.emergence.model import _check_gd_args, _check_run_args, _log_grid, _run_curve, hermite, hermite_deriv, population_loss_from_overlaps, spherical_init
from scalinglaws.emergence.transitions import greedy_pairing, transition_time
from scalinglaws.result import Curve

__all__ = ['online_sgd']

# ----------------------------------------------------------------------------------------------
# Online SGD (batch 1, fresh samples)
# ----------------------------------------------------------------------------------------------
def _sgd_chunk_py(V, X, a, k, eta, st, te, level, t0, prev, temerge):  # pragma: no cover - fallback
    S, m, d = V.shape
    P = a.shape[0]
    for i in range(X.shape[0]):
        x = X[i]
        fs = np.dot(a, hermite(k, x[:P]))
        for g in range(S):
            W = V[g]
            nrm2 = np.sum(W * W, axis=1)
            nrm = np.sqrt(nrm2)
            z = (W @ x) / nrm
            hz = hermite(k, z)
            dz = hermite_deriv(k, z)
            r = np.dot(nrm2, hz) - fs
            W -= eta * ((r * (2.0 * hz - dz * z))[:, None] * W + (r * dz * nrm)[:, None] * x[None, :])
            nn = np.sum(W * W, axis=1)
            pos = (W[st[g], te[g]] ** 2 / nn[st[g]], np.max(W[:, te[g]] ** 2 / nn[:, None], axis=0))
            for lev in range(2):
                po = pos[lev]
                for j in range(st.shape[1]):
                    if np.isnan(temerge[g, lev, j]) and po[j] >= level:
                        temerge[g, lev, j] = t0 + i + (level - prev[g, lev, j]) / (po[j] - prev[g, lev, j])
                    prev[g, lev, j] = po[j]
            if not np.isfinite(r) or abs(r) > 1e6:
                return r
    return 0.0


def _make_numba_helpers():
    """Compiled pieces shared by the two online-SGD kernels: the probabilists' Hermite recursion
    and the per-step emergence bookkeeping (pair and direction levels)."""
    nb = _numba
    # fast-math without 'nnan'/'ninf': the NaN sentinels and the divergence test must survive
    fm = {"reassoc", "contract", "arcp", "nsz"}

    @nb.njit(cache=True, fastmath=fm)
    def herm(k, z):
        h0 = 1.0
        h1 = z
        for n in range(1, k):
            h0, h1 = h1, z * h1 - n * h0
        return h1, h0  # He_k, He_{k-1}

    @nb.njit(cache=True, fastmath=fm)
    def norms_k(k):
        """sqrt(k!), sqrt((k-1)!), sqrt(k): the normalisations of h_k = He_k / sqrt(k!) and of
        h_k' = sqrt(k) h_{k-1}."""
        nk = 1.0
        for i in range(2, k + 1):
            nk *= i
        return np.sqrt(nk), np.sqrt(nk / k), np.sqrt(k)

    @nb.njit(cache=True, fastmath=fm)
    def teacher_value(a, xp, k, sk):
        """f*(x) = sum_p a_p h_k(x_p) from the teacher coordinates xp of one sample."""
        fs = 0.0
        for p in range(a.shape[0]):
            hk, _ = herm(k, xp[p])
            fs += a[p] * hk / sk
        return fs

    @nb.njit(cache=True, fastmath=fm)
    def neuron_terms(k, zz, nr, sk, skm1, sqk):
        """For a neuron with norm nr and normalised preactivation zz: h_k(zz) and the two factors of
        its gradient, along the neuron (cv) and along the input (cx)."""
        hk, hkm1 = herm(k, zz)
        h = hk / sk
        dh = sqk * hkm1 / skm1
        return h, 2.0 * h - dh * zz, dh * nr

    @nb.njit(cache=True, fastmath=fm)
    def track(W, norms, stg, teg, level, tb, prevg, temg):
        """Record first crossings of cos^2 >= level: W (m, >=P) teacher coordinates of the
        neurons, norms (m,) squared norms; level 0 = greedy partner, 1 = any neuron."""
        m = W.shape[0]
        for jj in range(stg.shape[0]):
            j = stg[jj]
            c = W[j, teg[jj]]
            po = c * c / norms[j]
            if np.isnan(temg[0, jj]) and po >= level:
                temg[0, jj] = tb + (level - prevg[0, jj]) / (po - prevg[0, jj])
            prevg[0, jj] = po
            pd = 0.0
            for j2 in range(m):
                c = W[j2, teg[jj]]
                pd = max(pd, c * c / norms[j2])
            if np.isnan(temg[1, jj]) and pd >= level:
                temg[1, jj] = tb + (level - prevg[1, jj]) / (pd - prevg[1, jj])
            prevg[1, jj] = pd

    return fm, norms_k, teacher_value, neuron_terms, track


def _make_sgd_kernel():
    if _numba is None:
        return _sgd_chunk_py
    nb = _numba
    fm, norms_k, teacher_value, neuron_terms, track = _make_numba_helpers()

    @nb.njit(cache=True, fastmath=fm)
    def kernel(V, X, a, k, eta, st, te, level, t0, prev, temerge):
        S, m, d = V.shape
        sk, skm1, sqk = norms_k(k)
        nrm2 = np.empty((S, m))
        cv = np.empty(m)
        cx = np.empty(m)
        for g in range(S):
            for j in range(m):
                s = 0.0
                for i in range(d):
                    s += V[g, j, i] * V[g, j, i]
                nrm2[g, j] = s
        for b in range(X.shape[0]):
            fs = teacher_value(a, X[b], k, sk)
            for g in range(S):
                f = 0.0
                for j in range(m):
                    s = 0.0
                    for i in range(d):
                        s += V[g, j, i] * X[b, i]
                    nr = np.sqrt(nrm2[g, j])
                    h, cv[j], cx[j] = neuron_terms(k, s / nr, nr, sk, skm1, sqk)
                    f += nrm2[g, j] * h
                r = f - fs
                if not np.isfinite(r) or abs(r) > 1e6:
                    return r
                for j in range(m):
                    av = 1.0 - eta * r * cv[j]
                    ax = eta * r * cx[j]
                    s = 0.0
                    for i in range(d):
                        v = av * V[g, j, i] - ax * X[b, i]
                        V[g, j, i] = v
                        s += v * v
                    nrm2[g, j] = s
                track(V[g], nrm2[g], st[g], te[g], level, t0 + b, prev[g], temerge[g])
        return 0.0

    return kernel


_SGD_KERNEL = None
_SGD_RED_KERNEL = None


def _make_sgd_reduced_kernel():
    """Exact reduced online SGD (same law as the full-d chain; see :func:`~scalinglaws.emergence.sgd.online_sgd`)."""
    if _numba is None:  # pragma: no cover
        raise RuntimeError("reduced online SGD needs numba")
    nb = _numba
    fm, norms_k, teacher_value, neuron_terms, track = _make_numba_helpers()

    @nb.njit(cache=True, fastmath=fm, parallel=True)
    def kernel(C, G, XP, Z, RHO2, a, k, eta, st, te, level, t0, prev, temerge):
        S, m, P = C.shape
        nsamp = XP.shape[0]
        sk, skm1, sqk = norms_k(k)
        fs_all = np.empty(nsamp)
        for b in range(nsamp):
            fs_all[b] = teacher_value(a, XP[b], k, sk)
        bad = np.zeros(S)
        # the initialisations are independent chains on a shared sample stream: one thread each
        for g in nb.prange(S):
            cv = np.empty(m)
            cx = np.empty(m)
            nn = np.empty(m)
            y = np.empty(m)
            L = np.zeros((m, m))
            for b in range(nsamp):
                # y = V_perp x_perp ~ N(0, G): Cholesky factor of the Gram matrix times z
                ok = True
                for i in range(m):
                    for j in range(i + 1):
                        sm = G[g, i, j]
                        for q in range(j):
                            sm -= L[i, q] * L[j, q]
                        if i == j:
                            if not sm > 0.0:
                                ok = False
                                break
                            L[i, i] = np.sqrt(sm)
                        else:
                            L[i, j] = sm / L[j, j]
                    if not ok:
                        break
                if not ok:
                    bad[g] = np.nan
                    break
                zz2 = RHO2[b]
                for i in range(m):
                    sm = 0.0
                    for q in range(i + 1):
                        sm += L[i, q] * Z[b, q]
                    y[i] = sm
                    zz2 += Z[b, i] * Z[b, i]                 # |x_perp|^2 = |z|^2 + rho^2
                f = 0.0
                for j in range(m):
                    s = y[j]
                    n2 = G[g, j, j]
                    for p in range(P):
                        s += C[g, j, p] * XP[b, p]
                        n2 += C[g, j, p] * C[g, j, p]
                    nr = np.sqrt(n2)
                    h, cv[j], cx[j] = neuron_terms(k, s / nr, nr, sk, skm1, sqk)
                    f += n2 * h
                r = f - fs_all[b]
                if not np.isfinite(r) or abs(r) > 1e6:
                    bad[g] = r
                    break
                # V <- diag(av) V - ax x^T: teacher block directly, Gram matrix of the rest
                # G <- D G D - (D y) ax^T - ax (D y)^T + |x_perp|^2 ax ax^T
                for j in range(m):
                    av = 1.0 - eta * r * cv[j]
                    ax = eta * r * cx[j]
                    for p in range(P):
                        C[g, j, p] = av * C[g, j, p] - ax * XP[b, p]
                    cv[j] = av
                    cx[j] = ax
                    y[j] *= av
                for i in range(m):
                    for j in range(i + 1):
                        v = (cv[i] * cv[j] * G[g, i, j] - y[i] * cx[j] - cx[i] * y[j]
                             + zz2 * cx[i] * cx[j])
                        G[g, i, j] = v
                        G[g, j, i] = v
                for j in range(m):
                    n2 = G[g, j, j]
                    for p in range(P):
                        n2 += C[g, j, p] * C[g, j, p]
                    nn[j] = n2
                track(C[g], nn, st[g], te[g], level, t0 + b, prev[g], temerge[g])
        for g in range(S):
            if bad[g] != 0.0:  # NaN (Cholesky breakdown) compares unequal too
                return bad[g]
        return 0.0

    return kernel


def online_sgd(m: int, d: int, a: np.ndarray, k: int = 4, eta: float = 1e-6, steps: int = 10000,
               sigma0: float = 1e-3, seed: int = 0, n_init: int = 1, n_record: int = 100,
               level: float = 0.5, chunk: int = 4096, reduced: bool = False,
               show_progress: bool = True) -> Curve | list[Curve]:
    """Online SGD, batch 1, one fresh ``x ~ N(0, I_d)`` per step, on the per-sample loss
    ``(f(x) - f*(x))^2 / 2`` (Ren et al. 2025 sec. 2, eq. 3).  Per-sample gradient (our
    derivation)::

        grad_{v_j} = r [ (2 h(z_j) - z_j h'(z_j)) v_j + ||v_j|| h'(z_j) x ],  r = f(x) - f*(x),

    with ``z_j = <v_j, x>/||v_j||``.  ``n_init`` independent initialisations are trained side by
    side on the *same* sample stream (common random numbers: the ``d`` Gaussian draws per step are
    the dominant cost and are shared; each network has its own residual and its own trajectory).
    Samples and initialisations come from ``numpy.random.default_rng(seed)`` (initialisations
    first).  Emergence of the greedy pairs is detected at every step; the population MSE is
    evaluated in closed form at log-spaced checkpoints.

    Returns one :class:`~scalinglaws.result.Curve` (``n_init = 1``) or a list of them, with the
    fields and extras of :func:`~scalinglaws.emergence.gd.population_gd` (package docstring of
    :mod:`scalinglaws.emergence`): ``t`` the recorded steps (``t_unit="steps"``), ``loss`` the
    exact population MSE without 1/2 at those steps (``loss_factor=1``); ``meta`` has
    ``family="emergence"``, ``method="online-sgd"``, ``eta``, ``level``, ``m``, ``d``, ``P``,
    ``k``, ``sigma0``, ``seed`` (of the shared stream), ``init`` (index of the initialisation),
    ``n_init``, ``steps``, ``n_record``, ``chunk``, ``reduced``.

    ``reduced=True`` (needs ``d - P > m`` and numba) runs the *same Markov chain in law* at a cost
    independent of ``d``: the dynamics sees the component ``V_perp`` of ``V`` orthogonal to the
    teacher span only through its Gram matrix ``G = V_perp V_perp^T`` and through
    ``y = V_perp x_perp``.  For a fresh isotropic ``x_perp``, ``y ~ N(0, G)`` and
    ``|x_perp|^2 = |z|^2 + rho^2`` jointly, with ``y = L z``, ``L`` the Cholesky factor of ``G``,
    ``z ~ N(0, I_m)`` and ``rho^2 ~ chi^2_{d-P-m}`` (write ``V_perp = L W`` with orthonormal rows
    ``W``; ``z = W x_perp``; any other factor of ``G`` differs by a rotation of ``z``, which leaves
    the joint law unchanged).  The update ``V <- diag(av) V - ax x^T`` maps
    ``G <- D G D - (D y) ax^T - ax (D y)^T + |x_perp|^2 ax ax^T`` with ``D = diag(av)``.  Per step:
    ``P + m`` Gaussians, one chi-square draw, one ``m x m`` Cholesky factorisation and
    ``O(m (m + P))`` further flops, instead of ``d`` Gaussians and ``O(m d)``.  The initialisations
    run in parallel threads (numba ``prange``) on the shared sample stream.
    Not pathwise identical to the full chain (different random numbers), identical in law; the
    one-step map is checked against the full update in the tests.
    """
    global _SGD_KERNEL
    a = _check_gd_args(m, d, a, k, eta, steps, level, eta_max=0.1)
    _check_run_args(seed, sigma0, n_record, show_progress, reduced)
    check_int("n_init", n_init, 1)
    check_int("chunk", chunk, 1)
    P = len(a)
    if reduced:
        require(d - P > m, "d", d, f"d > P + m = {P + m} for the reduced chain")
        global _SGD_RED_KERNEL
        if _SGD_RED_KERNEL is None:
            _SGD_RED_KERNEL = _make_sgd_reduced_kernel()
    elif _SGD_KERNEL is None:
        _SGD_KERNEL = _make_sgd_kernel()
    rng = np.random.default_rng(seed)
    V = np.stack([spherical_init(m, d, sigma0, rng) for _ in range(n_init)])
    pairs = [greedy_pairing(V[g], a, k) for g in range(n_init)]
    npairs = len(pairs[0][0])
    st = np.array([p[0] for p in pairs], dtype=np.int64)
    te = np.array([p[1] for p in pairs], dtype=np.int64)
    u0 = np.array([p[2] for p in pairs])
    T_pred = transition_time(a[te], u0, k, eta) if k >= 4 else np.full(st.shape, np.nan)
    rec = _log_grid(steps, n_record)
    out_L = [[] for _ in range(n_init)]
    out_po = [[] for _ in range(n_init)]
    out_n = [[] for _ in range(n_init)]
    prev = np.zeros((n_init, 2, npairs))
    for g in range(n_init):
        nn0 = np.sum(V[g] ** 2, axis=1)
        prev[g, 0] = V[g][st[g], te[g]] ** 2 / nn0[st[g]]
        prev[g, 1] = np.max(V[g][:, te[g]] ** 2 / nn0[:, None], axis=0)
    temerge = np.full((n_init, 2, npairs), np.nan)
    if reduced:
        Cr = np.ascontiguousarray(V[:, :, :P])
        Gr = np.ascontiguousarray(np.einsum("gji,gki->gjk", V[:, :, P:], V[:, :, P:]))
        del V

        def gram(g):
            return Cr[g] @ Cr[g].T + Gr[g], Cr[g]
    else:
        def gram(g):
            return V[g] @ V[g].T, V[g][:, :P]
    t = 0
    bar = progress(total=steps, desc=f"SGD d={d}", disable=None if show_progress else True)
    for ir in range(len(rec)):
        while t < rec[ir]:
            b = int(min(chunk, rec[ir] - t))
            if reduced:
                XP = rng.standard_normal((b, P))
                Z = rng.standard_normal((b, m))
                RHO2 = rng.chisquare(d - P - m, b)
                r = _SGD_RED_KERNEL(Cr, Gr, XP, Z, RHO2, a, int(k), float(eta), st, te,
                                    float(level), float(t), prev, temerge)
            else:
                X = rng.standard_normal((b, d))
                r = _SGD_KERNEL(V, X, a, int(k), float(eta), st, te, float(level), float(t), prev,
                                temerge)
            if r != 0.0:
                raise DivergenceError(f"online SGD diverged near step {t} (residual {r!r}); "
                                      f"eta={eta} is probably too large (use eta ~ c d^(-k/2))")
            t += b
            bar.update(b)
        for g in range(n_init):
            G, Cg = gram(g)
            out_L[g].append(population_loss_from_overlaps(Cg, G, a, k))
            out_po[g].append(Cg[st[g], te[g]] ** 2 / np.diag(G)[st[g]])
            out_n[g].append(np.diag(G).copy())
    bar.close()
    res = []
    for g in range(n_init):
        G, Cg = gram(g)
        ov = Cg ** 2 / np.diag(G)[:, None]
        res.append(_run_curve(rec.astype(np.int64), np.array(out_L[g]), np.array(out_po[g]),
                              np.array(out_n[g]), st[g], te[g], u0[g], T_pred[g], temerge[g, 0],
                              temerge[g, 1], ov, method="online-sgd", eta=eta, level=level, m=m,
                              d=d, P=P, k=k, sigma0=sigma0, seed=seed, init=g, n_init=n_init,
                              steps=steps, n_record=n_record, chunk=chunk, reduced=reduced))
    return res[0] if n_init == 1 else res
