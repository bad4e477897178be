"""Experiments of chapter 4 (``chapters/04_feature_learning.md``): the kernel limit (DMFT against
exact random-feature simulations), label noise, weight decay and Langevin training, and the
solvable feature-learning model (finite-width simulations, SGD, time exponents, compute frontiers).

Every function takes the chapter's parameters as keyword arguments (numbers, lists) and returns
a dict of what the chapter plots and checks; the chapter runs the expensive ones through
:func:`scalinglaws.experiments.call` / :func:`~scalinglaws.experiments.run` (results store).
Conventions as in the chapter: loss E[(f − y)²] without ½ (excess over σ² with label noise),
gradient-flow time t (= steps × η for GD).  ``plot_*`` functions draw the chapter's figures from
these results and return the matplotlib figure.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from scalinglaws import spectra
from scalinglaws.analysis.fits import fit_power_law
from scalinglaws.analysis.allocation import allocation_curve, optimal_allocation, window_exponents
from scalinglaws.analysis.frontier import compute_frontier, compute_optimal_exponent
from scalinglaws.book import plotting
from scalinglaws.kernel import dmft
from scalinglaws.kernel import featurelearning as fl
from scalinglaws.kernel import randomfeatures as rf

__all__ = ["kernel_limit", "scaling_exponents", "lazy_frontier", "early_stopping", "langevin",
           "noisy_predictions", "jackknife_optimum_exponents", "plot_noisy_predictions",
           "finite_width", "finite_width_de", "plot_finite_width_de", "sgd_transient", "time_exponents", "rich_frontier",
           "plot_kernel_limit", "plot_bias_variance", "plot_scaling_exponents", "plot_lazy_frontier",
           "plot_early_stopping", "plot_langevin", "plot_finite_width", "plot_sgd_transient",
           "plot_time_exponents", "plot_phase_diagrams", "plot_gamma_curves", "plot_rich_frontier"]

inf = np.inf


def _light(curve):
    """The curve without its per-draw error vectors (extra ``v``: draws × times × modes), which
    the chapter does not use after the bias estimate (keeps the stored result small)."""
    return dataclasses.replace(curve, extras={k: v for k, v in curve.extras.items() if k != "v"},
                               meta=dict(curve.meta))


# ------------------------------------------------------------------------------ 4.1 kernel limit
def kernel_limit(*, M_rf: int, a: float, b: float, N_list: list, P_list: list, N_fixed: int, draws: int,
                 n_talbot: int, eta_gd: float, draws_gd: int) -> dict:
    """DMFT full loss (Eq. eq-two-point) against exact random-feature simulations at the pairs
    (N, P=∞) for N in ``N_list`` and (N_fixed, P) for P in ``P_list`` (seeds 100 + pair index),
    t = 1..1e4; discrete GD (step ``eta_gd``, first ``draws_gd`` draws) against gradient flow at
    P = ∞; the ensembled-predictor bias at (N_fixed, min P_list).

    Returns ``t``, ``runs`` (the (N, P) pairs), ``theory`` / ``sims`` ({pair: Curve}), ``t_gd``,
    ``gd`` ({pair: mean GD loss}), the decision numbers ``z_rf``, ``z_rf_alt`` (one-point theory),
    ``gd_ratio`` (largest fraction of the GD-flow bound), ``gd_rel`` (largest relative GD-flow
    difference of the mean loss), ``x_gd`` (η μ_max), the bias pair ``rP`` with ``b_sim``, ``b_se``,
    ``z_bias``, ``z_bias_alt`` and the late-time rises ``th_rise``, ``sim_rise``.
    """
    lam, w2 = spectra.power_law_task(M_rf, a, b)
    t = np.geomspace(1.0, 1e4, 25)
    runs = [(N, inf) for N in N_list] + [(N_fixed, P) for P in P_list]
    theory, sims = {}, {}
    for k, (N, P) in enumerate(runs):
        theory[N, P] = dmft.dmft_loss(t, lam, w2, N, P, n=n_talbot)
        sims[N, P] = rf.simulate(lam, w2, N, P, t, draws=draws, seed=100 + k, keep_v=True)
    z_rf = max(rf.deviation_ratio(sims[r].loss, sims[r].sem, theory[r].loss) for r in runs)
    z_rf_alt = max(rf.deviation_ratio(sims[r].loss, sims[r].sem, theory[r].bias) for r in runs)
    # discrete GD from w = 0 (exact finite-step formula) and gradient flow at the same t = steps * eta,
    # same draws of A (same seeds): per draw |sqrt(L_GD) - sqrt(L_flow)| <= gd_flow_bound(eta mu_max) sqrt(L0)
    t_gd = eta_gd * np.unique(np.round(t / eta_gd))
    gd, flw, gd_ratio, gd_rel = {}, {}, [], []
    for k, r in enumerate(runs[:len(N_list)]):
        gd[r] = rf.simulate(lam, w2, r[0], inf, t_gd, draws=draws_gd, seed=100 + k, eta=eta_gd)
        flw[r] = rf.simulate(lam, w2, r[0], inf, t_gd, draws=draws_gd, seed=100 + k)
        for d in range(draws_gd):
            bound = rf.gd_flow_bound(eta_gd * gd[r].mu_max[d]) * np.sqrt(w2 @ lam)
            gd_ratio.append(np.max(np.abs(np.sqrt(gd[r].seeds[d]) - np.sqrt(flw[r].seeds[d]))) / bound)
        gd_rel.append(np.max(np.abs(gd[r].loss / flw[r].loss - 1)))
    x_gd = eta_gd * max(gd[r].mu_max.max() for r in gd)
    # bias of the ensembled predictor and the late-time rise at the smallest data set
    rP = (N_fixed, min(P_list))
    b_sim, b_se = rf.ensemble_bias(sims[rP], lam)
    return dict(
        t=t, runs=runs, theory=theory, sims={r: _light(c) for r, c in sims.items()},
        t_gd=t_gd, gd={r: c.loss for r, c in gd.items()}, z_rf=z_rf, z_rf_alt=z_rf_alt,
        gd_ratio=max(gd_ratio), gd_rel=max(gd_rel), x_gd=x_gd, lam=lam, w2=w2, rP=rP,
        b_sim=b_sim, b_se=b_se,
        z_bias=rf.deviation_ratio(b_sim, b_se, theory[rP].bias),
        z_bias_alt=rf.deviation_ratio(b_sim, b_se, theory[rP].loss),   # alternative: "the bias is the full loss"
        th_rise=theory[rP].loss[-1] / theory[rP].loss.min(),
        sim_rise=sims[rP].loss[-1] / sims[rP].loss.min(),
        bias_ratio_late=theory[rP].loss[-1] / theory[rP].bias[-1])


def plot_kernel_limit(res: dict, *, N_list: list, N_fixed: int, eta_gd: float):
    """Figure 'simulation against theory': DMFT lines, simulation markers, discrete GD (dashed) and
    the N = P = ∞ loss (dotted), P = ∞ (left) and N = N_fixed (right)."""
    t, runs, theory, sims, gd = res["t"], res["runs"], res["theory"], res["sims"], res["gd"]
    lam, w2 = res["lam"], res["w2"]
    fig, axs = plotting.figure(ncols=2)
    for ax, sel, title in ((axs[0, 0], runs[:len(N_list)], "P = ∞"),
                           (axs[0, 1], runs[len(N_list):], f"N = {N_fixed}")):
        for i, r in enumerate(sel):
            lab = f"N = {r[0]}" if np.isinf(r[1]) else f"P = {r[1]}"
            plotting.theory(ax, t, theory[r].loss, label=lab + " (DMFT)", i=i)
            plotting.simulation(ax, t[::2], sims[r].loss[::2], sims[r].sem[::2], i=i)
            if r in gd:
                ax.plot(res["t_gd"], gd[r], "--", color=plotting.color(i), lw=1,
                        label=f"discrete GD, η = {eta_gd:g}" if i == 0 else None)
        ax.plot(t, (lam * w2) @ np.exp(-2 * np.outer(lam, t)), ":", color=plotting.color(7), label="N = P = ∞")
        plotting.loglog(ax, "time t", "test loss L", title)
        ax.legend()
    return fig


def plot_bias_variance(res: dict):
    """Figure 'bias and variance' at the pair ``res["rP"]``: DMFT full loss, bias and variance
    against the simulation's loss, unbiased bias estimate and their difference."""
    t, r = res["t"], res["rP"]
    th, sim = res["theory"][r], res["sims"][r]
    fig, axs = plotting.figure()
    ax = axs[0, 0]
    plotting.theory(ax, t, th.loss, label="full loss (DMFT)", i=0)
    plotting.theory(ax, t, th.bias, label="bias (DMFT)", i=1)
    plotting.theory(ax, t, th.variance, label="variance (DMFT)", i=2)
    plotting.simulation(ax, t[::2], sim.loss[::2], sim.sem[::2], i=0)
    plotting.simulation(ax, t[::2], res["b_sim"][::2], res["b_se"][::2], i=1)
    plotting.simulation(ax, t[::2], (sim.loss - res["b_sim"])[::2], i=2)
    plotting.loglog(ax, "time t", "loss", f"N = {r[0]}, P = {r[1]}")
    ax.legend()
    return fig


