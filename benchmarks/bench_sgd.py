"""SGD throughput (seed x steps per second) against a naive loop and the input-drawing floor.

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sgd.py [--quick]

For each case (N = 1000, K = M = 2, erf; N = 1024, K = M = 8, erf; Saad-Solla conventions,
isotropic inputs, eta = 0.5) and S = 1 and 32 seeds it prints

* ``naive``  -- one seed, one sample at a time in NumPy (draw xi, two matvecs, update), the loop
  of the classic peer codes; timed in this run on a shorter stretch;
* ``numpy``  -- :func:`scalinglaws.committee.sgd.simulate` reference path (seeds batched in one loop);
* ``numba1`` -- the compiled path on one core; ``numbaP`` -- with one thread per core
  (``n_jobs`` = all CPUs: seeds in parallel, or, for one seed, the next input block drawn in a
  second thread while the current one is used);
* ``floor``  -- just drawing the same Gaussian inputs (same blocks of 256 x N per seed), on one
  core and with one thread per core (seeds spread over the threads, as the numba path does).

Ratios: ``vs floor`` = (floor rate on the same number of cores) / (rate); ``vs naive`` =
rate / naive rate.  One recording time only, so the cost is the dynamics itself.

``--k40`` (issue: SGD at K = M = 40, N = 512 within 1.5x of the flop and input-drawing floor):
the compiled path for 1 and 10 seeds on one core, against a floor measured in the same run = the
time to draw the inputs (blocks of 256 x N) + the step's flops (4KN for the fused student update
and next preactivations, 2MN for the teacher) at the one-core dgemm rate of this machine
(a 512^3 matrix product, the best the core does).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from scalinglaws.committee.setup import Setup
from scalinglaws.committee.sgd import HAVE_NUMBA, simulate


def best(f, repeat: int) -> float:
    """Best (largest) rate of ``repeat`` runs: the machine may be shared, and interference only
    ever slows a run down."""
    return max(f() for _ in range(repeat))


def naive_rate(setup: Setup, N: int, n_steps: int) -> float:
    rng = np.random.default_rng(0)
    J = rng.standard_normal((setup.K, N))
    B = rng.standard_normal((setup.M, N))
    g, dg = setup.activation.g, setup.activation.dg
    a = setup.eta * setup.c_s / math.sqrt(N)
    t0 = time.perf_counter()
    for _ in range(n_steps):
        xi = rng.standard_normal(N)
        x = J @ xi / math.sqrt(N)
        y = B @ xi / math.sqrt(N)
        err = setup.c_t * g(y).sum() - setup.c_s * g(x).sum()
        J += np.outer(a * dg(x) * err, xi)
    return n_steps / (time.perf_counter() - t0)


def floor_rate(N: int, S: int, n_steps: int, threads: int, block: int = 256) -> float:
    n_blocks = max(1, n_steps // block)

    def draw(seeds):
        for s in seeds:
            rng = np.random.default_rng(s)
            for _ in range(n_blocks):
                rng.standard_normal((block, N))

    chunks = [list(range(S))[i::threads] for i in range(min(threads, S))]
    t0 = time.perf_counter()
    if len(chunks) == 1:
        draw(chunks[0])
    else:
        with ThreadPoolExecutor(len(chunks)) as ex:
            list(ex.map(draw, chunks))
    return S * n_blocks * block / (time.perf_counter() - t0)


def sim_rate(setup: Setup, N: int, S: int, n_steps: int, method: str, n_jobs: int) -> float:
    kw = dict(times=[n_steps / N], n_seeds=S, sigma_J=1.0, method=method, n_jobs=n_jobs,
              show_progress=False, keep_seeds=False)
    simulate(setup, N, times=[256 / N], n_seeds=1, method=method, show_progress=False)  # warm up
    t0 = time.perf_counter()
    simulate(setup, N, **kw)
    return S * n_steps / (time.perf_counter() - t0)


def k40(repeat: int) -> None:
    K = M = 40
    N = 512
    setup = Setup(K, M, 0.5, "erf", conventions="saad-solla")
    n_draw = 64
    draw = best(lambda: floor_rate(N, 1, n_draw * 256, 1), repeat)          # steps/s
    A = np.random.default_rng(0).random((512, 512))
    t0 = time.perf_counter()
    for _ in range(10):
        A @ A
    gflops = 10 * 2 * 512 ** 3 / (time.perf_counter() - t0)
    flop_s = (4 * K * N + 2 * M * N) / gflops
    floor = 1.0 / (1.0 / draw + flop_s)
    print(f"K=M={K}, N={N}: draw floor {1e6 / draw:.2f} us/step, one-core dgemm {gflops / 1e9:.1f} GFLOP/s "
          f"-> flops {1e6 * flop_s:.2f} us/step; floor (draw + flops) {1e6 / floor:.2f} us/step")
    print(f"{'S':>4}{'path':>8}{'seed*steps/s':>15}{'us/step':>10}{'vs floor':>10}{'vs draw':>10}")
    for S, n_steps in ((1, 16384), (10, 4096)):
        r = best(lambda: sim_rate(setup, N, S, n_steps, "numba", 1), repeat)
        print(f"{S:>4}{'numba1':>8}{r:>15.4g}{1e6 / r:>10.2f}{floor / r:>10.2f}{draw / r:>10.2f}")
    print("# vs floor: (draw + flop) floor rate / rate on one core (target <= 1.5); vs draw: the input "
          "drawing alone")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps (noisier)")
    ap.add_argument("--k40", action="store_true", help="only the K = M = 40, N = 512 case against its floor")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs (default 3)")
    args = ap.parse_args(argv)
    if args.k40:
        k40(args.repeat)
        return
    cores = os.cpu_count() or 1
    scale = 0.25 if args.quick else 1.0
    try:
        load = " load=%.1f" % os.getloadavg()[0]
    except OSError:
        load = ""
    print(f"# cores={cores}{load}  numba={HAVE_NUMBA}  numpy={np.__version__}  "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    print(f"{'case':<22}{'S':>4}{'path':>8}{'seed*steps/s':>15}{'vs floor':>10}{'vs naive':>10}")
    for N, K in ((1000, 2), (1024, 8)):
        setup = Setup(K, K, 0.5, "erf", conventions="saad-solla")
        case = f"N={N} K=M={K}"
        R = args.repeat
        nv = best(lambda: naive_rate(setup, N, int(4000 * scale)), R)
        print(f"{case:<22}{1:>4}{'naive':>8}{nv:>15.4g}{'':>10}{1.0:>10.2f}")
        for S in (1, 32):
            n_steps = int((40960 if S == 1 else 8192) * scale)
            fl1 = best(lambda: floor_rate(N, S, n_steps, 1), R)
            flc = best(lambda: floor_rate(N, S, n_steps, cores), R)
            print(f"{case:<22}{S:>4}{'floor1':>8}{fl1:>15.4g}{1.0:>10.2f}{fl1 / nv:>10.2f}")
            print(f"{case:<22}{S:>4}{'floorP':>8}{flc:>15.4g}{1.0:>10.2f}{flc / nv:>10.2f}")
            r = best(lambda: sim_rate(setup, N, S, n_steps, "numpy", 1), R)
            print(f"{case:<22}{S:>4}{'numpy':>8}{r:>15.4g}{fl1 / r:>10.2f}{r / nv:>10.2f}")
            if HAVE_NUMBA:
                r1 = best(lambda: sim_rate(setup, N, S, n_steps, "numba", 1), R)
                print(f"{case:<22}{S:>4}{'numba1':>8}{r1:>15.4g}{fl1 / r1:>10.2f}{r1 / nv:>10.2f}")
                if cores > 1:
                    rp = best(lambda: sim_rate(setup, N, S, n_steps, "numba", cores), R)
                    print(f"{case:<22}{S:>4}{'numbaP':>8}{rp:>15.4g}{flc / rp:>10.2f}"
                          f"{rp / nv:>10.2f}")
            sys.stdout.flush()
    print("# floor1/numba1: one core; floorP/numbaP: one thread per core. 'vs floor' compares "
          "with the floor on the same number of cores (1.0 = as fast as drawing the inputs).")


if __name__ == "__main__":
    main()
