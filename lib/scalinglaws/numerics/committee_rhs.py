r"""Compiled (numba) fixed-step Euler integrator of the group-resolved committee ODE.

The same equations, in the same order of floating-point operations as far as practical, as the
NumPy reference :func:`scalinglaws.committee.ode.rhs` (``_Coefficients`` + ``_group_rhs``) and
:func:`scalinglaws.committee.ode.euler`: per step the physical covariance
:math:`C = \sum_l \lambda_l G^{[l]}`, the :math:`I_3` coefficients
:math:`\mathcal A_{ic}, \mathcal B_{ic}`, the :math:`I_4` (and, with output noise, :math:`I_2'`)
forcing, then for every group

.. math:: X_l \leftarrow X_l + dt\,\big(\lambda_l[\mathcal L(C) X_l + f_l\,g(C)] - \text{decay}\,X_l\big).

Only the closed forms of :class:`~scalinglaws.numerics.gaussian.Erf` and
:class:`~scalinglaws.numerics.gaussian.Linear` are compiled.  :math:`I_4(i,k,c,d)` is symmetric in
(c, d), so only c <= d is evaluated.  The divergence rule (a physical :math:`|Q_{ik}|` above the limit, or a
non-finite group overlap) is checked on every state, as the reference does inside its
right-hand side; the kernel then stops and reports the step.

numba is optional: :data:`HAVE_NUMBA` is False without it and callers use the NumPy reference.
"""

from __future__ import annotations

import math

import numpy as np

try:  # numba is optional: the NumPy reference path is used without it
    import numba as _numba
except Exception:  # pragma: no cover - numba missing
    _numba = None

__all__ = ["HAVE_NUMBA", "ACT_ERF", "ACT_LINEAR", "euler_kernel"]

#: Whether numba is importable (else the NumPy reference path is used).
HAVE_NUMBA = _numba is not None
ACT_ERF = 0
ACT_LINEAR = 1

_KERNEL = None


