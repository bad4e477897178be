r"""Experiments of chapter 3 (specialisation): leaving the symmetric plateau and the approach to the
teacher, for isotropic inputs and for a power-law spectrum at L = N.

Each function computes one section's runs from the chapter's parameters and returns what the
chapter plots and checks (arrays and scalars; no per-step weights or overlaps).  The chapter runs
them through :func:`scalinglaws.experiments.call` / :func:`scalinglaws.experiments.run`, so that
they are cached in the results store:

=========================  ======================================================================
:func:`transition`         K = M = 2, L = 1: SGD seed by seed and the ODE from each seed's initial
                           overlaps; escape times, assignments, the aligned comparison, the tail
                           rates against the Jacobian at the specialised fixed point, end states
:func:`multi_plateau`      K = M = 4: one SGD run and the ODE from its initial overlaps
:func:`large_L`            power law at L = N, one K: the ODE of several teacher draws and SGD
                           from the same draws
:func:`crossover`          K = M = 1, one (L, β, draw): the ODE and the linearisation at the
                           specialised fixed point
:func:`fig6`               the paper's Fig. 6 setting (K = M = 40, L = N = 512) from the paper's
                           initialisation: the plateau approach, ODE and SGD
:func:`specialised_phase`  the same setting started inside the specialised phase (one draw): the
                           ODE, its linearisation and SGD; :func:`specialised_summary` fits the
                           exponents over draws
=========================  ======================================================================

``plot_*`` functions draw the chapter's figures from these results and return the figure;
:func:`large_L_setting` and :func:`large_L_sizes` describe the large-L runs for the checks.
Formulas live in :mod:`scalinglaws.committee.specialisation`.
"""

from __future__ import annotations

import numpy as np

from scalinglaws.committee import ode
from scalinglaws.committee import specialisation as sp
from scalinglaws.committee.setup import Overlaps, Setup, draw_weights
from scalinglaws.spectra import Spectrum

__all__ = ["transition", "multi_plateau", "large_L", "crossover", "large_L_setting", "large_L_sizes", "fig6",
           "sgd_ode_ratio", "plot_fig6", "specialised_phase", "specialised_summary", "plot_specialised",
           "plot_transition", "plot_multi_plateau", "plot_large_L", "plot_crossover"]


# ----------------------------------------------------------------------------------------------
# the transition, K = M = 2, L = 1
# ----------------------------------------------------------------------------------------------
def transition(K: int, eta: float, sigma_J: float, N: int, seeds: int, t_max: float, dt_rec: float,
               align_level: float, n_lags: int, t_plateau: float = 100.0,
               tail_window: tuple = (1e-10, 1e-7)) -> dict:
    r"""The specialisation transition for isotropic inputs: K = M = ``K``, learning rate ``eta``,
    online SGD at input dimension N from student entries N(0, ``sigma_J``²) and an orthonormal
    teacher (T = 1), seeds 0 … seeds-1, recorded every ``dt_rec`` to ``t_max``; and the ODE from
    each seed's initial overlaps.

    Returns (per seed: arrays over seeds)

    * ``times``, ``eps_s``, ``eps_o`` -- the SGD and ODE learning curves (seeds, times);
    * ``esc_sgd``, ``esc_ode`` -- escape times (specialisation gap ½,
      :func:`~scalinglaws.committee.specialisation.escape_time`);
    * ``same_perm`` -- fraction of seeds whose final SGD and ODE assignments agree;
      ``pred_at_escape`` -- per seed, whether the SGD assignment at the first record with gap
      ``align_level`` is already the final one;
    * ``ac`` -- the :class:`~scalinglaws.committee.specialisation.AlignedComparison` at gap
      ``align_level`` over ``n_lags`` records;
    * ``rate_jac``, ``rate_next`` -- :math:`2|\mu_1|` and the next distinct decay rate of the
      Jacobian at the specialised fixed point of each seed's teacher and ODE assignment;
      ``rate_fit_ode``, ``rate_fit_sgd`` -- the rates fitted to the tails
      (:func:`~scalinglaws.committee.specialisation.exponential_rate` on ``tail_window``);
    * ``gap_end``, ``eps_end`` -- the smallest final gap and the largest final error over SGD
      seeds and ODEs; ``gap_plateau`` and ``eps_plateau`` -- the largest SGD gap and the smallest
      ODE error at ``t_plateau`` (on the plateau, before any seed escapes).
    """
    s = Setup(K, K, eta)
    times = np.arange(0.0, t_max + dt_rec / 2, dt_rec)
    runs = sp.simulate_seeds(s, N, times, range(seeds), sigma_J=sigma_J, teacher="orthonormal", n_jobs=1)
    odes = [ode.integrate(s, sp.state_at(tr, 0), times=times, show_progress=False) for tr in runs]
    out = dict(times=times, eps_s=np.array([tr.loss for tr in runs]), eps_o=np.array([o.loss for o in odes]))
    out["esc_sgd"] = np.array([sp.escape_time(tr.t, sp.specialisation_gap(tr.R, tr.T)) for tr in runs])
    out["esc_ode"] = np.array([sp.escape_time(o.t, sp.specialisation_gap(o.R, o.T)) for o in odes])
    out["same_perm"] = np.mean([np.array_equal(sp.assignment(tr.R[-1], tr.T), sp.assignment(o.R[-1], o.T))
                                for tr, o in zip(runs, odes)])
    # which unit goes where: does the teacher with the largest |A_in| at the escape predict it?
    pred = []
    for tr in runs:
        k = int(np.flatnonzero(sp.specialisation_gap(tr.R, tr.T) >= align_level)[0])
        pred.append(np.array_equal(sp.assignment(tr.R[k], tr.T), sp.assignment(tr.R[-1], tr.T)))
    out["pred_at_escape"] = pred
    out["ac"] = sp.aligned_comparison(s, runs, align_level, n_lags)
    out.update(_tail_rates(s, runs, odes, tuple(tail_window)))
    out["gap_end"] = min([sp.specialisation_gap(tr.R[-1], tr.T) for tr in runs] +
                         [sp.specialisation_gap(o.R[-1], o.T) for o in odes])
    out["eps_end"] = max([tr.loss[-1] for tr in runs] + [o.loss[-1] for o in odes])
    k_pl = int(np.searchsorted(times, t_plateau))
    out["gap_plateau"] = max(float(sp.specialisation_gap(tr.R[k_pl], tr.T)) for tr in runs)
    out["eps_plateau"] = float(np.min(out["eps_o"][:, k_pl]))
    return out


