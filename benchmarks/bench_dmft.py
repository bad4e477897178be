"""Benchmark: DMFT full test loss at M = 10^4 modes and 50 time points.

Compares scalinglaws.kernel.dmft.dmft_loss (half-contour symmetry, all mode sums as matrix products,
response solved once for all nodes by vectorised Newton with continuation) against a naive
baseline measured in the same run: the full fixed-Talbot double sum over all (2n-1)^2 node pairs,
each pair's mode sums taken one by one with np.dot, and R(s) solved node by node. Both use the
same formula, so the script also prints their largest relative difference.

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_dmft.py
"""

from __future__ import annotations

import time

import numpy as np

from scalinglaws import spectra
from scalinglaws.kernel import dmft
def naive_loss(t, lam, w2, N, P, n=24):
    iN, iP = 1.0 / N, 1.0 / P
    out = np.empty(t.size)
    for i, tt in enumerate(t):
        theta = np.arange(-(n - 1), n) * np.pi / n
        r = 2 * n / (5 * tt)
        s = np.empty(theta.size, dtype=complex)
        c = np.empty(theta.size, dtype=complex)
        for j, th in enumerate(theta):
            if th == 0:
                s[j], sig = r, 0.0
            else:
                cot = 1 / np.tan(th)
                s[j] = r * th * (cot + 1j)
                sig = th + (th * cot - 1) * cot
            c[j] = r / (2 * n) * np.exp(s[j] * tt) * (1 + 1j * sig)
        Hs, Rs = [], []
        for sj in s:                                   # one node at a time
            R = dmft.response(np.array([sj]), lam, N, P)[0]
            Rs.append(R)
            Hs.append(1 / (sj + lam * R))
        tot = 0.0 + 0.0j
        for j in range(s.size):
            for k in range(s.size):                    # every pair, mode sums one by one
                H, Hp, RR = Hs[j], Hs[k], Rs[j] * Rs[k]
                HH = H * Hp
                S_lw = np.dot(lam * w2, HH)
                S_l2w = np.dot(lam * lam * w2, HH)
                S_l = np.dot(lam, HH)
                S_l2 = np.dot(lam * lam, HH)
                D3 = RR * iN * S_l2
                num = S_lw + RR * S_l2w * iN * S_l / (1 - D3)
                D1 = RR * iP * (S_l2 + s[j] * s[k] * iN * S_l ** 2 / (1 - D3))
                tot += c[j] * c[k] * num / (1 - D1)
        out[i] = tot.real
    return out


def main():
    M, N, P = 10_000, 1000, 2000
    lam, w2 = spectra.power_law_task(M, 2.0, 1.5)
    t = np.geomspace(1.0, 1e5, 50)
    t0 = time.perf_counter()
    fast = dmft.dmft_loss(t, lam, w2, N, P, bias=False).loss
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    slow = naive_loss(t, lam, w2, N, P)
    t_slow = time.perf_counter() - t0
    print(f"M = {M}, N = {N}, P = {P}, {t.size} time points, n = 24 Talbot nodes per variable")
    print(f"dmft.dmft_loss : {t_fast:8.2f} s")
    print(f"naive baseline : {t_slow:8.2f} s")
    print(f"speed-up       : {t_slow / t_fast:8.1f} x")
    print(f"max relative difference: {np.max(np.abs(fast / slow - 1)):.2e}")


if __name__ == "__main__":
    main()
