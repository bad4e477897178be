"""Speed of the emergence simulators against naive baselines measured in the same run.

* population GD: reduced exact representation O(m^2 (P + m)) per step vs the full m x d weights
  (O(m^2 d + m P d)), same closed-form gradient; several seeds stacked vs one run per seed;
* online SGD: numba kernel on the full d-dimensional weights and the reduced chain (cost
  independent of d) vs a plain numpy per-sample loop;
* population GD at the paper's size (d 2048, P 1024): float64 vs float32 arithmetic of the
  stacked runs, the fraction of the matrix-product peak of each and the projected time of the
  paper-size width sweep (:func:`bench_gd_paper_size`).

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_emergence.py``.  Prints time per step and ratios
(the parallel online-SGD line uses numba's threads, all cores unless ``NUMBA_NUM_THREADS`` is set).
"""

import time

import numpy as np

from scalinglaws import spectra
from scalinglaws import emergence as em
def _cpu(f):
    t0 = time.process_time()
    f()
    return time.process_time() - t0


def bench_gd(m=128, d=1024, P=512, steps=60):
    a = spectra.power_law_amplitudes(P, 0.8)
    kw = dict(k=4, eta=0.2, steps=steps, sigma0=1e-3, seed=0, show_progress=False, n_record=5)
    t_full = _cpu(lambda: em.population_gd(m, d, a, reduced=False, **kw)) / steps
    t_red = _cpu(lambda: em.population_gd(m, d, a, reduced=True, **kw)) / steps
    print(f"population GD m={m} d={d} P={P}: full {1e3*t_full:.2f} ms/step, reduced "
          f"{1e3*t_red:.2f} ms/step, speed-up x{t_full/t_red:.1f}")


def bench_gd_batch(ms=(8, 32, 256), d=1024, P=512, steps=100, seeds=(0, 1, 2)):
    """Several initialisations stacked (population_gd(seeds=...)) vs one population_gd per seed."""
    a = spectra.power_law_amplitudes(P, 0.8)
    kw = dict(k=4, eta=0.2, steps=steps, sigma0=1e-3, show_progress=False, n_record=5)
    for m in ms:
        t_loop = _cpu(lambda: [em.population_gd(m, d, a, seed=s, **kw) for s in seeds])
        t_bat = _cpu(lambda: em.population_gd(m, d, a, seeds=list(seeds), **kw))
        print(f"population GD m={m}, {len(seeds)} seeds: loop {1e3*t_loop/steps:.2f} ms/step, "
              f"batched {1e3*t_bat/steps:.2f} ms/step, speed-up x{t_loop/t_bat:.1f}")


def _naive_sgd(V, a, k, eta, X):
    P = len(a)
    for x in X:
        n2 = np.sum(V * V, axis=1)
        nr = np.sqrt(n2)
        z = V @ x / nr
        h, dh = em.hermite(k, z), em.hermite_deriv(k, z)
        r = n2 @ h - a @ em.hermite(k, x[:P])
        V -= eta * r * ((2 * h - dh * z)[:, None] * V + (dh * nr)[:, None] * x[None, :])


def bench_sgd(m=8, d=512, P=4, steps=100_000, naive_steps=10_000):
    a = spectra.power_law_amplitudes(P, 0.8)
    eta = 0.5 / d**2
    kw = dict(k=4, eta=eta, sigma0=1e-3, seed=0, show_progress=False, n_record=5)
    em.online_sgd(m, d, a, steps=100, **kw)                  # compile
    em.online_sgd(m, d, a, steps=100, reduced=True, **kw)
    rng = np.random.default_rng(0)
    V = em.spherical_init(m, d, 1e-3, rng)

    def naive():
        X = rng.standard_normal((naive_steps, d))
        _naive_sgd(V, a, 4, eta, X)
    t_naive = _cpu(naive) / naive_steps
    t_full = _cpu(lambda: em.online_sgd(m, d, a, steps=steps, **kw)) / steps
    t_red = _cpu(lambda: em.online_sgd(m, d, a, steps=steps, reduced=True, **kw)) / steps
    print(f"online SGD m={m} d={d} P={P}: numpy loop {1e6*t_naive:.1f} us/step, numba full-d "
          f"{1e6*t_full:.1f} us/step (x{t_naive/t_full:.0f}), reduced chain {1e6*t_red:.2f} us/step "
          f"(x{t_naive/t_red:.0f})  [CPU time, one initialisation]")
    # several initialisations: one numba thread each on the shared sample stream (wall clock)
    n_init = 12
    t0 = time.perf_counter()
    em.online_sgd(m, d, a, steps=steps, reduced=True, n_init=n_init, **kw)
    t_par = (time.perf_counter() - t0) / (steps * n_init)
    print(f"reduced chain, {n_init} initialisations in parallel threads: {1e6*t_par:.2f} us per "
          f"step and network (wall), x{t_naive/t_par:.0f} the numpy loop")