def _tail_rates(s: Setup, runs, odes, window) -> dict:
    """Jacobian rates at each seed's specialised fixed point and the fitted tail rates."""
    rate_fit_ode, rate_fit_sgd, rate_jac, rate_next = [], [], [], []
    for tr, o in zip(runs, odes):
        fp = sp.specialised_fixed_point(tr.groups["T"], sp.assignment(o.R[-1], o.T))
        mu = sp.relaxation_rates(s, fp)
        rate_jac.append(-2 * mu[0].real)
        rate_next.append(sp.two_slowest_rates(mu)[1])   # next distinct mode: the competing hypothesis
        rate_fit_ode.append(sp.exponential_rate(o.t, o.loss, window)[0])
        rate_fit_sgd.append(sp.exponential_rate(tr.t, tr.loss, window)[0])
    return dict(rate_jac=np.array(rate_jac), rate_fit_ode=np.array(rate_fit_ode),
                rate_fit_sgd=np.array(rate_fit_sgd), rate_next=np.array(rate_next))


def plot_transition(tr: dict, N: int, align_level: float):
    """Left: seed-mean SGD and ODE learning curves of :func:`transition`; right: the aligned
    comparison."""
    from scalinglaws.book import plotting
    fig, axs = plotting.figure(2, 1)
    ax = axs[0, 0]
    sub = slice(0, None, 6)
    times, eps_s, eps_o, ac = tr["times"], tr["eps_s"], tr["eps_o"], tr["ac"]
    n = eps_s.shape[0]
    plotting.simulation(ax, times[sub], eps_s.mean(0)[sub], eps_s.std(0, ddof=1)[sub] / np.sqrt(n),
                        label=f"SGD, N={N}, {n} seeds", i=1)
    plotting.theory(ax, times, eps_o.mean(0), label="ODE from each seed's initial overlaps", i=0)
    ax.set_yscale("log"); ax.set_xlabel(r"$\alpha$"); ax.set_ylabel(r"$\varepsilon_g$ (seed mean)")
    ax.set_ylim(1e-12, 0.3); ax.legend()
    ax = axs[0, 1]
    plotting.simulation(ax, ac.lags, ac.sgd_mean, ac.sgd_se, label="SGD after alignment", i=1)
    plotting.theory(ax, ac.lags, ac.ode_mean, label="ODE restarted from each seed's state", i=0)
    ax.set_yscale("log"); ax.set_xlabel(r"$\alpha-\alpha_{\rm align}$ (gap = %.1f)" % align_level)
    ax.set_ylabel(r"$\varepsilon_g$"); ax.legend()
    return fig


