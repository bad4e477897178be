r"""Compiled (numba) kernels of the exponential integrator :mod:`scalinglaws.committee.expode`.

* :func:`i4_weighted` -- the :math:`I_4` forcing :math:`F_{ik} = \sum_{c,d} w_c w_d\,
  I_4(x_i, x_k, u_c, u_d)` of the erf committee (:math:`g(x) = \mathrm{erf}(x/\sqrt2)`), i ≤ k and
  c ≤ d only (both symmetries), no 4-index temporaries, threads over the (i, k) pairs.  At
  K = M = 40 it takes about 20 ms where the NumPy reference
  (``scalinglaws.numerics.gaussian.Erf.i4``) takes about 0.9 s.
* :func:`r_update`, :func:`q_update` -- the exact solution over one step of the frozen-coefficient
  group equations in the eigenbasis of the symmetric operator G (formulas in
  :mod:`scalinglaws.committee.expode`), element by element, threads over groups.
* :func:`propagate_groups` -- the whole frozen-coefficient step fused per group: transform into
  the eigenbasis of G, the two updates above, transform back, one group at a time in cache
  (threads over groups; the 40 x 40 products are BLAS calls).  It halves the cost of the batched
  NumPy form, whose time went mostly into temporaries of the full state.

The divided differences of the exponential that the Q update needs are evaluated without
cancellation: :math:`e[x, y] = e^{y}\varphi_1(x-y)`, and :math:`e[x, y, 0]` by its quotient form
when :math:`|x| \ge 10^{-3}` (absolute error ~1e-13), by its Taylor series when both points are
below 1e-2, and otherwise by :func:`dd2_0` (shifted Taylor series for a spread <= 1, the ordered
quotient otherwise).  NumPy references of all kernels live in the same module (``*_numpy``) and
the tests compare the two.
"""

from __future__ import annotations

import math

import numpy as np

try:  # numba is a dependency of the book; the NumPy references are used without it
    import numba as _nb
except Exception:  # pragma: no cover
    _nb = None

__all__ = ["HAVE_NUMBA", "i4_weighted", "r_update", "q_update", "propagate_groups", "dd2_0", "i4_weighted_numpy",
           "r_update_numpy", "q_update_numpy", "phi1_numpy", "dd2_0_numpy"]

HAVE_NUMBA = _nb is not None
_C4 = 4.0 / math.pi ** 2


# ----------------------------------------------------------------------------------------------
# NumPy references
# ----------------------------------------------------------------------------------------------
def phi1_numpy(z):
    r""":math:`\varphi_1(z) = (e^z - 1)/z` (1 at z = 0)."""
    z = np.asarray(z, float)
    out = np.ones_like(z)
    nz = z != 0
    out[nz] = np.expm1(z[nz]) / z[nz]
    return out


def dd2_0_numpy(x, y):
    r"""Second divided difference :math:`e[x, y, 0]` of the exponential (arrays, robust)."""
    x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
    pts = np.stack([x, y, np.zeros_like(x)])
    m = pts.max(axis=0)
    P = np.sort(pts - m, axis=0)              # ascending, P[2] = 0
    lo, mid, hi = P
    out = np.empty_like(x)
    small = -lo <= 1.0
    if small.any():
        a, b, c = lo[small], mid[small], hi[small]
        mu = (a + b + c) / 3
        da, db, dc = a - mu, b - mu, c - mu
        e1, e2, e3 = da + db + dc, da * db + db * dc + da * dc, da * db * dc
        h3, h2, h1 = np.zeros_like(a), np.zeros_like(a), np.ones_like(a)
        s, fact = 0.5 * np.ones_like(a), 2.0
        for k in range(1, 22):
            hk = e1 * h1 - e2 * h2 + e3 * h3
            fact *= k + 2
            s = s + hk / fact
            h3, h2, h1 = h2, h1, hk
        out[small] = np.exp(m[small] + mu) * s
    big = ~small
    if big.any():
        a, b, c = lo[big], mid[big], hi[big]
        d_cb = np.exp(b) * phi1_numpy(c - b)
        d_ba = np.exp(a) * phi1_numpy(b - a)
        out[big] = np.exp(m[big]) * (d_cb - d_ba) / (c - a)
    return out


def i4_weighted_numpy(C, K, w):
    """NumPy reference of :func:`i4_weighted` (4-index temporaries of size K^2 (K+M)^2)."""
    from scalinglaws.numerics.gaussian import Erf
    return (Erf().i4(np.asarray(C, float), np.arange(K), np.arange(K)) @ w) @ w


def r_update_numpy(zR, Rt, P, a, h):
    """NumPy reference of :func:`r_update`."""
    return np.exp(zR)[:, :, None] * Rt + (a[:, None] * h * phi1_numpy(zR))[:, :, None] * P