def scaling_exponents(*, M_exp: int, a: float, b: float, N_exp: list, draws_exp: int, n_talbot: int,
                      M_time: int) -> dict:
    """Time exponent at N = P = ∞ (closed-form sum with ``M_time`` modes, t = 1e1..1e4) and the
    width and data exponents at t → ∞: DMFT at t = 1e9 against the exact t → ∞ simulations (best
    fit in the row space of A, seeds 200 + i; minimum-norm interpolator, seeds 300 + i).

    Returns ``t_e``, ``L_t``, ``N_exp`` (array), ``L_N_th``, ``L_P_th`` (DMFT), ``L_N_sim``,
    ``L_P_sim`` (size × draws) and the fits ``fit_t``, ``fit_N``, ``fit_P``, ``fit_Ns``, ``fit_Ps``.
    """
    lam_e, w2_e = spectra.power_law_task(M_exp, a, b)
    t_inf = np.array([1e9])
    N_exp = np.asarray(N_exp)
    L_N_th = np.array([dmft.dmft_loss(t_inf, lam_e, w2_e, N, inf, n=n_talbot, bias=False).loss[0] for N in N_exp])
    L_P_th = np.array([dmft.dmft_loss(t_inf, lam_e, w2_e, inf, P, n=n_talbot, bias=False).loss[0] for P in N_exp])
    L_N_sim = np.array([fl.width_floor(lam_e, w2_e, int(N), draws=draws_exp, seed=200 + i)
                        for i, N in enumerate(N_exp)])
    L_P_sim = np.array([rf.simulate(lam_e, w2_e, inf, int(P), t_inf, draws=draws_exp, seed=300 + i).seeds[:, 0]
                        for i, P in enumerate(N_exp)])
    t_e = np.geomspace(1e1, 1e4, 20)
    lam_t, w2_t = spectra.power_law_task(M_time, a, b)
    L_t = np.array([(lam_t * w2_t) @ np.exp(-2 * lam_t * x) for x in t_e])
    return dict(t_e=t_e, L_t=L_t, N_exp=N_exp, L_N_th=L_N_th, L_P_th=L_P_th, L_N_sim=L_N_sim, L_P_sim=L_P_sim,
                fit_t=fit_power_law(t_e, L_t), fit_N=fit_power_law(N_exp, L_N_th),
                fit_P=fit_power_law(N_exp, L_P_th), fit_Ns=fit_power_law(N_exp, L_N_sim.mean(axis=1)),
                fit_Ps=fit_power_law(N_exp, L_P_sim.mean(axis=1)))


def plot_scaling_exponents(res: dict, *, draws_exp: int):
    """Figure 'scaling exponents': L(t) at N = P = ∞, and the t → ∞ loss against N and P."""
    fig, axs = plotting.figure(ncols=3, width=4.3)
    ax = axs[0, 0]
    plotting.theory(ax, res["t_e"], res["L_t"], label=f"slope {res['fit_t'].slope:.3f}")
    plotting.loglog(ax, "time t", "L (N = P = ∞)")
    ax.legend()
    N_exp = res["N_exp"]
    for ax, Lth, Lsim, name in ((axs[0, 1], res["L_N_th"], res["L_N_sim"], "width N (P = ∞)"),
                                (axs[0, 2], res["L_P_th"], res["L_P_sim"], "data P (N = ∞)")):
        plotting.theory(ax, N_exp, Lth, label="DMFT, t → ∞")
        plotting.simulation(ax, N_exp, Lsim.mean(axis=1), Lsim.std(axis=1, ddof=1) / np.sqrt(draws_exp),
                            label="simulation, t → ∞", i=1)
        plotting.loglog(ax, name, "L")
        ax.legend()
    return fig