# ----------------------------------------------------------------------------------------------
# several plateaus, K = M = 4
# ----------------------------------------------------------------------------------------------
def multi_plateau(K: int, eta: float, sigma_J: float, N: int, t_max: float, seed: int = 0,
                  dt: float = 20.0) -> dict:
    r"""K = M = ``K``, isotropic inputs, orthonormal teacher: one SGD run (``seed``) at input
    dimension N and the ODE from its initial overlaps, recorded every ``dt`` to ``t_max``.

    Returns ``times``, ``amax_s`` / ``amax_o`` (per unit the largest teacher coefficient
    :math:`\max_n|A_{in}|`, sorted over units; times × K) and ``loss_s`` / ``loss_o``."""
    s = Setup(K, K, eta)
    times = np.arange(0.0, t_max + 10.0, dt)
    run = sp.simulate_seeds(s, N, times, [seed], sigma_J=sigma_J, teacher="orthonormal", n_jobs=1)[0]
    o = ode.integrate(s, sp.state_at(run, 0), times=times, show_progress=False)
    return dict(times=times, loss_s=run.loss, loss_o=o.loss,
                amax_s=np.sort(np.abs(sp.teacher_coefficients(run.R, run.T)).max(axis=2), axis=1),
                amax_o=np.sort(np.abs(sp.teacher_coefficients(o.R, o.T)).max(axis=2), axis=1))


def plot_multi_plateau(m: dict, N: int):
    """Left: the sorted largest teacher coefficients of :func:`multi_plateau` (ODE lines, SGD
    markers); right: the learning curves."""
    from scalinglaws.book import plotting
    times = m["times"]
    fig, axs = plotting.figure(2, 1)
    for i in range(m["amax_o"].shape[1]):
        plotting.theory(axs[0, 0], times, m["amax_o"][:, i], i=i, label=f"ODE, unit rank {i + 1}")
        plotting.simulation(axs[0, 0], times[::5], m["amax_s"][::5, i], i=i)
    axs[0, 0].set_xlabel(r"$\alpha$"); axs[0, 0].set_ylabel(r"$\max_n |A_{in}|$ (sorted over units)")
    axs[0, 0].legend()
    plotting.theory(axs[0, 1], times, m["loss_o"], label="ODE (same initial overlaps)")
    plotting.simulation(axs[0, 1], times[::5], m["loss_s"][::5], label=f"SGD, N={N}, one seed", i=1)
    axs[0, 1].set_yscale("log"); axs[0, 1].set_xlabel(r"$\alpha$"); axs[0, 1].set_ylabel(r"$\varepsilon_g$")
    axs[0, 1].set_ylim(1e-12, 0.3); axs[0, 1].legend()
    return fig


# ----------------------------------------------------------------------------------------------
# large L: power law at L = N
# ----------------------------------------------------------------------------------------------
def large_L(K: int, L: int, N: int, eta: float, sigma_J: float, beta: float, n_teachers: int,
            seeds: int, t_max: float, t_max_sgd: float, first_draw: int = 100) -> dict:
    r"""K = M = ``K`` with the power-law spectrum (L, ``beta``) at input dimension N: the ODE from
    the overlaps of ``n_teachers`` random draws (Gaussian teacher, student entries
    N(0, ``sigma_J``²), draws ``first_draw`` + d) at 80 log-spaced times to ``t_max``, and online SGD
    (seed d) from the weights of the first ``seeds`` draws with the ODE from the same weights, at
    25 log-spaced times to ``t_max_sgd``.

    Returns ``times`` and ``E`` (draws × times) of the ODE, ``esc`` (K > 1: the escape time of each
    draw, gap ½; None for K = 1), ``t_sgd``, ``sgd`` and ``ode_same`` (seeds × SGD times)."""
    spec = Spectrum.power_law(L, beta)
    times = ode.log_times(t_max, n=80, t_min=0.1)
    s = Setup(K, K, eta, spectrum=spec)
    o_list = [ode.integrate(s, Overlaps.random(s, N, seed=first_draw + d, sigma_J=sigma_J),
                            times=times, show_progress=False) for d in range(n_teachers)]
    # K > 1: where each draw leaves the symmetric plateau (gap 1/2), to compare with the fit window
    esc = (np.array([sp.escape_time(o.t, sp.specialisation_gap(o.R, o.T)) for o in o_list])
           if K > 1 else None)
    # SGD from the same draws (seed d uses the same teacher construction via J0/B0)
    t_sgd = ode.log_times(t_max_sgd, n=25, t_min=1.0)
    sg, od_same = [], []
    for d in range(seeds):
        J0, B0 = draw_weights(s, N, first_draw + d, sigma_J)
        tr = sp.simulate_seeds(s, N, t_sgd, [d], J0=J0, B0=B0, n_jobs=1)[0]
        sg.append(tr.loss)
        od_same.append(ode.integrate(s, Overlaps.from_weights(J0, B0, spec), times=tr.t,
                                     show_progress=False).loss)
    return dict(times=times, E=np.array([o.loss for o in o_list]), esc=esc, t_sgd=tr.t, sgd=np.array(sg),
                ode_same=np.array(od_same))