def _make_kernel():
    nb = _numba
    two_pi = 2.0 / math.pi
    four_pi2 = 4.0 / math.pi ** 2

    # no fast-math: round-off parity with the NumPy reference and NaN/inf propagation (the
    # divergence rule) must survive; error_model="numpy": x/0 gives inf/nan as in NumPy
    @nb.njit(cache=True, nogil=True, error_model="numpy")
    def kernel(Qg, Rg, Tg, Tphys, lam, frac, w, act, ec, e2c2, e2c2s2, noise, ek, decay,
               dt, limit, steps, k, n, n_stop, out):  # pragma: no cover - jit
        """Advance the group overlaps Qg (L, K, K; symmetric), Rg (L, K, M) in place from step n to
        step n_stop (Euler step dt), writing the packed state into out[k] whenever the step
        number equals steps[k].  Returns (n, k, status): status 0 = reached n_stop (state n_stop
        checked, recorded if due); 1 = state n violates the divergence rule (not recorded)."""
        L, K, _ = Qg.shape
        M = Rg.shape[2]
        nn = K + M
        nq = K * (K + 1) // 2
        p = nq + K * M
        n_out = steps.shape[0]
        C = np.empty((nn, nn))
        d = np.empty(nn)
        Aw = np.empty((K, nn))
        b = np.empty(K)
        F = np.empty((K, K))
        r1 = np.empty(nn)
        DQ = np.empty((K, K))
        DR = np.empty((K, M))
        for a in range(M):
            for c in range(M):
                C[K + a, K + c] = Tphys[a, c]
        while True:
            # ---- physical overlaps and the divergence rule on state n ----
            bad = False
            for i in range(K):
                for j in range(i, K):
                    s = 0.0
                    for l in range(L):
                        v = Qg[l, i, j]
                        if not math.isfinite(v):
                            bad = True
                        s += lam[l] * v
                    C[i, j] = s
                    C[j, i] = s
                    if not (abs(s) <= limit):
                        bad = True
                for m in range(M):
                    s = 0.0
                    for l in range(L):
                        v = Rg[l, i, m]
                        if not math.isfinite(v):
                            bad = True
                        s += lam[l] * v
                    C[i, K + m] = s
                    C[K + m, i] = s
            if bad:
                return n, k, 1
            while k < n_out and steps[k] == n:
                for l in range(L):
                    o = l * p
                    for i in range(K):
                        for j in range(i, K):
                            out[k, o] = Qg[l, i, j]
                            o += 1
                    for i in range(K):
                        for m in range(M):
                            out[k, o] = Rg[l, i, m]
                            o += 1
                k += 1
            if n >= n_stop:
                return n, k, 0
            # ---- coefficients: everything that depends on C only ----
            if act == 0:
                for a in range(nn):
                    d[a] = 1.0 + C[a, a]
                for i in range(K):
                    bi = 0.0
                    for c in range(nn):
                        sc = two_pi / math.sqrt(d[i] * d[c] - C[i, c] * C[i, c])
                        Aw[i, c] = sc * w[c]
                        bi += sc * C[i, c] / d[i] * w[c]
                    b[i] = bi
                for i in range(K):
                    for j in range(i, K):
                        da = d[i]
                        db = d[j]
                        cab = C[i, j]
                        l4 = da * db - cab * cab
                        for c in range(nn):
                            cac = C[i, c]
                            cbc = C[j, c]
                            l1 = l4 * d[c] - cbc * cbc * da - cac * cac * db + 2.0 * cab * cac * cbc
                            r1[c] = 1.0 / math.sqrt(l1)
                        acc = 0.0
                        for c in range(nn):
                            cac = C[i, c]
                            cbc = C[j, c]
                            wc = w[c]
                            inner = 0.0
                            for e in range(c, nn):
                                cad = C[i, e]
                                cbd = C[j, e]
                                l0 = (l4 * C[c, e] - cbc * cbd * da - cac * cad * db
                                      + cab * cac * cbd + cab * cad * cbc)
                                arg = l0 * r1[c] * r1[e]
                                if arg > 1.0:
                                    arg = 1.0
                                elif arg < -1.0:
                                    arg = -1.0
                                val = w[e] * math.asin(arg)
                                if e == c:
                                    inner += 0.5 * val
                                else:
                                    inner += val
                            acc += wc * inner
                        f = e2c2 * (four_pi2 / math.sqrt(l4) * (2.0 * acc))
                        if noise:
                            f = f + e2c2s2 * (two_pi / math.sqrt(da * db - cab * cab))
                        F[i, j] = f
            else:
                for i in range(K):
                    b[i] = 0.0
                    for c in range(nn):
                        Aw[i, c] = w[c]
                wcw = 0.0
                for c in range(nn):
                    s = 0.0
                    for e in range(nn):
                        s += C[c, e] * w[e]
                    wcw += w[c] * s
                for i in range(K):
                    for j in range(i, K):
                        f = e2c2 * wcw
                        if noise:
                            f = f + e2c2s2
                        F[i, j] = f
            # ---- group updates (each group depends on C and on itself only) ----
            for l in range(L):
                laml = lam[l]
                fl = frac[l]
                for i in range(K):
                    bi = b[i]
                    for j in range(K):
                        s = 0.0
                        for a in range(K):
                            s += Aw[i, a] * Qg[l, a, j]
                        t = 0.0
                        for m in range(M):
                            t += Aw[i, K + m] * Rg[l, j, m]
                        DQ[i, j] = s + t - bi * Qg[l, i, j]
                    for m in range(M):
                        s = 0.0
                        for a in range(K):
                            s += Aw[i, a] * Rg[l, a, m]
                        t = 0.0
                        for m2 in range(M):
                            t += Aw[i, K + m2] * Tg[l, m2, m]
                        DR[i, m] = s - bi * Rg[l, i, m] + t
                for i in range(K):
                    for j in range(i, K):
                        v = laml * (ec * (DQ[i, j] + DQ[j, i]) + fl * F[i, j])
                        if decay:
                            v = v - 2.0 * ek * Qg[l, i, j]
                        q = Qg[l, i, j] + dt * v
                        Qg[l, i, j] = q
                        Qg[l, j, i] = q
                    for m in range(M):
                        v = laml * (ec * DR[i, m])
                        if decay:
                            v = v - ek * Rg[l, i, m]
                        Rg[l, i, m] = Rg[l, i, m] + dt * v
            n += 1

    return kernel


def euler_kernel():
    """The compiled kernel (built, or loaded from numba's cache, on first use); None without
    numba."""
    global _KERNEL
    if _KERNEL is None and HAVE_NUMBA:
        _KERNEL = _make_kernel()
    return _KERNEL