def q_update_numpy(zR, Qt, X1, Y2, Ft, a, bq, h):
    """NumPy reference of :func:`q_update`."""
    za, zb = zR[:, :, None], zR[:, None, :]
    zs = za + zb
    A = np.exp(zb) * phi1_numpy(za)              # e[zs, zb]
    B = np.exp(za) * phi1_numpy(zb)              # e[zs, za]
    D1, D2 = dd2_0_numpy(zs, zb), dd2_0_numpy(zs, za)
    al = a[:, None, None]
    X1T, Y2T = np.swapaxes(X1, 1, 2), np.swapaxes(Y2, 1, 2)
    out = (np.exp(zs) * Qt + al * h * (A * X1 + B * X1T) + al * al * h * h * (D1 * Y2 + D2 * Y2T)
           + h * phi1_numpy(zs) * bq[:, None, None] * Ft[None])
    return 0.5 * (out + np.swapaxes(out, 1, 2))


# ----------------------------------------------------------------------------------------------
# compiled kernels
# ----------------------------------------------------------------------------------------------
if HAVE_NUMBA:
    @_nb.njit(cache=True, parallel=True)
    def i4_weighted(C, K, w):  # pragma: no cover - jit
        """:math:`F_{ik} = \\sum_{c,d} w_c w_d I_4(i, k, c, d)` for erf units, i, k < K."""
        n = C.shape[0]
        F = np.zeros((K, K))
        npair = K * (K + 1) // 2
        ii = np.empty(npair, np.int64)
        kk = np.empty(npair, np.int64)
        q = 0
        for i0 in range(K):
            for k0 in range(i0, K):
                ii[q] = i0
                kk[q] = k0
                q += 1
        for p in _nb.prange(npair):
            i = ii[p]
            k = kk[p]
            da = 1.0 + C[i, i]
            db = 1.0 + C[k, k]
            cab = C[i, k]
            lam4 = da * db - cab * cab
            lam1 = np.empty(n)
            for c in range(n):
                cac = C[i, c]
                cbc = C[k, c]
                lam1[c] = lam4 * (1.0 + C[c, c]) - cbc * cbc * da - cac * cac * db + 2.0 * cab * cac * cbc
            s = 0.0
            for c in range(n):
                cac = C[i, c]
                cbc = C[k, c]
                wc = w[c]
                lam0 = lam4 * C[c, c] - cbc * cbc * da - cac * cac * db + 2.0 * cab * cac * cbc
                arg = lam0 / lam1[c]
                arg = min(1.0, max(-1.0, arg))
                s += wc * wc * math.asin(arg)
                for d in range(c + 1, n):
                    cad = C[i, d]
                    cbd = C[k, d]
                    lam0 = (lam4 * C[c, d] - cbc * cbd * da - cac * cad * db + cab * cac * cbd
                            + cab * cad * cbc)
                    arg = lam0 / math.sqrt(lam1[c] * lam1[d])
                    arg = min(1.0, max(-1.0, arg))
                    s += 2.0 * wc * w[d] * math.asin(arg)
            v = _C4 / math.sqrt(lam4) * s
            F[i, k] = v
            F[k, i] = v
        return F

    @_nb.njit(cache=True, inline="always")
    def _phi1(z):  # pragma: no cover - jit
        if abs(z) < 1e-5:
            return 1.0 + z * (0.5 + z / 6.0)
        return math.expm1(z) / z

    @_nb.njit(cache=True, inline="always")
    def _dd1(x, y):  # pragma: no cover - jit
        if x > y:
            return math.exp(x) * _phi1(y - x)
        return math.exp(y) * _phi1(x - y)

    @_nb.njit(cache=True)
    def dd2_0(x, y):  # pragma: no cover - jit
        """Second divided difference e[x, y, 0] of the exponential (scalar, robust)."""
        m = max(x, max(y, 0.0))
        a = x - m
        b = y - m
        c = -m
        lo = min(a, min(b, c))
        if -lo <= 1.0:
            mu = (a + b + c) / 3.0
            da = a - mu
            db = b - mu
            dc = c - mu
            e1 = da + db + dc
            e2 = da * db + db * dc + da * dc
            e3 = da * db * dc
            h3 = 0.0
            h2 = 0.0
            h1 = 1.0
            s = 0.5
            fact = 2.0
            for k in range(1, 22):
                hk = e1 * h1 - e2 * h2 + e3 * h3
                fact *= k + 2
                s += hk / fact
                h3 = h2
                h2 = h1
                h1 = hk
            return math.exp(m + mu) * s
        if a > b:
            a, b = b, a
        if b > c:
            b, c = c, b
        if a > b:
            a, b = b, a
        return math.exp(m) * (_dd1(c, b) - _dd1(b, a)) / (c - a)

    @_nb.njit(cache=True, inline="always")
    def _r_group(z, Rt, P, c1, out):  # pragma: no cover - jit
        """One group's R update (rows i, columns n) into ``out``."""
        K, M = Rt.shape
        for i in range(K):
            e = math.exp(z[i])
            f = c1 * _phi1(z[i])
            for n in range(M):
                out[i, n] = e * Rt[i, n] + f * P[i, n]

    @_nb.njit(cache=True, inline="always")
    def _q_group(z, Qt, X1, Y2, Ft, al, cf, h, e, p, out):  # pragma: no cover - jit
        """One group's Q update into ``out`` (``e``, ``p``: work vectors of length K)."""
        K = z.shape[0]
        c1 = al * h
        c2 = al * al * h * h
        for i in range(K):
            e[i] = math.exp(z[i])
            p[i] = _phi1(z[i])
        for i in range(K):
            zi = z[i]
            for k in range(i, K):
                zk = z[k]
                zs = zi + zk
                A = e[k] * p[i]
                B = e[i] * p[k]
                es = e[i] * e[k]
                ph = _phi1(zs)
                if abs(zs) >= 1e-3:
                    D1 = (A - p[k]) / zs
                    D2 = (B - p[i]) / zs
                elif max(abs(zi), abs(zk)) <= 1e-2:
                    D1 = (0.5 + (zs + zk) / 6.0 + (zs * zs + zs * zk + zk * zk) / 24.0
                          + (zs + zk) * (zs * zs + zk * zk) / 120.0)
                    D2 = (0.5 + (zs + zi) / 6.0 + (zs * zs + zs * zi + zi * zi) / 24.0
                          + (zs + zi) * (zs * zs + zi * zi) / 120.0)
                else:
                    D1 = dd2_0(zs, zk)
                    D2 = dd2_0(zs, zi)
                v = (es * Qt[i, k] + c1 * (A * X1[i, k] + B * X1[k, i])
                     + c2 * (D1 * Y2[i, k] + D2 * Y2[k, i]) + cf * ph * Ft[i, k])
                out[i, k] = v
                out[k, i] = v

    @_nb.njit(cache=True, parallel=True)
    def r_update(zR, Rt, P, a, h):  # pragma: no cover - jit
        """:math:`\\tilde R \\leftarrow e^{z}\\tilde R + a h\\varphi_1(z) P` per group and row."""
        L, K, M = Rt.shape
        out = np.empty_like(Rt)
        for l in _nb.prange(L):
            _r_group(zR[l], Rt[l], P[l], a[l] * h, out[l])
        return out

    @_nb.njit(cache=True, parallel=True)
    def q_update(zR, Qt, X1, Y2, Ft, a, bq, h):  # pragma: no cover - jit
        """The exact frozen-coefficient Q update in the eigenbasis (see the module)."""
        L, K = zR.shape
        out = np.empty_like(Qt)
        for l in _nb.prange(L):
            _q_group(zR[l], Qt[l], X1[l], Y2[l], Ft, a[l], h * bq[l], h, np.empty(K), np.empty(K), out[l])
        return out

    @_nb.njit(cache=True, parallel=True)
    def propagate_groups(Qg, Rg, Tg, V, d, Ht, Ft, a, bq, h):  # pragma: no cover - jit
        """The whole frozen-coefficient step, fused per group: transform group l into the
        eigenbasis of G (``V``, eigenvalues ``d``), update it exactly, transform back; returns the
        new ``(Qg, Rg)``.  Each group stays in cache; the 40 x 40 products are BLAS calls."""
        L, K, M = Rg.shape
        VT = np.ascontiguousarray(V.T)
        Qn = np.empty_like(Qg)
        Rn = np.empty_like(Rg)
        for l in _nb.prange(L):
            z = (a[l] * h) * d
            Rt = np.dot(VT, Rg[l])
            P = np.dot(Ht, Tg[l])
            Qt = np.dot(VT, np.dot(Qg[l], V))
            X1 = np.dot(Ht, np.ascontiguousarray(Rt.T))
            Y2 = np.dot(Ht, np.ascontiguousarray(P.T))
            R1 = np.empty((K, M))
            _r_group(z, Rt, P, a[l] * h, R1)
            Q1 = np.empty((K, K))
            _q_group(z, Qt, X1, Y2, Ft, a[l], h * bq[l], h, np.empty(K), np.empty(K), Q1)
            Rn[l] = np.dot(V, R1)
            Qn[l] = np.dot(V, np.dot(Q1, VT))
        return Qn, Rn
else:  # pragma: no cover - numba missing
    i4_weighted = i4_weighted_numpy
    r_update = r_update_numpy
    q_update = q_update_numpy
    propagate_groups = None   # expode.propagate then takes its NumPy path

    def dd2_0(x, y):
        return float(dd2_0_numpy(np.array([x]), np.array([y]))[0])
