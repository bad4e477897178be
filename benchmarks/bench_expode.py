"""Benchmark of the exponential integrator (scalinglaws.committee.expode) against the default
implicit path (scipy BDF on the sparse arrowhead Jacobian, scalinglaws.committee.ode.integrate),
measured in the same run.

Run:  .venv/bin/python benchmarks/bench_expode.py [--quick]

Prints
  (1) K = M = 4 and 8, L = 64, beta = 1, eta = 0.01, sigma_J = 1e-6, one Gaussian draw (N = 512),
      to alpha = 1000: wall time and seconds per unit alpha of both integrators, their ratio, and the
      largest relative difference of eps_g between them;
  (2) the paper's Fig. 6 setting K = M = 40, L = N = 512, to alpha = 10^4 (--quick: 10^3): the
      exponential integrator's wall time (target: under 10 minutes on 2 cores), and the BDF path's
      cost extrapolated from (1) with the scaling the issue measured (K^4.3 at fixed L, linear in L),
      next to its memory (L p^2 Jacobian entries, p = K(K+1)/2 + KM): the BDF path does not fit in 24 GB;
  (3) one frozen-coefficient propagation at K = M = 40, L = N = 512 (the integrator's inner step), A/B
      in one run: the fused compiled kernel (``numerics.committee_exp.propagate_groups``) with BLAS held
      to one thread, as ``integrate`` runs it; the same kernel with BLAS at its default threads; the
      previous default (batched tensordot transforms of the whole state around the compiled element
      updates); and the NumPy reference (``compiled=False``), with the largest difference of the results.
Both integrators run at their defaults (BDF rtol 1e-7; exponential rtol 1e-4, which keeps eps_g
within ~1e-4 relative of BDF).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from scalinglaws.committee import expode
from scalinglaws.committee.ode import integrate, log_times
from scalinglaws.committee.setup import Overlaps, Setup, draw_weights
from scalinglaws.spectra import Spectrum


def _setup(K, L, N):
    sp = Spectrum.power_law(L, 1.0)
    s = Setup(K, K, 0.01, spectrum=sp)
    J, B = draw_weights(s, N, seed=0, sigma_J=1e-6)
    return s, Overlaps.from_weights(J, B, sp)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    t_small = 300.0 if args.quick else 1000.0
    print(f"(1) K = M = 4, 8 at L = 64, N = 512, eta = 0.01, to alpha = {t_small:g}")
    rows = []
    for K in (4, 8):
        s, ov = _setup(K, 64, 512)
        times = log_times(t_small, n=60, t_min=0.1)
        expode.integrate(s, ov, times=times[:3], show_progress=False)        # compile the kernels
        t0 = time.perf_counter()
        ref = integrate(s, ov, times=times, show_progress=False)
        t_bdf = time.perf_counter() - t0
        t0 = time.perf_counter()
        ex = expode.integrate(s, ov, times=times, show_progress=False)
        t_exp = time.perf_counter() - t0
        dev = float(np.max(np.abs(ex.loss[1:] / ref.loss[1:] - 1)))
        rows.append((K, t_bdf, t_exp))
        print(f"  K = {K}: BDF {t_bdf:7.2f} s ({t_bdf / t_small * 1e3:7.2f} ms per unit alpha), exponential "
              f"{t_exp:7.2f} s ({t_exp / t_small * 1e3:7.2f} ms per unit alpha): BDF / exponential = "
              f"{t_bdf / t_exp:5.1f}; max |eps_exp / eps_bdf - 1| = {dev:.1e}")
    t_big = 1000.0 if args.quick else 1e4
    print(f"(2) the paper's Fig. 6 setting K = M = 40, L = N = 512 to alpha = {t_big:g}")
    s, ov = _setup(40, 512, 512)
    t0 = time.perf_counter()
    ex = expode.integrate(s, ov, times=log_times(t_big, n=40, t_min=0.1), show_progress=False)
    t_exp = time.perf_counter() - t0
    print(f"  exponential integrator: {t_exp:.1f} s ({t_exp / 60:.1f} min; target < 10 min), "
          f"{ex.meta['steps']} steps, eps_g({t_big:g}) = {ex.loss[-1]:.4e}")
    K8, t_bdf8, _ = rows[-1]
    extrap = t_bdf8 * (40 / K8) ** 4.3 * (512 / 64) * (t_big / t_small)
    p = 40 * 41 // 2 + 40 * 40
    print(f"  BDF path extrapolated from K = 8 (x (40/8)^4.3 x 512/64 x alpha range): {extrap / 3600:.0f} h "
          f"(ratio to exponential: {extrap / t_exp:.0f}); its Jacobian alone has L p^2 = {512 * p * p:.2e} entries "
          f"({512 * p * p * 8 / 1e9:.0f} GB), so it cannot run here at all")

    print("(3) one propagation at K = M = 40, L = N = 512 (the inner step; ms, median of 15)")
    from scalinglaws.committee.ode import _physical_C
    Q, R, T = (np.ascontiguousarray(x, dtype=float) for x in (ov.Q, ov.R, ov.T))
    fr = expode.coefficients(s, _physical_C(s, Q, R, T))

    def med(f, n=15):
        f()
        ts = []
        for _ in range(n):
            t0 = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t0)
        return 1e3 * float(np.median(ts))

    def previous(h=50.0):
        """The previous default: batched transforms of the whole state (tensordot) around the
        compiled element updates."""
        from scalinglaws.numerics import committee_exp as kx
        lam = s.spectrum.eigenvalues
        a, bq = lam * (s.eta * s.c_s), lam * s.spectrum.fractions
        d, V = np.linalg.eigh(fr.G)
        VT = np.ascontiguousarray(V.T)
        Ht = VT @ fr.H
        Rt = expode._left(VT, R)
        P = np.ascontiguousarray(np.tensordot(T, Ht, axes=([1], [1])).transpose(0, 2, 1))
        Qt = expode._sandwich(VT, Q)
        zR = np.ascontiguousarray((a * h)[:, None] * d[None, :])
        X1 = np.ascontiguousarray(np.tensordot(Rt, Ht, axes=([2], [1])).transpose(0, 2, 1))
        Y2 = np.ascontiguousarray(np.tensordot(P, Ht, axes=([2], [1])).transpose(0, 2, 1))
        Rn = kx.r_update(zR, Rt, P, a, h)
        Qn = kx.q_update(zR, Qt, X1, Y2, VT @ fr.F @ V, a, bq, h)
        return expode._sandwich(V, Qn), expode._left(V, Rn)

    t_prev = med(previous)
    with expode._one_blas_thread():
        t_one = med(lambda: expode.propagate(s, Q, R, T, fr, 50.0))
    t_def = med(lambda: expode.propagate(s, Q, R, T, fr, 50.0))
    t_np = med(lambda: expode.propagate(s, Q, R, T, fr, 50.0, compiled=False), n=5)
    a, b = expode.propagate(s, Q, R, T, fr, 50.0), expode.propagate(s, Q, R, T, fr, 50.0, compiled=False)
    dev = max(float(np.max(np.abs(x - y))) / float(np.max(np.abs(y))) for x, y in zip(a, b))
    dev_prev = max(float(np.max(np.abs(x - y))) / float(np.max(np.abs(y))) for x, y in zip(a, previous()))
    print(f"  fused, BLAS 1 thread: {t_one:.1f} ms; fused, BLAS default threads: {t_def:.1f} ms; previous default "
          f"(batched transforms + compiled element updates): {t_prev:.1f} ms; NumPy reference: {t_np:.1f} ms")
    print(f"  -> {t_prev / t_one:.1f}x over the previous default ({t_def / t_one:.1f}x of it from the BLAS limit), "
          f"{t_np / t_one:.1f}x over the NumPy reference; max difference {max(dev, dev_prev):.1e} of the largest entry")


if __name__ == "__main__":
    main()