def lazy_frontier(*, al: float, be: float, M_co: int, N_co: list, N_co_sim: list, draws_co: int,
                  co_window: list) -> dict:
    """Lazy compute-optimal frontier L*(C) = min_N L(N, C/N) (P = ∞) read off the DMFT loss surface
    of the task ``spectra.source_task(M_co, al, be)`` at the widths ``N_co``, with exact
    simulations at ``N_co_sim`` (seeds 800 + N) checking that surface.

    Returns ``al``, ``be``, ``t_co``, ``C_grid``, ``Lth`` (widths × times), the frontiers ``f_th``
    and ``f_sim``, the power-law ``fit`` of ``f_th`` on ``co_window``, and ``z`` (surface against
    simulation) / ``z_alt`` (the N = ∞ loss: no width effect).
    """
    t_co = np.geomspace(0.5, 1e7, 40)
    C_grid = np.geomspace(10, 1e7, 40)
    lam_c, w2_c = spectra.source_task(M_co, al, be)
    Lth = np.array([dmft.dmft_loss(t_co, lam_c, w2_c, N, inf, n=16, bias=False).loss for N in N_co])
    sim = {N: rf.simulate(lam_c, w2_c, N, inf, t_co, draws=draws_co, seed=800 + N) for N in N_co_sim}
    z = max(rf.deviation_ratio(sim[N].loss, sim[N].sem, Lth[i]) for i, N in enumerate(N_co_sim))
    L_inf = (lam_c * w2_c) @ np.exp(-2 * np.outer(lam_c, t_co))          # alternative: no width effect
    z_alt = max(rf.deviation_ratio(sim[N].loss, sim[N].sem, L_inf) for N in N_co_sim)
    f_th = compute_frontier({N: (t_co, L) for N, L in zip(N_co, Lth)}, C_grid)[0]
    f_sim = compute_frontier({N: (t_co, sim[N].loss) for N in N_co_sim}, C_grid)[0]
    fit = fit_power_law(C_grid, f_th, tuple(co_window))
    return dict(al=al, be=be, t_co=t_co, C_grid=C_grid, Lth=Lth, f_th=f_th, f_sim=f_sim, fit=fit, z=z,
                z_alt=z_alt)


def plot_lazy_frontier(co: dict, *, N_co: list, N_co_sim: list):
    """Figure 'the compute-optimal frontier': per task of ``co`` ({name: lazy_frontier result}),
    the DMFT curves of each width against C = N t (grey), the DMFT and simulated frontiers."""
    fig, axs = plotting.figure(ncols=2)
    for ax, (name, d) in zip(axs[0], co.items()):
        for i, N in enumerate(N_co):
            ax.plot(N * d["t_co"], d["Lth"][i], color="0.75", lw=0.8)
        C_grid = d["C_grid"]
        plotting.theory(ax, C_grid, d["f_th"], label=f"DMFT frontier, slope {d['fit'].slope:.3f}", i=0)
        plotting.simulation(ax, C_grid[::3], d["f_sim"][::3], label=f"simulation, N ≤ {max(N_co_sim)}", i=1)
        plotting.loglog(ax, "compute C = N t", "test loss", f"{name}: α = {d['al']:g}, β = {d['be']:g}")
        ax.set_ylim(d["f_th"].min() / 3, 1.5)
        ax.legend()
    return fig


def early_stopping(*, M_rf: int, a: float, b: float, P_es: int, sigma2_es: float, kappas: list, draws_es: int,
                   n_talbot: int) -> dict:
    """Label noise σ² and weight decay κ at N = ∞, P = ``P_es``: the derived noisy DMFT against
    simulations (seeds 400 + κ index) for every κ in ``kappas``, and the early-stopping optima.

    Returns ``t_es``, ``es_th`` / ``es_sim`` ({κ: Curve}), ``z_es``, ``z_es_alt`` (the one-point
    theory), ``opt_th`` / ``opt_sim`` ({κ: (t*, L*)}) and ``opt_bias`` (the one-point theory's
    minimum at κ = 0)."""
    lam_s, w2_s = spectra.power_law_task(M_rf, a, b)
    t_es = np.geomspace(0.1, 1e4, 41)
    es_th, es_sim = {}, {}
    for k, kap in enumerate(kappas):
        es_th[kap] = dmft.dmft_loss(t_es, lam_s, w2_s, inf, P_es, sigma2=sigma2_es, kappa=kap, n=n_talbot)
        es_sim[kap] = rf.simulate(lam_s, w2_s, inf, P_es, t_es, draws=draws_es, seed=400 + k,
                                  sigma2=sigma2_es, kappa=kap)
    z_es = max(rf.deviation_ratio(es_sim[k].loss, es_sim[k].sem, es_th[k].loss) for k in kappas)
    opt_th = {k: dmft.early_stopping_optimum(t_es, es_th[k].loss) for k in kappas}
    opt_sim = {k: dmft.early_stopping_optimum(t_es, es_sim[k].loss) for k in kappas}
    # alternative: the one-point theory (loss of the ensembled predictor), which has no noise-fitting rise
    z_es_alt = max(rf.deviation_ratio(es_sim[k].loss, es_sim[k].sem, es_th[k].bias) for k in kappas)
    opt_bias = (float(t_es[np.argmin(es_th[0.0].bias)]), float(es_th[0.0].bias.min()))
    return dict(t_es=t_es, es_th=es_th, es_sim=es_sim, z_es=z_es, z_es_alt=z_es_alt, opt_th=opt_th,
                opt_sim=opt_sim, opt_bias=opt_bias)


def plot_early_stopping(res: dict, *, kappas: list, P_es: int, sigma2_es: float):
    """Figure 'label noise, early stopping and weight decay' (stars: the theory's optima)."""
    t_es, es_th, es_sim, opt_th = res["t_es"], res["es_th"], res["es_sim"], res["opt_th"]
    fig, axs = plotting.figure()
    ax = axs[0, 0]
    for i, kap in enumerate(kappas):
        plotting.theory(ax, t_es, es_th[kap].loss, label=f"κ = {kap:g} (DMFT)", i=i)
        plotting.simulation(ax, t_es[::3], es_sim[kap].loss[::3], es_sim[kap].sem[::3], i=i)
        ax.plot(*opt_th[kap], "*", color=plotting.color(i), ms=12)
    plotting.loglog(ax, "time t", "excess test loss", f"N = ∞, P = {P_es}, σ² = {sigma2_es:g}")
    ax.legend()
    return fig


