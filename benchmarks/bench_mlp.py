"""Benchmark: full-batch GD of the ReLU MLPs of section 4.5 (N = P = 256, four seeds).

Three ways to train the same four networks for the same number of steps, measured in one run:
the NumPy path of scalinglaws.kernel.mlp.train_gd (the naive baseline: dense (P, N) activations and
matrix products per step), the compiled fused loop one network after the other, and
scalinglaws.kernel.mlp.train_gd on the list of networks, which runs the compiled loop for the seeds in
parallel threads (the loop releases the GIL).  All three give the same losses; the script prints the largest
relative difference to the baseline and the ratios of wall times.

Run:  .venv/bin/python benchmarks/bench_mlp.py   (threads: the cores this process may use)
"""

from __future__ import annotations

import time

import numpy as np

from scalinglaws.kernel import mlp
def main(N: int = 256, P: int = 256, seeds: int = 4, steps: int = 2000, eta: float = 0.1) -> None:
    th, X = mlp.circle_grid(P)
    y, _ = mlp.circle_target(th, mlp.ntk_mode_spectrum(P), 1.25, 100)
    ps = [mlp.init_params(N, 1.0, 1000 + s) for s in range(seeds)]
    t = np.array([0.0, steps * eta])
    mlp.train_gd(ps[0], X, y, eta, [0.0, 2 * eta])          # compile outside the timing
    out, wall = {}, {}
    for name, fn in [("numpy, serial (baseline)", lambda: [mlp.train_gd(p, X, y, eta, t, "numpy") for p in ps]),
                     ("numba, serial", lambda: [mlp.train_gd(p, X, y, eta, t, "numba") for p in ps]),
                     ("numba, train_gd on a list (threads)", lambda: mlp.train_gd(ps, X, y, eta, t))]:
        t0 = time.perf_counter()
        out[name] = np.array([r.loss[-1] for r in fn()])
        wall[name] = time.perf_counter() - t0
    base = "numpy, serial (baseline)"
    print(f"{seeds} networks, N = P = {N}, {steps} GD steps each")
    for name in out:
        dev = float(np.max(np.abs(out[name] / out[base] - 1)))
        print(f"  {name:36s} {wall[name]:7.2f} s   speed-up x{wall[base] / wall[name]:5.1f}   "
              f"max rel. diff of final loss {dev:.1e}")


if __name__ == "__main__":
    main()