def large_L_setting(K: int, eta: float, sigma_J: float, L: int, N: int, n_teachers: int) -> str:
    """``"paper"`` at the size of the paper's Fig. 6 (K = M = 40, η = 0.01, σ_J = 1e-6,
    L = N = 512, at least 10 initialisations), else ``"reduced"``."""
    paper_size = (K == 40 and eta == 0.01 and sigma_J == 1e-6 and L == N == 512 and n_teachers >= 10)
    return "paper" if paper_size else "reduced"


def large_L_sizes(K: int, eta: float, sigma_J: float, L: int, beta: float, n_teachers: int) -> str:
    """The sizes of a large-L run next to the paper's Fig. 6, for a check's ``sizes=``."""
    return (f"K=M={K}, eta={eta}, sigma_J={sigma_J}, L=N={L}, beta={beta}, {n_teachers} teacher "
            "draws (paper Fig. 6: K=M=40, eta=0.01, sigma_J=1e-6, L=N=512, 10 initialisations)")


def plot_large_L(big: dict, window, L: int, N: int, beta: float):
    """One panel per K (keys of ``big``: :func:`large_L` results with the power-law ``fit``
    added): the teacher-averaged ODE, SGD and the ODE from the same draws, and the fit."""
    from scalinglaws.book import plotting
    fig, axs = plotting.figure(len(big), 1)
    for j, (K, b) in enumerate(big.items()):
        ax = axs[0, j]
        n_teachers, seeds = b["E"].shape[0], b["sgd"].shape[0]
        plotting.theory(ax, b["times"][1:], b["E"].mean(0)[1:], label=f"ODE, mean of {n_teachers} teachers", i=0)
        sgm, sgse = b["sgd"].mean(0), b["sgd"].std(0, ddof=1) / np.sqrt(seeds)
        plotting.simulation(ax, b["t_sgd"][1:], sgm[1:], sgse[1:], label=f"SGD, N={N}, {seeds} seeds", i=1)
        ax.plot(b["t_sgd"][1:], b["ode_same"].mean(0)[1:], "--", color=plotting.color(1), lw=1.2,
                label="ODE, same draws as SGD")
        aw = np.geomspace(*window, 20)
        ax.plot(aw, b["fit"](aw) * 1.5, "k:", label=r"fit $\alpha^{%.2f}$ ($\times1.5$)" % b["fit"].slope)
        plotting.loglog(ax, r"$\alpha$", r"$\varepsilon_g$", f"K = M = {K}, L = N = {L}, β = {beta}")
        ax.legend()
    return fig


# ----------------------------------------------------------------------------------------------
# crossover with L and beta, K = M = 1
# ----------------------------------------------------------------------------------------------
def crossover(L: int, beta: float, seed: int, eta: float, N: int, sigma_J: float, t_max: float,
              start_gap: float = 0.99) -> dict:
    r"""K = M = 1 with the power-law spectrum (L, ``beta``): the ODE from the overlaps of draw
    ``seed`` at input dimension N (80 log-spaced times to ``t_max``) and the linearised theory
    (:func:`~scalinglaws.committee.specialisation.linearised_eps_g`) at the specialised fixed
    point, started at the first record with specialisation gap ``start_gap``.

    Returns ``L``, ``beta``, ``t``, ``eps`` (ODE), ``k0`` (start record), ``lin`` (linearised
    curve from ``k0`` on), ``dev``
    (:func:`~scalinglaws.committee.specialisation.linearisation_deviation`) and ``gap0``."""
    s_c = Setup(1, 1, eta, spectrum=Spectrum.power_law(L, beta))
    init = Overlaps.random(s_c, N, seed=seed, sigma_J=sigma_J)
    tc = ode.log_times(t_max, n=80, t_min=0.1)
    o = ode.integrate(s_c, init, times=tc, keep_groups=True, show_progress=False)
    k0 = int(np.flatnonzero(sp.specialisation_gap(o.R, o.T) >= start_gap)[0])   # start once specialised
    fp = sp.specialised_fixed_point(init.T, [0])
    lin = sp.linearised_eps_g(s_c, fp, sp.state_at(o, k0), tc[k0:], t0=tc[k0])
    return dict(L=L, beta=beta, t=tc, eps=o.loss, k0=k0, lin=lin,
                dev=sp.linearisation_deviation(tc, o.loss, lin, k0),
                gap0=float(sp.specialisation_gap(o.R[k0], o.T)))