def langevin(*, M_rf: int, a: float, b: float, P_es: int, sigma2_es: float, draws: int, n_talbot: int) -> dict:
    """Langevin training at T = κ = σ²/P (N = ∞): the derived theory (noisy DMFT + Eq.
    eq-langevin) against the simulation (seed 500) and the exact GP posterior (seed 501).

    Returns ``T_gp``, ``t_l``, ``lang_gf`` (theory without the Langevin term), ``lang_th``,
    ``lang_sim`` (Curve), ``gp`` (posterior-sample test loss per draw), ``z_lang``, ``z_lang_alt``."""
    lam_s, w2_s = spectra.power_law_task(M_rf, a, b)
    T_gp = kap_gp = sigma2_es / P_es
    t_l = np.geomspace(0.1, 1e5, 31)
    lang_gf = dmft.dmft_loss(t_l, lam_s, w2_s, inf, P_es, sigma2=sigma2_es, kappa=kap_gp, n=n_talbot,
                             bias=False).loss
    lang_th = lang_gf + dmft.langevin_variance(t_l, lam_s, P_es, T=T_gp, kappa=kap_gp, n=n_talbot)
    lang_sim = rf.simulate(lam_s, w2_s, inf, P_es, t_l, draws=draws, seed=500, sigma2=sigma2_es, kappa=kap_gp,
                           T=T_gp)
    gp = rf.gp_posterior_loss(lam_s, w2_s, P_es, sigma2_es, draws=draws, seed=501)
    return dict(T_gp=T_gp, t_l=t_l, lang_gf=lang_gf, lang_th=lang_th, lang_sim=lang_sim, gp=gp,
                z_lang=rf.deviation_ratio(lang_sim.loss, lang_sim.sem, lang_th),
                z_lang_alt=rf.deviation_ratio(lang_sim.loss, lang_sim.sem, lang_gf))  # alternative: no Langevin term


def plot_langevin(res: dict, *, draws: int):
    """Figure 'Langevin training and the GP posterior' (band: the exact posterior ±1 s.e.)."""
    t_l, lang_sim, gp = res["t_l"], res["lang_sim"], res["gp"]
    fig, axs = plotting.figure()
    ax = axs[0, 0]
    plotting.theory(ax, t_l, res["lang_th"], label="DMFT + Langevin term (derived)")
    plotting.simulation(ax, t_l[::2], lang_sim.loss[::2], lang_sim.sem[::2], label="simulation")
    ax.axhspan(gp.mean() - gp.std(ddof=1) / np.sqrt(draws), gp.mean() + gp.std(ddof=1) / np.sqrt(draws),
               color=plotting.color(2), alpha=0.3, label="exact GP posterior (±1 s.e.)")
    plotting.loglog(ax, "time t", "excess test loss", f"T = κ = σ²/P = {res['T_gp']:g}")
    ax.legend()
    return fig


def jackknife_optimum_exponents(P, t, seeds_by_P: list) -> dict:
    """Early-stopping optima of the draw-mean curves at every data-set size and the power-law
    exponents of ``t*(P)`` and ``L*(P)``, with delete-one-draw jackknife standard errors.

    ``seeds_by_P[i]``: per-draw loss curves ``[draw, time]`` at ``P[i]`` on the time grid ``t``
    (all with the same number of draws; one row: a theory, zero errors).  Returns ``t_star``, ``L_star`` (from the full means),
    ``t_exp``, ``L_exp`` (slopes of log t*, log L* against log P), ``t_exp_se``, ``L_exp_se``
    (jackknife over draws: ``sqrt((n-1)/n * sum (theta_i - mean theta)^2)``)."""
    P = np.asarray(P, dtype=float)
    n = seeds_by_P[0].shape[0]

    def exps(curves):
        opt = np.array([dmft.early_stopping_optimum(t, c) for c in curves])
        return (opt[:, 0], opt[:, 1], fit_power_law(P, opt[:, 0]).slope,
                fit_power_law(P, opt[:, 1]).slope)
    ts, Ls, te, Le = exps([S.mean(axis=0) for S in seeds_by_P])
    if n == 1:                       # a theory curve: no spread
        se = np.zeros(2)
    else:
        jk = np.array([exps([np.delete(S, i, axis=0).mean(axis=0) for S in seeds_by_P])[2:]
                       for i in range(n)])
        se = np.sqrt((n - 1) / n * np.sum((jk - jk.mean(axis=0)) ** 2, axis=0))
    return dict(t_star=ts, L_star=Ls, t_exp=te, L_exp=Le, t_exp_se=float(se[0]),
                L_exp_se=float(se[1]))


