"""Benchmark: full-batch GD of the ReLU MLPs of section 4.5 (N = P = 256, four seeds).

Three ways to train the same four networks for the same number of steps, measured in one run:
the NumPy path of scalinglaws.kernel.mlp.train_gd (the naive baseline: dense (P, N) activations and
matrix products per step), the compiled fused loop one network after the other, and
scalinglaws.kernel.mlp.train_gd on the list of networks, which runs the compiled loop for the seeds in
parallel threads (the loop releases the GIL).  All three give the same losses; the script prints the largest
relative difference to the baseline and the ratios of wall times.

A second line compares the online-SGD trainer of the same section (scalinglaws.kernel.mlp.train_online:
B fresh angles per step, test loss on held-out angles at a few record times) with the full-batch
compiled kernel (train_gd on a P-point grid) on the same networks, in the same run: seed·steps/s of each
and their ratio, and the same per sample gradient (seed·steps·samples/s).

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



def online_vs_full_batch(N: int = 1024, P: int = 256, batch: int = 16, seeds: int = 4, steps: int = 2000,
                         eta: float = 0.1, workers: int = 1) -> None:
    """seed·steps/s of online SGD (batch ``batch``) against full-batch GD on ``P`` grid points, same
    networks, same steps, ``workers`` threads for both."""
    lam = mlp.ntk_mode_spectrum(4096)
    coef = mlp.target_coefficients(lam, 0.5, 100)
    th, X = mlp.circle_grid(P)
    y = mlp.fourier_series(coef, th)
    ps = [mlp.init_params(N, 1.0, 1000 + s) for s in range(seeds)]
    t = np.linspace(0.0, steps * eta, 5)                      # five test-loss evaluations per network
    mlp.train_gd(ps[:1], X, y, eta, [0.0, 2 * eta])           # compile outside the timing
    mlp.train_online(ps[0], coef, eta, [0.0, 2 * eta], batch=batch, seed=0)
    wall = {}
    t0 = time.perf_counter()
    mlp.train_gd(ps, X, y, eta, t, workers=workers)
    wall["full batch"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    mlp.train_online(ps, coef, eta, t, batch=batch, seed=list(range(seeds)), workers=workers)
    wall["online"] = time.perf_counter() - t0
    rate = {k: seeds * steps / w for k, w in wall.items()}
    print(f"{seeds} networks, N = {N}, {steps} steps each, {workers} thread(s)")
    print(f"  full-batch GD, P = {P} grid points    {rate['full batch']:9.0f} seed·steps/s "
          f"({rate['full batch'] * P:.3g} seed·steps·samples/s)")
    print(f"  online SGD, B = {batch} fresh samples     {rate['online']:9.0f} seed·steps/s "
          f"({rate['online'] * batch:.3g} seed·steps·samples/s)")
    print(f"  ratio online / full batch: x{rate['online'] / rate['full batch']:.1f} per step, "
          f"x{rate['online'] * batch / (rate['full batch'] * P):.2f} per sample gradient")


if __name__ == "__main__":
    main()
    online_vs_full_batch()