def plot_crossover(cross: list, L_list: list, beta: float):
    """Left: the :func:`crossover` runs at ``beta`` for each L of ``L_list`` (ODE lines,
    linearisation crosses); right: the runs at the largest L for the other β (the first
    ``len(L_list)`` entries of ``cross`` are the L runs)."""
    from scalinglaws.book import plotting
    fig, axs = plotting.figure(2, 1)
    nL = len(L_list)
    for j, c in enumerate(cross):
        ax = axs[0, 0] if j < nL else axs[0, 1]
        i = j if j < nL else j - nL + 1
        lab = f"L={c['L']}" if j < nL else f"β={c['beta']}"
        ok = c["eps"] > 1e-9           # below ~1e-9 the K=M=1, L=1 curve shows integrator noise
        plotting.theory(ax, c["t"][1:][ok[1:]], c["eps"][1:][ok[1:]], i=i, label=lab + " (ODE)")
        kk = np.arange(c["k0"], len(c["t"]), 3)
        kk = kk[c["lin"][kk - c["k0"]] > 1e-9]
        ax.plot(c["t"][kk], c["lin"][kk - c["k0"]], "x", color=plotting.color(i), ms=5,
                label=lab + " (linearised, Eq. eq-lin3)")
    if len(cross) > nL:
        c = cross[nL - 1]
        plotting.theory(axs[0, 1], c["t"][1:], c["eps"][1:], i=0, label=f"β={beta} (ODE)")
    for ax, tt in zip(axs[0], [f"K = M = 1, β = {beta}, varying L", f"K = M = 1, L = {L_list[-1]}, varying β"]):
        plotting.loglog(ax, r"$\alpha$", r"$\varepsilon_g$", tt)
        ax.set_ylim(1e-10, 0.3); ax.legend(fontsize=7)
    return fig


# ----------------------------------------------------------------------------------------------
# the paper's Fig. 6 setting: K = M = 40 at L = N = 512
# ----------------------------------------------------------------------------------------------
def fig6(K: int, L: int, N: int, eta: float, sigma_J: float, beta: float, seed: int, t_max: float,
         seeds_sgd: int, t_max_sgd: float, rtol: float = 1e-4) -> dict:
    r"""The paper's Fig. 6 setting (K = M = ``K``, power law (L, ``beta``) at input dimension N,
    η = ``eta``, student entries N(0, ``sigma_J``²), Gaussian teacher) from one weight draw
    (``seed``): the ODE by the exponential integrator (:mod:`scalinglaws.committee.expode`,
    ``rtol``) to ``t_max``, online SGD from the same weights over the data streams of ``seeds_sgd``
    seeds to ``t_max_sgd``, and, as the alternative, the ODE of the same physical overlaps with
    isotropic inputs (L = 1).

    Returns ``t``/``eps`` (ODE on 150 log-spaced times from 0.1 plus the SGD times), ``gap``
    (n_t, K: the per-unit specialisation gap,
    :func:`~scalinglaws.committee.specialisation.specialisation_gap`), ``unit_escape`` (K: the time
    each unit's gap first exceeds ½, NaN if not by ``t_max``), ``t_sgd``, ``sgd`` (seeds × SGD
    times), ``ode_sgd`` and ``iso_sgd`` (the ODE and the isotropic alternative at the SGD times),
    ``steps`` and ``seconds`` of the ODE."""
    import time as _time
    from scalinglaws.committee import expode, sgd
    spec = Spectrum.power_law(L, beta)
    s = Setup(K, K, eta, spectrum=spec)
    J, B = draw_weights(s, N, seed=seed, sigma_J=sigma_J)
    init = Overlaps.from_weights(J, B, spec)
    t_sgd = ode.log_times(t_max_sgd, n=25, t_min=1.0)
    times = np.union1d(ode.log_times(t_max, n=150, t_min=0.1), t_sgd)
    t0 = _time.perf_counter()
    o = expode.integrate(s, init, times=times, rtol=rtol, show_progress=False)
    sec = _time.perf_counter() - t0
    gap = sp.specialisation_gap(o.R, o.T, per_unit=True)
    unit_escape = np.array([sp.escape_time(o.t, gap[:, i]) for i in range(K)])
    idx = np.searchsorted(times, t_sgd)
    s_iso = Setup(K, K, eta)
    C0 = init.physical(spec)
    iso = expode.integrate(s_iso, Overlaps(C0[None, :K, :K], C0[None, :K, K:], C0[None, K:, K:]),
                           times=t_sgd, rtol=rtol, show_progress=False)
    g = sgd.simulate(s, N, times=t_sgd, seeds=list(range(seeds_sgd)), J0=J, B0=B, n_jobs=2,
                     show_progress=False)
    return dict(t=o.t, eps=o.loss, gap=gap, unit_escape=unit_escape, t_sgd=t_sgd, sgd=g.seeds,
                ode_sgd=o.loss[idx], iso_sgd=iso.loss, steps=int(o.meta["steps"]), seconds=float(sec))