def noisy_predictions(*, M_rf: int, a: float, b: float, P_scan: list, sigma2_es: float,
                      draws_scan: int, P_es: int, T_factors: list, N_fin: int, draws: int,
                      n_talbot: int) -> dict:
    """What the random-feature DMFT predicts with label noise, tested against exact simulations.

    (i) The early-stopping optimum against the data-set size (N = ∞, κ = 0, label noise
    ``sigma2_es``): theory and simulation (``draws_scan`` draws, seeds 600 + i) at every P of
    ``P_scan``, on a grid of 20 times per decade; exponents of t*(P), L*(P) with jackknife errors
    (:func:`jackknife_optimum_exponents`).  (ii) Langevin training at T = f κ for f in
    ``T_factors`` (κ = σ²/P_es; f = 1 is the Bayesian case of :func:`langevin`): derived theory
    against simulation (seeds 700 + i).  (iii) Finite width ``N_fin`` with label noise at
    ``P_es`` (κ = 0): DMFT at that N against simulation (seed 800).  (iv) The GP posterior at
    T = κ = σ²/P_es: exact posterior-mean and posterior-sample losses per draw (seed 900)
    against the theory at t = 1e5 (mean: noisy DMFT with weight decay κ; sample: plus the
    Langevin term).

    Returns ``t_scan``, ``scan_th`` / ``scan_sim`` (jackknife dicts of theory curves — zero
    spread — and simulations), ``scan_curves`` ({P: (theory loss, sim mean, sim sem)}),
    ``langevin`` ({f: (z, z_alt)}), ``finite`` (z, z_alt), ``gp_mean``, ``gp_sample`` (per
    draw), ``th_mean``, ``th_sample``."""
    lam, w2 = spectra.power_law_task(M_rf, a, b)
    t = np.geomspace(0.1, 1e4, 101)
    th_curves, sim_seeds, scan_curves = [], [], {}
    for i, P in enumerate(P_scan):
        th = dmft.dmft_loss(t, lam, w2, inf, P, sigma2=sigma2_es, n=n_talbot, bias=False).loss
        sim = rf.simulate(lam, w2, inf, P, t, draws=draws_scan, seed=600 + i, sigma2=sigma2_es)
        th_curves.append(th[None, :])
        sim_seeds.append(np.asarray(sim.seeds))
        scan_curves[P] = (th, sim.loss, sim.sem)
    scan_th = jackknife_optimum_exponents(P_scan, t, th_curves)
    scan_sim = jackknife_optimum_exponents(P_scan, t, sim_seeds)
    kap = sigma2_es / P_es
    t_l = np.geomspace(0.1, 1e5, 31)
    gf = dmft.dmft_loss(t_l, lam, w2, inf, P_es, sigma2=sigma2_es, kappa=kap, n=n_talbot,
                        bias=False).loss
    lang = {}
    V_bayes = dmft.langevin_variance(t_l, lam, P_es, T=kap, kappa=kap, n=n_talbot)
    for i, f in enumerate(T_factors):
        th = gf + dmft.langevin_variance(t_l, lam, P_es, T=f * kap, kappa=kap, n=n_talbot)
        sim = rf.simulate(lam, w2, inf, P_es, t_l, draws=draws, seed=700 + i, sigma2=sigma2_es,
                          kappa=kap, T=f * kap)
        lang[f] = (rf.deviation_ratio(sim.loss, sim.sem, th),
                   rf.deviation_ratio(sim.loss, sim.sem, gf + V_bayes))   # alternative: T = κ
    t_f = np.geomspace(0.1, 1e4, 31)
    th_f = dmft.dmft_loss(t_f, lam, w2, N_fin, P_es, sigma2=sigma2_es, n=n_talbot, bias=False).loss
    th_inf = dmft.dmft_loss(t_f, lam, w2, inf, P_es, sigma2=sigma2_es, n=n_talbot, bias=False).loss
    sim_f = rf.simulate(lam, w2, N_fin, P_es, t_f, draws=draws, seed=800, sigma2=sigma2_es)
    finite = (rf.deviation_ratio(sim_f.loss, sim_f.sem, th_f),
              rf.deviation_ratio(sim_f.loss, sim_f.sem, th_inf))
    gp_mean, gp_sample = rf.gp_posterior_losses(lam, w2, P_es, sigma2_es, draws=draws, seed=900)
    t_inf = np.array([1e5])
    th_mean = float(dmft.dmft_loss(t_inf, lam, w2, inf, P_es, sigma2=sigma2_es, kappa=kap,
                                   n=n_talbot, bias=False).loss[0])
    th_sample = th_mean + float(dmft.langevin_variance(t_inf, lam, P_es, T=kap, kappa=kap,
                                                       n=n_talbot)[0])
    return dict(t_scan=t, scan_th=scan_th, scan_sim=scan_sim, scan_curves=scan_curves,
                langevin=lang, finite=finite, gp_mean=gp_mean, gp_sample=gp_sample,
                th_mean=th_mean, th_sample=th_sample)


def plot_noisy_predictions(res: dict, *, P_scan: list):
    """Left: theory and simulated loss curves at every P of the scan with their optima; right:
    t* and L* against P (theory lines, simulation markers)."""
    fig, axs = plotting.figure(ncols=2)
    ax = axs[0, 0]
    t = res["t_scan"]
    for i, P in enumerate(P_scan):
        th, m, se = res["scan_curves"][P]
        plotting.theory(ax, t, th, label=f"P = {P}", i=i)
        plotting.simulation(ax, t[::5], m[::5], se[::5], i=i)
        ax.plot(res["scan_th"]["t_star"][i], res["scan_th"]["L_star"][i], "*",
                color=plotting.color(i), ms=11)
    plotting.loglog(ax, "time t", "excess test loss", "label noise, N = ∞ (stars: DMFT optimum)")
    ax.legend(fontsize=7)
    ax = axs[0, 1]
    Ps = np.asarray(P_scan, dtype=float)
    for j, (key, lab) in enumerate((("t_star", "t*"), ("L_star", "L*"))):
        e_th = res["scan_th"]["t_exp" if key == "t_star" else "L_exp"]
        e_sim = res["scan_sim"]["t_exp" if key == "t_star" else "L_exp"]
        ax.plot(Ps, res["scan_th"][key], "-", color=plotting.color(j),
                label=f"{lab}: DMFT, slope {e_th:.3f}")
        ax.plot(Ps, res["scan_sim"][key], "o", color=plotting.color(j),
                label=f"{lab}: simulation, slope {e_sim:.3f}")
    plotting.loglog(ax, "data-set size P", "t*  or  L*", "early-stopping optimum against P")
    ax.legend(fontsize=7)
    return fig


# ------------------------------------------------------------------------------ 4.2 feature learning
def finite_width(*, M_sim: int, alpha: float, t_sim_max: float, N_sim: list, seeds_sim: int, eta_sim: float,
                 n_talbot: int) -> dict:
    """The projected model (Eq. eq-projected, hard task β = 0.5) at the widths ``N_sim`` (seeds
    600 + width index) against the infinite-width system (full G and mode-diagonal), γ = 0 and 1.

    Returns ``fw_th``, ``fw_diag`` ({γ: Curve}), ``fw_sim`` ({(γ, N): Curve}), ``allow`` ({N: the
    lazy DMFT width correction}), ``z_fw``, ``z_fw_alt`` (the other γ's theory), ``dev_fw`` (largest
    relative deviation) and ``diag_dev`` (diagonal against full G at γ = 1)."""
    lam_m, w2_m = spectra.source_task(M_sim, alpha, 0.5)
    t_m = np.geomspace(1.0, t_sim_max, 12)
    fw_th, fw_diag, fw_sim = {}, {}, {}
    for g in (0.0, 1.0):
        fw_th[g] = fl.infinite_width_full(lam_m, w2_m, g, t_m, eta=eta_sim)
        fw_diag[g] = fl.infinite_width_diagonal(lam_m, w2_m, g, fw_th[g].t)
        for j, N in enumerate(N_sim):
            fw_sim[g, N] = fl.simulate_projected(lam_m, w2_m, int(N), g, t_m, eta=eta_sim, seeds=seeds_sim,
                                                 seed=600 + j)
    # finite-width allowance: the lazy DMFT width correction at the same N (gradient-flow time)
    allow = {N: np.max(np.abs(dmft.dmft_loss(fw_th[0.0].t, lam_m, w2_m, N, inf, n=n_talbot, bias=False).loss
                              / dmft.dmft_loss(fw_th[0.0].t, lam_m, w2_m, inf, inf, n=n_talbot, bias=False).loss
                              - 1))
             for N in N_sim}
    z_fw = {(g, N): rf.deviation_ratio(fw_sim[g, N].loss, fw_sim[g, N].sem, fw_th[g].loss, rel=allow[N])
            for g in (0.0, 1.0) for N in N_sim}
    # alternative for each: the other γ's infinite-width theory (feature learning has no effect / is absent)
    z_fw_alt = {(g, N): rf.deviation_ratio(fw_sim[g, N].loss, fw_sim[g, N].sem, fw_th[1.0 - g].loss, rel=allow[N])
                for g in (0.0, 1.0) for N in N_sim}
    dev_fw = {(g, N): np.max(np.abs(fw_sim[g, N].loss / fw_th[g].loss - 1)) for g in (0.0, 1.0) for N in N_sim}
    diag_dev = np.max(np.abs(fw_diag[1.0].loss / fw_th[1.0].loss - 1))
    return dict(fw_th=fw_th, fw_diag=fw_diag, fw_sim=fw_sim, allow=allow, z_fw=z_fw, z_fw_alt=z_fw_alt,
                dev_fw=dev_fw, diag_dev=diag_dev)