def _wall(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def _matmul_peak(dtype, n=2048, reps=3):
    """Flop rate (flop/s, wall clock) of one large n x n numpy matrix product in ``dtype``."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n)).astype(dtype)
    B = rng.standard_normal((n, n)).astype(dtype)
    A @ B                                                   # warm-up (threads, pages)
    return 2.0 * n ** 3 / min(_wall(lambda: A @ B) for _ in range(reps))


def bench_gd_paper_size(d=2048, P=1024, ms=(128, 512, 1024), beta=0.8, eta=0.2, sigma0=1e-3, k=4,
                        sweep_widths=tuple(2 ** i for i in range(3, 11)), sweep_seeds=3,
                        sweep_steps=16000):
    """Population GD at the paper's size (d = 2048, P = 1024): the reduced representation
    (``population_gd(m, d, a, seeds=[0], dtype=...)``) in float64 against float32, same run.

    Time per step (wall clock) from two step counts, ``(t(N2) - t(N1)) / (N2 - N1)``, so that the
    setup (initialisation, QR of the orthogonal block, greedy pairing) cancels; N2 - N1 = 20 steps
    for m <= 512, 6 for m = 1024.  Flops per step ``4 m^2 (P + m)`` (Gram matrix ``W W^T`` and
    update ``kH W``, ``W`` of shape ``m x (P + m)``; nominal, numpy's symmetric kernel does half the
    Gram matrix), against the peak of one large numpy matrix product of each dtype measured in the
    same run.  Projection of the width sweep (``sweep_widths`` x ``sweep_seeds`` seeds x
    ``sweep_steps`` steps): measured per-step times where measured, otherwise ``c m^2 (P + m)``
    with ``c`` fitted (geometric mean) to the measured widths; seeds cost one product each
    (``population_gd`` uses per-seed products for m >= 48), per-step Python overhead of the
    narrow widths is not modelled (it is small next to the wide ones)."""
    a = spectra.power_law_amplitudes(P, beta)
    kw = dict(k=k, eta=eta, sigma0=sigma0, show_progress=False, n_record=1)
    dtypes = ("float64", "float32")
    peak = {dt: _matmul_peak(dt) for dt in dtypes}
    print(f"population GD d={d} P={P} (reduced, seeds=[0]), wall clock; numpy matmul "
          f"peak: float64 {peak['float64'] / 1e9:.1f} GFLOP/s, float32 "
          f"{peak['float32'] / 1e9:.1f} GFLOP/s")
    per_step = {dt: {} for dt in dtypes}
    for m in ms:
        n1, n2 = (2, 22) if m <= 512 else (1, 7)
        flops = 4.0 * m ** 2 * (P + min(m, d - P))
        for dt in dtypes:
            t1 = _wall(lambda: em.population_gd(m, d, a, seeds=[0], dtype=dt, steps=n1, **kw))
            t2 = _wall(lambda: em.population_gd(m, d, a, seeds=[0], dtype=dt, steps=n2, **kw))
            per_step[dt][m] = max(t2 - t1, 1e-9) / (n2 - n1)
        t64, t32 = per_step["float64"][m], per_step["float32"][m]
        print(f"  m={m:5d} ({n2 - n1:2d} steps): float64 {1e3 * t64:8.2f} ms/step "
              f"({flops / t64 / peak['float64']:5.1%} of peak), float32 {1e3 * t32:8.2f} ms/step "
              f"({flops / t32 / peak['float32']:5.1%} of peak); float32/float64 time "
              f"{t32 / t64:.2f}")
    cost = lambda m: m ** 2 * (P + min(m, d - P))             # noqa: E731
    print(f"  projected width sweep: widths {list(sweep_widths)}, {sweep_seeds} seeds, "
          f"{sweep_steps} steps each")
    for dt in dtypes:
        c = float(np.exp(np.mean([np.log(per_step[dt][m] / cost(m)) for m in ms])))
        t_m = {m: per_step[dt].get(m, c * cost(m)) for m in sweep_widths}
        total = sweep_seeds * sweep_steps * sum(t_m.values())
        wide = max(sweep_widths)
        print(f"    {dt}: c = {c:.3g} s per m^2 (P+m); total {total / 3600:.2f} h "
              f"(m={wide}: {sweep_seeds * sweep_steps * t_m[wide] / 3600:.2f} h)")


if __name__ == "__main__":
    bench_gd()
    bench_gd_batch()
    bench_sgd()
    bench_gd_paper_size()