def sgd_ode_ratio(sgd_seeds, ref, K: int, N: int, n_sigma: float = 3.0) -> float:
    r"""Largest :math:`|\bar\varepsilon_{\rm SGD} - \varepsilon_{\rm ref}| /
    (n_\sigma\,\mathrm{SE} + (K/N)\,\varepsilon_{\rm ref})` over the compared times (agreement: <= 1).
    The allowance K/N is the relative size of the finite-N corrections of a committee of K units
    at input dimension N (each unit's overlaps fluctuate by O(N^{-1/2}), the K^2 cross terms add
    up to O(K/N) relative); ``sgd_seeds`` (seeds, times), ``ref`` (times,)."""
    S = np.asarray(sgd_seeds, float)
    ref = np.asarray(ref, float)
    m = S.mean(0)
    se = S.std(0, ddof=1) / np.sqrt(S.shape[0])
    return float(np.max(np.abs(m - ref) / (n_sigma * se + (K / N) * np.abs(ref))))


def plot_fig6(r: dict, K: int, L: int, beta: float):
    """Left: the ODE (exponential integrator), SGD (seed mean ± s.e.) and the isotropic alternative;
    right: the per-unit specialisation gaps."""
    from scalinglaws.book import plotting
    fig, axs = plotting.figure(2, 1)
    ax = axs[0, 0]
    plotting.theory(ax, r["t"][1:], r["eps"][1:], label="ODE (exponential integrator)", i=0)
    S = r["sgd"]
    plotting.simulation(ax, r["t_sgd"][1:], S.mean(0)[1:], S.std(0, ddof=1)[1:] / np.sqrt(S.shape[0]),
                        label=f"SGD, {S.shape[0]} data streams", i=1)
    ax.plot(r["t_sgd"][1:], r["iso_sgd"][1:], ":", color="0.4", label="ODE, isotropic inputs (alternative)")
    plotting.loglog(ax, r"$\alpha$", r"$\varepsilon_g$", f"K = M = {K}, L = N = {L}, β = {beta}")
    ax.legend(fontsize=8)
    ax = axs[0, 1]
    for i in range(r["gap"].shape[1]):
        ax.plot(r["t"][1:], r["gap"][1:, i], lw=0.7, color=plotting.color(i % 8))
    ax.set_xscale("log")
    ax.set_xlabel(r"$\alpha$")
    ax.set_ylabel("specialisation gap of each student unit")
    ax.set_ylim(-0.05, 1.05)
    return fig