def finite_width_de(*, M_de: int, alpha: float, beta_de: float, N_de: list, gammas_de: list, seeds_de: int,
                    eta_de: float, t_de_max: float, seed_de: int, n_talbot: int) -> dict:
    """The deterministic-equivalent finite-width theory (:func:`~scalinglaws.kernel.featurelearning.finite_width_theory`)
    against averages over ``seeds_de`` random instances of the projected model
    (:func:`~scalinglaws.kernel.featurelearning.simulate_projected_reduced`, seed ``seed_de`` + width
    index, the same A(0) draws for every γ) at the widths ``N_de`` and strengths ``gammas_de``.

    Returns ``t``; ``th``, ``sim`` ({(γ, N): Curve}); ``z`` ({(γ, N): the largest absolute deviation
    of the theory from the instance mean over the times, in standard errors}); the same for two
    alternatives, ``z_inf`` (the infinite-width
    mode-diagonal theory: no width effect) and ``z_other`` (the theory at the same N with
    γ → 0 for rich runs and γ = ``max(gammas_de)`` for lazy ones: feature learning absent /
    present); ``binning`` ({N: largest relative deviation of the binned lazy gradient-flow loss
    from the Talbot-inverted lazy DMFT of paper (B)}); ``modes`` ({N: (σ, p, floor)})."""
    lam, w2 = spectra.source_task(M_de, alpha, beta_de)
    t = np.geomspace(1.0, t_de_max, 11)
    modes = {N: fl.width_modes(lam, w2, int(N)) for N in N_de}
    th, sim, z, z_inf, z_other = {}, {}, {}, {}, {}
    for j, N in enumerate(N_de):
        for g in gammas_de:
            th[g, N] = fl.finite_width_theory(lam, w2, int(N), g, t, eta=eta_de, modes=modes[N])
            sim[g, N] = fl.simulate_projected_reduced(lam, w2, int(N), g, t, eta=eta_de, seeds=seeds_de,
                                                      seed=seed_de + j)
    inf_th = {g: fl.infinite_width_diagonal(lam, w2, g, th[g, N_de[0]].t) for g in gammas_de}
    zmax = lambda a, c: float(np.max(np.abs(a - c.loss) / c.sem))        # noqa: E731
    for g in gammas_de:
        other = max(gammas_de) if g == 0 else 0.0
        for N in N_de:
            z[g, N] = zmax(th[g, N].loss, sim[g, N])
            z_inf[g, N] = zmax(inf_th[g].loss, sim[g, N])
            z_other[g, N] = zmax(th[other, N].loss, sim[g, N])
    tg = th[gammas_de[0], N_de[0]].t
    binning = {}
    for N in N_de:
        s_, p_, f_ = modes[N]
        ref = dmft.dmft_loss(tg, lam, w2, int(N), inf, n=n_talbot, bias=False).loss
        binning[N] = float(np.max(np.abs((f_ + p_ @ np.exp(-2 * np.outer(s_, tg))) / ref - 1)))
    return dict(t=tg, th=th, sim=sim, z=z, z_inf=z_inf, z_other=z_other, binning=binning, modes=modes,
                inf_th=inf_th)


def plot_finite_width_de(res: dict, *, N_de: list, gammas_de: list, M_de: int, beta_de: float):
    """Figure 'finite-width theory': per γ a panel with the deterministic-equivalent theory (lines)
    and the instance means ± s.e. (markers) at every width, and the infinite-width theory (dotted)."""
    fig, axs = plotting.figure(ncols=len(gammas_de), width=4.3)
    for ax, g in zip(axs[0], gammas_de):
        for i, N in enumerate(N_de):
            c = res["sim"][g, N]
            plotting.theory(ax, res["th"][g, N].t, res["th"][g, N].loss, label=f"N = {N}", i=i)
            plotting.simulation(ax, c.t, c.loss, c.sem, i=i)
        ax.plot(res["t"], res["inf_th"][g].loss, "k:", lw=1, label="N = ∞")
        plotting.loglog(ax, "time t = steps × η", "test loss", f"γ = {g:g}, M = {M_de}, β = {beta_de:g}")
        ax.legend(fontsize=8)
    return fig


def plot_finite_width(res: dict, *, N_sim: list, M_sim: int, alpha: float):
    """Figure 'finite width': full-G theory (solid), mode-diagonal (dashed), simulations (markers)."""
    fw_th, fw_diag, fw_sim = res["fw_th"], res["fw_diag"], res["fw_sim"]
    fig, axs = plotting.figure()
    ax = axs[0, 0]
    for i, g in enumerate((0.0, 1.0)):
        plotting.theory(ax, fw_th[g].t, fw_th[g].loss, label=f"γ = {g:g}, N = ∞, full G", i=i)
        ax.plot(fw_th[g].t, fw_diag[g].loss, "--", color=plotting.color(i), lw=1)
        for j, N in enumerate(N_sim):
            plotting.simulation(ax, fw_sim[g, N].t, fw_sim[g, N].loss, fw_sim[g, N].sem, i=i,
                                fmt="os"[j], label=f"γ = {g:g}, N = {N}")
    plotting.loglog(ax, "time t = steps × η", "test loss", f"M = {M_sim}, α = {alpha:g}, β = 0.5")
    ax.legend(fontsize=8)
    return fig


