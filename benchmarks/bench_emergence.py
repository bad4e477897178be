"""Speed of the emergence simulators against naive baselines measured in the same run.

* population GD: reduced exact representation O(m^2 (P + m)) per step vs the full m x d weights
  (O(m^2 d + m P d)), same closed-form gradient; several seeds stacked vs one run per seed;
* online SGD: numba kernel on the full d-dimensional weights and the reduced chain (cost
  independent of d) vs a plain numpy per-sample loop.

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


if __name__ == "__main__":
    bench_gd()
    bench_gd_batch()
    bench_sgd()