# ----------------------------------------------------------------------------------------------
# the specialised phase at the Fig. 6 setting, started inside it
# ----------------------------------------------------------------------------------------------
def specialised_phase(K: int, L: int, N: int, eta: float, beta: float, seed: int, delta: float, t_max: float,
                      rtol: float, seeds_sgd: int, t_max_sgd: float, n_times: int = 120,
                      sigma_J: float | None = None) -> dict:
    r"""The Fig. 6 setting (K = M = ``K``, power law (L, ``beta``) at input dimension N, η = ``eta``,
    Gaussian teacher B) started inside the specialised phase: student :math:`J = B + \delta\,\xi`
    with :math:`\xi_{ik}\sim N(0, 1)` (``delta``; for one ``seed``, B and ξ are the teacher and the
    unscaled student of the paper's initialisation).  With ``sigma_J`` given it starts from the
    paper's initialisation :math:`J = \sigma_J\xi` instead (``delta`` unused), which reaches the
    specialised phase only late (beyond α = 10^5 at the paper's K = 40, σ_J = 1e-6).  Runs the ODE
    (:mod:`scalinglaws.committee.expode`, ``rtol``) to ``t_max``, its linearisation at the specialised
    fixed point (:func:`~scalinglaws.committee.expode.specialised_mode_sum`, from the ODE state at
    ``t_all``, students relabelled to their teachers) and, for ``seeds_sgd`` > 0, online SGD from the
    same weights over that many data streams to ``t_max_sgd``.

    Returns ``t`` (``n_times`` log-spaced times from 1 to ``t_max``, plus 25 from 1 to ``t_max_sgd``, so
    that draws with and without SGD share one grid), ``eps``, ``gap_min`` (per time, the smallest
    per-unit specialisation gap), ``t_all`` (the first record at which every unit's gap is at least ½:
    0 for the specialised start, NaN if none by ``t_max``), ``lin`` (the linearised shape from
    ``t_all`` on, 1 there, NaN before), ``t_sgd``, ``sgd`` (streams × SGD times; empty without SGD),
    ``ode_sgd`` (the ODE at the SGD times), ``steps``, ``rejected`` and ``seconds`` of the ODE."""
    import time as _time
    from scalinglaws.committee import expode, sgd
    from scalinglaws.errors import check_int, check_real
    seeds_sgd = check_int("seeds_sgd", seeds_sgd, 0)
    spec = Spectrum.power_law(L, beta)
    s = Setup(K, K, eta, spectrum=spec)
    xi, B = draw_weights(s, N, seed=seed, sigma_J=1.0)
    if sigma_J is None:
        J = B + check_real("delta", delta, 0.0, lo_open=True, hi=1.0) * xi
    else:
        J = check_real("sigma_J", sigma_J, 0.0, lo_open=True) * xi
    init = Overlaps.from_weights(J, B, spec)
    t_sgd = ode.log_times(t_max_sgd, n=25, t_min=1.0)      # on the ODE grid with or without SGD
    times = np.union1d(ode.log_times(t_max, n=n_times, t_min=1.0), t_sgd)
    t0 = _time.perf_counter()
    o = expode.integrate(s, init, times=times, rtol=rtol, show_progress=False)
    sec = _time.perf_counter() - t0
    gap_min = sp.specialisation_gap(o.R, o.T, per_unit=True).min(axis=1)
    lin = np.full(times.size, np.nan)
    done = np.flatnonzero(gap_min >= 0.5)
    t_all = float(times[done[0]]) if done.size else float("nan")
    if done.size:
        k = int(done[0])
        if k == 0:
            Qg, Rg = init.Q, init.R
        else:                                                # the group state at t_all (one record kept)
            g = expode.integrate(s, init, times=times[k:k + 1], rtol=rtol, keep_groups=True,
                                 show_progress=False).groups
            Qg, Rg = g["Q"][-1], g["R"][-1]
        order = np.argsort(sp.assignment(o.R[k], o.T))       # student of teacher i first
        st = Overlaps(Qg[:, order][:, :, order], Rg[:, order], init.T)
        lin[k:] = expode.specialised_mode_sum(s, st, times[k:] - times[k])
    out = dict(t=o.t, eps=o.loss, lin=lin, gap_min=gap_min, t_all=t_all, t_sgd=t_sgd,
               sgd=np.zeros((0, t_sgd.size)), ode_sgd=o.loss[np.searchsorted(times, t_sgd)],
               steps=int(o.meta["steps"]), rejected=int(o.meta["rejected"]), seconds=float(sec))
    if seeds_sgd:
        g = sgd.simulate(s, N, times=t_sgd, seeds=list(range(seeds_sgd)), J0=J, B0=B, n_jobs=2,
                         show_progress=False)
        out["sgd"] = g.seeds
    return out


def _decades(window) -> list:
    """Consecutive one-decade sub-windows covering ``window`` (the last one may be shorter)."""
    lo, hi = float(window[0]), float(window[1])
    edges = [lo]
    while edges[-1] * 10 < hi * (1 - 1e-12):
        edges.append(edges[-1] * 10)
    edges.append(hi)
    return list(zip(edges[:-1], edges[1:]))