def sgd_transient(*, M_sim: int, alpha: float, t_sim_max: float, N_sgd: int, seeds_sgd: int, B_sgd: list,
                  eta_sim: float) -> dict:
    """Online minibatch SGD (batch B in ``B_sgd``) against population GD of the rich (γ = 1)
    projected model from the same projections (seed 650), N = ``N_sgd``.

    Returns ``pop`` (population Curve), ``sgd`` ({B: Curve}), ``exc`` ({B: per-seed relative excess
    L_SGD/L_GD − 1, seeds × times}), ``late`` (the late half of the log-time window) and the
    paired B × excess over that window, ``Bex_m`` / ``Bex_se`` ({B: mean} / {B: s.e.})."""
    lam_m, w2_m = spectra.source_task(M_sim, alpha, 0.5)
    t_m = np.geomspace(1.0, t_sim_max, 12)
    pop_sgd = fl.simulate_projected(lam_m, w2_m, int(N_sgd), 1.0, t_m, eta=eta_sim, seeds=seeds_sgd, seed=650)
    sgd, exc = {}, {}
    for B in B_sgd:
        sgd[B] = fl.simulate_projected(lam_m, w2_m, int(N_sgd), 1.0, t_m, eta=eta_sim, seeds=seeds_sgd, seed=650,
                                       batch=int(B))
        exc[B] = sgd[B].seeds / pop_sgd.seeds - 1               # paired relative excess, per seed and time
    late = pop_sgd.t >= np.sqrt(pop_sgd.t[0] * pop_sgd.t[-1])   # second half of the log-time window
    # B x excess averaged over the late window, mean and s.e. over seeds (paired with population GD)
    Bex_m, Bex_se = fl.sgd_batch_excess(pop_sgd.seeds, {B: sgd[B].seeds for B in B_sgd}, pop_sgd.t)
    return dict(pop=pop_sgd, sgd=sgd, exc=exc, late=late, Bex_m=Bex_m, Bex_se=Bex_se)


def plot_sgd_transient(res: dict, *, B_sgd: list, N_sgd: int, M_sim: int, seeds_sgd: int):
    """Figure 'the SGD transient': SGD against population GD (left), B × relative excess (right)."""
    pop, sgd, exc = res["pop"], res["sgd"], res["exc"]
    fig, axs = plotting.figure(ncols=2)
    ax = axs[0, 0]
    plotting.theory(ax, pop.t, pop.loss, label="population GD (B = ∞)", i=0)
    for i, B in enumerate(B_sgd):
        plotting.simulation(ax, sgd[B].t, sgd[B].loss, sgd[B].sem, i=i + 1, label=f"online SGD, B = {B}")
    plotting.loglog(ax, "time t = steps × η", "test loss", f"γ = 1, N = {N_sgd}, M = {M_sim}")
    ax.legend(fontsize=8)
    ax = axs[0, 1]
    for i, B in enumerate(B_sgd):
        ax.errorbar(pop.t, B * exc[B].mean(axis=0), B * exc[B].std(axis=0, ddof=1) / np.sqrt(seeds_sgd),
                    fmt="os"[i], color=plotting.color(i + 1), mfc="white", label=f"B = {B}")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xscale("log"); ax.set_xlabel("time t"); ax.set_ylabel("B × (L_SGD / L_GD − 1)")
    ax.legend(fontsize=8)
    return fig


def time_exponents(*, M_fl: int, alpha: float, betas: list, fit_window: list, gammas: list,
                   betas_gamma: list) -> dict:
    """Infinite-width (mode-diagonal) loss curves on t = 1..fit_window[1] and their time
    exponents χ on ``fit_window``: lazy and rich (γ = 0, 1) for every β in ``betas``, and every γ in
    ``gammas`` for β in ``betas_gamma`` (the hard/easy figure).

    Returns ``t_fl``, ``curves`` ({(β, γ): loss}) and ``chi`` ({(β, γ): (χ, s.e.)}, γ ∈ {0, 1})."""
    t_fl = np.geomspace(1.0, fit_window[1], 60)
    chi, curves = {}, {}
    for beta in betas:
        lam_f, w2_f = spectra.source_task(M_fl, alpha, beta)
        for g in (0.0, 1.0):
            res = fl.infinite_width_diagonal(lam_f, w2_f, g, t_fl)
            curves[beta, g] = res.loss
            f = fit_power_law(t_fl, res.loss, fit_window)
            chi[beta, g] = (-f.slope, f.slope_se)
    for beta in betas_gamma:
        lam_f, w2_f = spectra.source_task(M_fl, alpha, beta)
        for g in gammas:
            if (beta, g) not in curves:
                curves[beta, g] = fl.infinite_width_diagonal(lam_f, w2_f, g, t_fl).loss
    return dict(t_fl=t_fl, curves=curves, chi=chi)


def plot_time_exponents(res: dict, *, betas: list):
    """Figure 'time exponents': lazy χ = β and rich χ = β·max(1, 2/(1+β)) against the solver's χ."""
    chi = res["chi"]
    bb = np.linspace(0.05, 2.5, 200)
    fig, axs = plotting.figure()
    ax = axs[0, 0]
    plotting.theory(ax, bb, fl.chi_map(None, bb, False), label="lazy χ = β", i=0)
    plotting.theory(ax, bb, fl.chi_map(None, bb, True), label="rich χ = β·max(1, 2/(1+β))", i=1)
    for i, g in enumerate((0.0, 1.0)):
        ax.plot(betas, [chi[be, g][0] for be in betas], "os"[i], color=plotting.color(i), mfc="white",
                label=f"infinite-width solver, γ = {g:g}")
    ax.set_xlabel("β"); ax.set_ylabel("time exponent χ"); ax.legend()
    return fig


def plot_phase_diagrams(chi: dict, co: dict, *, betas: list, alpha: float):
    """Figure 'phase diagrams': :func:`~scalinglaws.kernel.featurelearning.chi_map` and
    :func:`~scalinglaws.kernel.featurelearning.compute_map` over (α, β), lazy and rich, with the
    measured time exponents ``chi`` ({(β, γ): (χ, s.e.)}) and lazy compute exponents ``co``
    ({name: lazy_frontier result}) as markers."""
    AL, BE = np.meshgrid(np.linspace(1.05, 4, 120), np.linspace(0.02, 2.5, 120))
    fig, axs = plotting.figure(ncols=2, nrows=2, width=4.6, height=3.6)
    for j, rich in enumerate((False, True)):
        for i, (fun, lab) in enumerate(((fl.chi_map, "time exponent χ"), (fl.compute_map, "compute exponent"))):
            ax = axs[i, j]
            im = ax.pcolormesh(AL, BE, fun(AL, BE, rich) * np.ones_like(AL), shading="auto", cmap="viridis")
            fig.colorbar(im, ax=ax, label=lab)
            ax.plot(AL[0], np.ones_like(AL[0]), "w-", lw=1)
            ax.plot(AL[0], 2 - 1 / AL[0], "w--", lw=1)
            ax.set_xlabel("α"); ax.set_ylabel("β")
            ax.set_title(("rich (γ > 0)" if rich else "lazy (γ = 0)") + ": " + lab, fontsize=10)
            g = 1.0 if rich else 0.0
            if i == 0:
                for be in betas:
                    ax.annotate(f"{chi[be, g][0]:.2f}", (alpha, be), color="w", fontsize=8, ha="center",
                                xytext=(0, 6), textcoords="offset points")
                    ax.plot(alpha, be, "o", mfc="none", mec="w")
            elif not rich:
                for name, d in co.items():
                    ax.annotate(f"{-d['fit'].slope:.2f}", (d["al"], d["be"]), color="w", fontsize=8,
                                ha="center", xytext=(0, 6), textcoords="offset points")
                    ax.plot(d["al"], d["be"], "s", mfc="none", mec="w")
    return fig


def plot_gamma_curves(res: dict, *, gammas: list, betas_gamma: list):
    """Figure 'hard and easy tasks at several γ' (dotted: the rich law t^-χ)."""
    t_fl = res["t_fl"]
    fig, axs = plotting.figure(ncols=2)
    for ax, beta in zip(axs[0], betas_gamma):
        for i, g in enumerate(gammas):
            plotting.theory(ax, t_fl, res["curves"][beta, g], label=f"γ = {g:g}", i=i)
        chi_r = fl.chi_map(None, beta, True)
        ax.plot(t_fl, 0.3 * t_fl ** -chi_r, "k:", lw=1, label=f"t^-{chi_r:.3g}")
        plotting.loglog(ax, "time t", "test loss (N = ∞)", f"{'hard' if beta < 1 else 'easy'} task, β = {beta}")
        ax.legend()
    return fig


def rich_frontier(*, M_cs: int, alpha: float, beta: float, N_cs: list, seeds_cs: int, C_cs_max: float,
                  gamma: float, eta_cs: float, t_min: float, seed_cs: int = 900) -> dict:
    """Compute-optimal frontier and split of the projected model at feature-learning strength
    ``gamma`` from finite-width simulations
    (:func:`~scalinglaws.kernel.featurelearning.simulate_projected_widths`: the instances of
    :func:`~scalinglaws.kernel.featurelearning.simulate_projected_reduced` with seed ``seed_cs``,
    nested across widths and shared by all γ, so lazy and rich runs are paired), up to
    C = N t = ``C_cs_max``.

    Returns ``t`` and ``L`` (per width: times and per-seed losses, seeds × times); ``fit``: the
    grid envelope and its exponent (:func:`~scalinglaws.analysis.frontier.compute_optimal_exponent`);
    ``alloc``: the interpolated optimal width, time and loss with jackknife errors
    (:func:`~scalinglaws.analysis.allocation.optimal_allocation`, optimal times C/N* >= ``t_min``);
    ``th_L`` (per width: the deterministic finite-width theory on the same times), ``th_alloc``
    ((N*, L*) of the theory's surface on ``alloc.C``) and ``th_exp`` (its width and loss exponents
    on the simulations' window; NaN where the theory's optimum leaves the width grid there, which
    fails the chapter's checks that use it)."""
    lam_cs, w2_cs = spectra.source_task(M_cs, alpha, beta)
    C_cs = np.geomspace(10.0, C_cs_max, 41)
    ts = [np.geomspace(1.0, C_cs_max / N, 40) for N in N_cs]
    runs = fl.simulate_projected_widths(lam_cs, w2_cs, [int(N) for N in N_cs], gamma, ts, eta=eta_cs,
                                        seeds=seeds_cs, seed=seed_cs, max_steps=10 ** 10, show_progress=False)
    ts, Ls = [r.t for r in runs], [r.seeds for r in runs]
    th = [fl.finite_width_theory(lam_cs, w2_cs, int(N), gamma, tt, eta=eta_cs).loss for N, tt in zip(N_cs, ts)]
    al = optimal_allocation(N_cs, ts, Ls, C_cs, t_min=t_min)
    th_alloc = allocation_curve(N_cs, ts, th, C_cs)
    try:
        th_exp = window_exponents(C_cs, *th_alloc, al.window)
    except ValueError:                                   # the theory's optimum leaves the grid on the window
        th_exp = (float("nan"), float("nan"))
    return dict(t=ts, L=Ls, fit=compute_optimal_exponent(N_cs, ts, Ls, C_cs, t_min=t_min), alloc=al,
                th_L=th, th_alloc=th_alloc, th_exp=th_exp)


def plot_rich_frontier(cs: dict, *, N_cs: list, alpha: float, tables: dict):
    """Figure 'the compute-optimal split': for each γ of ``cs`` ({γ: rich_frontier result}) the
    frontier L*(C), the optimal width N*(C) and time t*(C) = C/N* of the simulations (markers, on
    the fit window filled) and of the finite-width theory (lines); ``tables`` ({γ: (width exponent,
    loss exponent)}) draws the tables' slopes (dotted) through the window's first point."""
    fig, axs = plotting.figure(ncols=3, width=4.3)
    for i, (g, d) in enumerate(cs.items()):
        al = d["alloc"]
        m = (al.C >= al.window[0]) & (al.C <= al.window[1])
        lab = "rich, γ = " + f"{g:g}" if g > 0 else "lazy, γ = 0"
        aN, aL = tables[g]
        for ax, y, yth, slope in ((axs[0, 0], al.loss, d["th_alloc"][1], -aL),
                                  (axs[0, 1], al.n_opt, d["th_alloc"][0], aN),
                                  (axs[0, 2], al.C / al.n_opt, al.C / d["th_alloc"][0], 1 - aN)):
            plotting.theory(ax, al.C, yth, i=i, label=f"{lab}: finite-width theory")
            ax.plot(al.C, y, "o", color=plotting.color(i), mfc="white", ms=4)
            ax.plot(al.C[m], y[m], "o", color=plotting.color(i), ms=4, label=f"{lab}: simulations (window filled)")
            c0 = al.C[m][0]
            ax.plot(al.C[m], y[m][0] * (al.C[m] / c0) ** slope, "k:", lw=1)
    plotting.loglog(axs[0, 0], "compute C = N t", "optimal loss L*", f"frontier, α = {alpha:g}, β = 0.5")
    plotting.loglog(axs[0, 1], "compute C = N t", "optimal width N*", "width (tables dotted)")
    plotting.loglog(axs[0, 2], "compute C = N t", "optimal time t* = C/N*", "time (tables dotted)")
    axs[0, 0].legend(fontsize=7, loc="lower left")
    return fig