def specialised_summary(runs: list, window) -> dict:
    r"""Exponents of the specialised phase from several :func:`specialised_phase` draws (same t), in
    ``window`` with its lower edge raised to the latest ``t_all`` of the draws (the fit starts only
    after every unit of every draw has specialised; a ``ValueError`` if that leaves less than a
    decade).

    Returns ``window`` (the one used), ``slopes`` and ``lin_slopes`` (per draw: the power-law slope of the ODE and of its
    linearisation in ``window``), ``mean``/``se`` (over draws, ddof = 1), ``diff_mean``/``diff_se``
    (the paired ODE − linearisation difference), ``gap_min`` (the smallest per-unit gap of any draw
    in the window), ``local`` (the slopes of the draw-mean curve on each decade of the window),
    ``local_dev`` (their largest distance from the window slope of the mean curve, ``slope_mean_curve``)
    and ``local_dev_exp`` (the same statistic for an exponential with that window slope, the
    alternative of the power-law test)."""
    from scalinglaws.analysis import fits
    from scalinglaws.errors import require
    require(isinstance(runs, (list, tuple)) and len(runs) >= 2, "runs", type(runs).__name__,
            "a list of at least 2 specialised_phase results")
    t = runs[0]["t"]
    require(all(np.array_equal(r["t"], t) for r in runs), "runs", "different time grids", "the same t")
    t_all = max(float(r.get("t_all", 0.0)) for r in runs)
    w = (max(float(window[0]), t_all), float(window[1]))
    require(np.isfinite(t_all) and w[0] * 10 <= w[1], "runs", f"every unit of every draw specialised by alpha={t_all:.4g}",
            f"a time at least a decade before the window's end {w[1]:g} (raise t_max and the window)")
    fit = lambda y, win=w: fits.fit_power_law(t, y, window=win).slope  # noqa: E731
    slopes = np.array([fit(r["eps"]) for r in runs])
    lin = np.array([fit(r["lin"]) for r in runs])
    n = len(runs)
    diff = slopes - lin
    mean_curve = np.mean([r["eps"] for r in runs], axis=0)
    s_mean = fit(mean_curve)
    local = [fit(mean_curve, d) for d in _decades(w)]
    rate = -s_mean * np.log(w[1] / w[0]) / (w[1] - w[0])          # exp(-rate alpha): same window slope
    local_exp = [-rate * (b - a) / np.log(b / a) for a, b in _decades(w)]
    inside = (t >= w[0]) & (t <= w[1])
    return dict(window=w, slopes=slopes, lin_slopes=lin, mean=float(slopes.mean()), se=float(slopes.std(ddof=1) / np.sqrt(n)),
                lin_mean=float(lin.mean()), diff_mean=float(diff.mean()), diff_se=float(diff.std(ddof=1) / np.sqrt(n)),
                gap_min=float(min(r["gap_min"][inside].min() for r in runs)), slope_mean_curve=float(s_mean),
                local=local, local_dev=float(np.max(np.abs(np.array(local) - s_mean))),
                local_dev_exp=float(np.max(np.abs(np.array(local_exp) - s_mean))))


def plot_specialised(runs_by_beta: dict, summaries: dict, window, K: int, L: int):
    """Left: the draw-mean ODE per β (lines), SGD of the first draw (markers, mean ± s.e. over
    streams) with that draw's ODE (dashed), the linearisation (dotted, matched to the ODE at the
    window start) and the window (shaded);
    right: the fitted exponent against β with the linearisation and -β/(1+β)."""
    from scalinglaws.book import plotting
    fig, axs = plotting.figure(2, 1)
    ax = axs[0, 0]
    for i, (b, runs) in enumerate(sorted(runs_by_beta.items())):
        t = runs[0]["t"]
        pos = t > 0
        E = np.mean([r["eps"] for r in runs], axis=0)
        Lc = np.mean([r["lin"] for r in runs], axis=0)
        k0 = int(np.searchsorted(t, window[0]))
        plotting.theory(ax, t[pos], E[pos], label=f"β = {b}: ODE, mean of {len(runs)} draws", i=i)
        ax.plot(t[pos], (Lc * E[k0] / Lc[k0])[pos], ":", color=plotting.color(i), lw=1)
        S = runs[0]["sgd"]
        if S.shape[0] > 1:
            ax.plot(t[pos], runs[0]["eps"][pos], "--", color=plotting.color(i), lw=0.8)
            plotting.simulation(ax, runs[0]["t_sgd"], S.mean(0), S.std(0, ddof=1) / np.sqrt(S.shape[0]),
                                label=f"β = {b}: SGD, first draw, {S.shape[0]} streams", i=i)
    ax.axvspan(window[0], window[1], color="0.92", zorder=0)
    plotting.loglog(ax, r"$\alpha$", r"$\varepsilon_g$", f"specialised phase, K = M = {K}, L = N = {L}")
    ax.legend(fontsize=7)
    ax = axs[0, 1]
    bs = np.array(sorted(summaries))
    ax.errorbar(bs, [summaries[b]["mean"] for b in bs], yerr=[summaries[b]["se"] for b in bs], fmt="o",
                color=plotting.color(0), label="ODE (mean ± s.e. over draws)")
    ax.plot(bs, [summaries[b]["lin_mean"] for b in bs], "s", mfc="none", color=plotting.color(1),
            label="linearisation (same draws)")
    bb = np.linspace(bs.min() * 0.8, bs.max() * 1.1, 50)
    ax.plot(bb, -bb / (1 + bb), "--", color="0.4", label=r"$-\beta/(1+\beta)$")
    ax.set_xlabel(r"$\beta$")
    ax.set_ylabel(f"exponent in {window[0]:g} ≤ α ≤ {window[1]:g}")
    ax.legend(fontsize=7)
    return fig
