r"""Experiments of chapter 1 (linear theory): the closed form against the ODE and online SGD.

Every function takes the chapter's parameters as keyword arguments and returns what the chapter
plots and checks (Curves without their per-step extras, arrays, floats).  The expensive ones
(ODE integration, SGD, large-L Laplace inversions) are meant to be called through
:func:`scalinglaws.experiments.call` / :func:`~scalinglaws.experiments.run`, which cache them in
the results store; the cheap theory evaluations (:func:`exponent_fits`, :func:`floor_exponent`,
:func:`real_spectrum`, :func:`stability_theory`) are called directly.  ``plot_*`` draw the
chapter's figures from these results.

Settings (the paper's figures, Worschech & Rosenow 2024; our reconstruction of its conventions,
preset ``"worschech-rosenow"``): Fig. 2 left (:func:`ode_vs_closed_form`, :func:`fig2_left`),
several L and β (:func:`grid_point`), Fig. 2 right (:func:`fig2_right`), local slopes and the
power-law window (:func:`local_slopes`, :func:`exponent_fits`), Fig. 3 left: N_l trainable
(:func:`trainable_point`, :func:`floor_exponent`), real data (:func:`real_point`: 32x32 natural-image patches, N = 1024) and the
stability threshold (:func:`stability_runs`).  Times are α = steps/N, errors
ε_g = ½E[(y − ŷ)²].
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from scalinglaws.analysis import fits
from scalinglaws.committee import linear as lin
from scalinglaws.committee import ode, sgd
from scalinglaws.committee.setup import Overlaps, Setup
from scalinglaws.errors import DivergenceError, require
from scalinglaws.result import Curve
from scalinglaws.spectra import Spectrum

__all__ = ["ode_vs_closed_form", "fig2_left", "plot_fig2_left", "grid_point", "plot_grid",
           "fig2_right", "plot_fig2_right", "local_slopes", "plot_local_slopes", "exponent_fits",
           "trainable_point", "plot_trainable", "floor_exponent", "plot_floor", "real_spectrum",
           "real_point", "plot_real", "stability_theory", "stability_runs", "REAL_DATA", "BETA_WINDOWS"]


def _slim(curve: Curve) -> Curve:
    """The curve without its extras (overlaps, initial errors): t, loss, seeds, s.e., meta."""
    meta = {k: v for k, v in curve.meta.items() if v is None or np.isscalar(v)}
    return replace(curve, extras={}, series=(), meta=meta)


def _agr(a: dict, *keys) -> dict:
    return {k: a[k] for k in keys}


# ----------------------------------------------------------------------------------------------
# the closed form against the ODE; the paper's Fig. 2 left
# ----------------------------------------------------------------------------------------------
def ode_vs_closed_form(N_left: int, alpha_max_left: float) -> dict:
    """Largest relative difference of the closed form (``linear.eps_g``) from the order-parameter
    ODE (``ode.integrate``, rtol 1e-10), K = M = 1 (expected initial state, η = 1, L = N_left,
    β = 1) and K = M = 2 (random weights, seed 7, σ_J = 1, η = 0.5), with the small-η sum against
    the same ODE (the checks' alternative).

    Returns ``rel_ode_1``, ``rel_ode_2``, ``alt_ode_1``, ``alt_ode_2`` (floats).
    """
    sp_left = Spectrum.power_law(N_left, 1.0)
    t_ode = ode.log_times(alpha_max_left, n=40, t_min=1e-2)
    # K = M = 1, expected initial state: Q^[l] = sigma_J^2/L, R^[l] = 0, T^[l] = 1/L  (E_l(0) = 2)
    setup_left = Setup(1, 1, 1.0, "linear", sp_left)
    init_left = Overlaps.from_physical([[1.0]], [[0.0]], [[1.0]], sp_left)
    ode_left = ode.integrate(setup_left, init_left, times=t_ode, rtol=1e-10, atol=1e-14)
    E0_1 = lin.group_errors(init_left, setup_left)
    cf_left = lin.eps_g(sp_left, lin.effective_eta(setup_left), t_ode, E0=E0_1)
    # K = M = 2, random weights (sigma_J = 1): closed form from the effective vector's E_l(0)
    setup_k2 = Setup(2, 2, 0.5, "linear", sp_left)
    init_k2 = Overlaps.random(setup_k2, N_left, seed=7, sigma_J=1.0)
    ode_k2 = ode.integrate(setup_k2, init_k2, times=t_ode, rtol=1e-10, atol=1e-14)
    E0_2 = lin.group_errors(init_k2, setup_k2)
    cf_k2 = lin.eps_g(sp_left, lin.effective_eta(setup_k2), t_ode, E0=E0_2)
    # the small-eta sum (no SGD-noise term) against the same ODE: what the check must reject
    alt_1 = lin.small_eta(sp_left, 1.0, t_ode, E0=E0_1)
    alt_2 = lin.small_eta(sp_left, lin.effective_eta(setup_k2), t_ode, E0=E0_2)
    return dict(rel_ode_1=float(np.max(np.abs(cf_left / ode_left.loss - 1))),
                rel_ode_2=float(np.max(np.abs(cf_k2 / ode_k2.loss - 1))),
                alt_ode_1=float(np.max(np.abs(alt_1 / ode_left.loss - 1))),
                alt_ode_2=float(np.max(np.abs(alt_2 / ode_k2.loss - 1))))


def fig2_left(N_left: int, seeds_left: int, alpha_max_left: float, n_times: int) -> dict:
    """The paper's Fig. 2 left (N = L = N_left, K = M = 1, σ_J² = 1, η = 1, β = 1): the exact
    N → ∞ solution and the small-η sum from the expected initial state on 200 times; online SGD
    (seeds 0 … seeds_left−1; ``sim``, with ``median`` the seed median); the exact finite-N mean
    from the seeds' mean initial errors (``finite_N``, at the SGD times); and the ratios quoted in
    the text at α = 1.
    """
    sp_left = Spectrum.power_law(N_left, 1.0)
    setup_left = Setup(1, 1, 1.0, "linear", sp_left)
    seeds_l = list(range(seeds_left))
    sim = sgd.simulate(setup_left, N_left, alpha_max_left, seeds=seeds_l, sigma_J=1.0,
                       n_times=n_times, t_min=1e-2, n_jobs=1)
    E0 = lin.seed_initial_errors(setup_left, N_left, seeds_l, 1.0)
    t_l = np.concatenate([[0.0], np.logspace(-2, np.log10(alpha_max_left), 200)])
    ex_left = lin.eps_g(sp_left, 1.0, t_l, sigma_J=1.0)
    sm_left = lin.small_eta(sp_left, 1.0, t_l, sigma_J=1.0)
    fn_left = lin.eps_g(sp_left, 1.0, sim.t, E0=E0.mean(0), N=N_left)
    ex_seedE0 = lin.eps_g(sp_left, 1.0, sim.t, E0=E0.mean(0))
    i1 = int(np.argmin(np.abs(sim.t - 1.0)))
    median = np.median(sim.seeds, axis=0)
    return dict(t=t_l, exact=ex_left, small_eta=sm_left, sim=_slim(sim), median=median, finite_N=fn_left,
                ratio_left=float(np.interp(1.0, t_l, ex_left / sm_left)),
                sgd_over_ode=float(sim.loss[i1] / ex_seedE0[i1]),
                med_over_ode=float(median[i1] / ex_seedE0[i1]),
                fn_over_ode=float(fn_left[i1] / ex_seedE0[i1]),
                eta_lam1_N=float(sp_left.eigenvalues[0] / N_left))


def plot_fig2_left(r: dict, N_left: int, seeds_left: int):
    """Fig. 2 left: the two N → ∞ theories, the finite-N mean and SGD (mean ± s.e., median)."""
    from scalinglaws.book import plotting
    fig, axs = plotting.figure(1, 1)
    ax = axs[0, 0]
    t_l, sim = r["t"], r["sim"]
    plotting.theory(ax, t_l[1:], r["exact"][1:], r"exact $N\to\infty$", i=0)
    plotting.theory(ax, t_l[1:], r["small_eta"][1:], r"small-$\eta$ sum", i=1, ls="--")
    plotting.theory(ax, sim.t[1:], r["finite_N"][1:], r"exact finite-$N$ mean", i=2, ls=":")
    plotting.simulation(ax, sim.t[1:], sim.loss[1:], sim.sem[1:],
                        f"SGD N={N_left}, mean of {seeds_left} seeds", i=3)
    ax.plot(sim.t[1:], r["median"][1:], "x", color=plotting.color(3), label="SGD seed median")
    plotting.loglog(ax, r"$\alpha$", r"$\varepsilon_g$",
                    rf"$\eta=1$, $N=L={N_left}$, $\beta=1$, $\sigma_J^2=1$")
    ax.set_ylim(1e-5, 5)
    ax.legend()
    return fig


# ----------------------------------------------------------------------------------------------
# several L and beta
# ----------------------------------------------------------------------------------------------
def grid_point(N_grid: int, L: int, beta: float, seeds_grid: int, alpha_max_grid: float) -> dict:
    """SGD (seeds 100 …, η = 0.05, σ_J = 0.01, K = M = 1) at one (L, β) and the closed form from
    the seed-mean initial errors on 150 times (``t``, ``theory``); ``sim`` the SGD Curve."""
    spg = Spectrum.power_law(L, beta)
    st = Setup(1, 1, 0.05, "linear", spg)
    sd = list(range(100, 100 + seeds_grid))
    tr = sgd.simulate(st, N_grid, alpha_max_grid, seeds=sd, sigma_J=0.01, n_times=20, t_min=1e-2, n_jobs=1)
    E0g = lin.seed_initial_errors(st, N_grid, sd, 0.01)
    tt = np.logspace(-2, np.log10(alpha_max_grid), 150)
    return dict(t=tt, theory=lin.eps_g(spg, 0.05, tt, E0=E0g.mean(0)), sim=_slim(tr))


def plot_grid(results: list, L_grid, beta_grid, N_grid: int):
    """One panel per β, one colour per L; ``results`` in the order (β outer, L inner)."""
    from scalinglaws.book import plotting
    fig, axs = plotting.figure(2, 1)
    it = iter(results)
    for j, b in enumerate(beta_grid):
        ax = axs[0, j]
        for i, L in enumerate(L_grid):
            r = next(it)
            tt, tr = r["t"], r["sim"]
            plotting.theory(ax, tt, r["theory"], f"L={L}", i=i)
            plotting.simulation(ax, tr.t[1:], tr.loss[1:], tr.sem[1:], None, i=i)
        s = b / (1 + b)
        ax.plot(tt, 0.3 * tt ** (-s), "k--", lw=1, label=rf"$\propto\alpha^{{-{s:.2f}}}$")
        plotting.loglog(ax, r"$\alpha$", r"$\varepsilon_g$", rf"$\beta={b}$, $N={N_grid}$, $\eta=0.05$")
        ax.legend()
    return fig


# ----------------------------------------------------------------------------------------------
# the paper's Fig. 2 right
# ----------------------------------------------------------------------------------------------
def fig2_right(N_fig2: int, seeds_fig2: int, seed0_fig2: int, alpha_max_fig2: float, n_times: int) -> dict:
    """The paper's Fig. 2 right (N = L = N_fig2, K = M = 1, β = 0.75, η = 0.01, σ_J = 0.01): SGD
    on seeds seed0_fig2 … and the seed-by-seed comparison with the closed form from each seed's
    initial errors (``linear.agreement``: joint Bonferroni criterion over the n_cmp times, the
    exact finite-N difference as allowance), with the ±0.02 exponent-shifted alternatives.

    Returns ``sim`` (Curve), ``th_mean`` (theory from the seeds' E(0), mean), ``t``/``exact``/
    ``gamma`` (expected-E(0) closed form and incomplete-gamma form to α = max(α_max, 10⁴)),
    ``agr_inf``/``agr_N``/``agr_pw`` (``max_ratio``, ``k``), ``alt_inf``/``alt_N`` (ratios of the
    shifted theories), ``n_cmp``, ``init_dev``, ``rel_allow``, ``edge_lo``, ``edge_hi``; for the
    exponential tail (times past ``edge_hi``, when the run reaches them): ``agr_tail`` (the joint
    comparison over those ``n`` times), ``alt_tail`` (its ratio for the alternative
    :func:`~scalinglaws.committee.linear.power_law_continuation`, no tail) and ``tail_drop`` (theory at
    α_max over theory at the edge); NaN when fewer than two output times lie past the edge.
    """
    sp2 = Spectrum.power_law(N_fig2, 0.75)
    setup2 = Setup(1, 1, 0.01, "linear", sp2)
    seeds2 = list(range(seed0_fig2, seed0_fig2 + seeds_fig2))
    sim2 = sgd.simulate(setup2, N_fig2, alpha_max_fig2, seeds=seeds2, sigma_J=0.01, n_times=n_times,
                        t_min=1e-2, n_jobs=2)      # seeds in 2 threads: ~9 us/step at N = 1024
    E0_2 = lin.seed_initial_errors(setup2, N_fig2, seeds2, 0.01)
    th2 = lin.eps_g(sp2, 0.01, sim2.t, E0=E0_2)                    # (S, n_t), N -> infinity
    th2N = lin.eps_g(sp2, 0.01, sim2.t, E0=E0_2, N=N_fig2)         # (S, n_t), exact finite-N mean
    allow2 = np.abs(th2N.mean(0) - th2.mean(0))
    n_cmp2 = len(sim2.t) - 1                                        # alpha = 0 is identical by construction
    agr_inf = lin.agreement(sim2.seeds, th2, allowance=allow2, n_compare=n_cmp2)
    agr_N = lin.agreement(sim2.seeds, th2N, n_compare=n_cmp2)
    agr_pw = lin.agreement(sim2.seeds, th2, allowance=allow2)   # point-wise 3 sigma, for the text
    # the alternative: the same theory with its power-law exponent shifted by +-0.02 once the window opens
    t0_2 = 1 / (2 * 0.01 * sp2.eigenvalues[0])
    alt_inf = [lin.agreement(sim2.seeds, lin.shifted_exponent(sim2.t, th2, d, t0_2), allowance=allow2,
                             n_compare=n_cmp2)["max_ratio"] for d in (0.02, -0.02)]
    alt_N = [lin.agreement(sim2.seeds, lin.shifted_exponent(sim2.t, th2N, d, t0_2),
                           n_compare=n_cmp2)["max_ratio"] for d in (0.02, -0.02)]
    t2 = np.logspace(-2, np.log10(max(alpha_max_fig2, 1e4)), 300)
    lam1, lamL = sp2.eigenvalues[0], sp2.eigenvalues[-1]
    # the exponential tail beyond the upper edge 1/(2 eta lambda_L): the joint comparison over the
    # times past the edge, and the alternative of a power law that continues there
    edge_hi = float(1 / (2 * 0.01 * lamL))
    tail = sim2.t > edge_hi
    agr_tail, alt_tail = dict(max_ratio=float("nan"), k=float("nan"), n=0), float("nan")
    if tail.sum() >= 2:
        pl_alt = lin.power_law_continuation(sim2.t, th2, edge_hi, 0.75 / 1.75)
        agr_tail = dict(_agr(lin.agreement(sim2.seeds[:, tail], th2[:, tail], allowance=allow2[tail],
                                           n_compare=int(tail.sum())), "max_ratio", "k"), n=int(tail.sum()))
        alt_tail = float(lin.agreement(sim2.seeds[:, tail], pl_alt[:, tail], allowance=allow2[tail],
                                       n_compare=int(tail.sum()))["max_ratio"])
    return dict(agr_tail=agr_tail, alt_tail=alt_tail,
                tail_drop=float(th2.mean(0)[-1] / np.interp(edge_hi, sim2.t, th2.mean(0))),
                sim=_slim(sim2), th_mean=th2.mean(0), t=t2, exact=lin.eps_g(sp2, 0.01, t2, sigma_J=0.01),
                gamma=lin.incomplete_gamma(N_fig2, 0.75, 0.01, t2, sigma_J=0.01),
                agr_inf=_agr(agr_inf, "max_ratio", "k"), agr_N=_agr(agr_N, "max_ratio", "k"),
                agr_pw=_agr(agr_pw, "max_ratio", "k"), alt_inf=alt_inf, alt_N=alt_N, n_cmp=n_cmp2,
                init_dev=float(np.max(np.abs(th2.mean(0) / lin.eps_g(sp2, 0.01, sim2.t, sigma_J=0.01) - 1))),
                rel_allow=float(np.max(allow2 / th2.mean(0))),
                edge_lo=float(1 / (2 * 0.01 * lam1)), edge_hi=float(1 / (2 * 0.01 * lamL)))


def plot_fig2_right(r: dict, N_fig2: int, seeds_fig2: int):
    """Fig. 2 right: closed form, incomplete-gamma form, theory from the seeds' E(0), SGD and the
    window edges."""
    from scalinglaws.book import plotting
    fig, axs = plotting.figure(1, 1)
    ax = axs[0, 0]
    sim = r["sim"]
    plotting.theory(ax, r["t"], r["exact"], r"exact, $E_l(0)=1+\sigma_J^2$", i=0)
    plotting.theory(ax, r["t"], r["gamma"], "incomplete-gamma form", i=1, ls="--")
    plotting.theory(ax, sim.t[1:], r["th_mean"][1:], "exact, seeds' own $E(0)$", i=2, ls=":")
    plotting.simulation(ax, sim.t[1:], sim.loss[1:], sim.sem[1:], f"SGD, {seeds_fig2} seeds", i=3)
    for x in (r["edge_lo"], r["edge_hi"]):
        ax.axvline(x, color="gray", lw=0.8, ls="-.")
    plotting.loglog(ax, r"$\alpha$", r"$\varepsilon_g$",
                    rf"$N=L={N_fig2}$, $\beta=0.75$, $\eta=0.01$, $\sigma_J=0.01$")
    ax.legend()
    return fig


# ----------------------------------------------------------------------------------------------
# local slopes, the power-law window and the exponent fits
# ----------------------------------------------------------------------------------------------
def local_slopes(L_fit: int, L_phase_max: int) -> dict:
    r"""Local slopes :math:`d\ln\varepsilon_g/d\ln\alpha` of the exact solution (η = 0.01,
    σ_J = 0.01, Laplace method) at L = 1024, 16384, L_fit and β = 0.75, 1 on 70 times
    (``slopes``: rows (L, β, slope)); the slopes at α = 1 and 1000 for L = 1024, β = 0.75
    (``sl_a1``, ``sl_a1000``); and the phase picture at β = 0.75: for 10 values of L up to
    L_phase_max (``Ls``), where the local slope is within ±0.02 of −β/(1+β) (``ok``), with the
    window edges 1/(2ηλ_1), 1/(2ηλ_L) (``edges``, (n_L, 2)).
    """
    tt = np.logspace(-2, 5, 70)
    rows = []
    for L in [1024, 16384, L_fit]:
        for b in [0.75, 1.0]:
            e = lin.eps_g(Spectrum.power_law(L, b), 0.01, tt, sigma_J=0.01, method="laplace")
            rows.append((L, b, fits.local_slope(tt, e)))
    e1024 = lin.eps_g(Spectrum.power_law(1024, 0.75), 0.01,
                      np.array([0.9, 1.0, 1.1, 900.0, 1000.0, 1100.0]), sigma_J=0.01)
    sl = (fits.local_slope(np.array([0.9, 1.0, 1.1]), e1024[:3])[1],
          fits.local_slope(np.array([900.0, 1000.0, 1100.0]), e1024[3:])[1])
    b = 0.75
    Ls = np.unique(np.logspace(1, np.log10(L_phase_max), 10).astype(int))
    ok = np.zeros((Ls.size, tt.size), bool)
    for i, L in enumerate(Ls):
        e = lin.eps_g(Spectrum.power_law(int(L), b), 0.01, tt, sigma_J=0.01, method="laplace")
        ok[i] = np.abs(fits.local_slope(tt, e) + b / (1 + b)) < 0.02
    lp = np.array([Spectrum.power_law(int(L), b).eigenvalues[[0, -1]] for L in Ls])
    return dict(t=tt, slopes=rows, sl_a1=float(sl[0]), sl_a1000=float(sl[1]), Ls=Ls, ok=ok,
                edges=1 / (2 * 0.01 * lp))


def plot_local_slopes(r: dict):
    """Left: local slopes against α; right: the phase picture (band where the slope is within
    ±0.02 of the law, and the window edges)."""
    from scalinglaws.book import plotting
    tt = r["t"]
    fig, axs = plotting.figure(2, 1)
    ax = axs[0, 0]
    for n, (L, b, slope) in enumerate(r["slopes"]):      # rows: L outer (colour), beta inner (style)
        ax.plot(tt, slope, ["-", "--"][n % 2], color=plotting.color(n // 2), label=f"L={L}, β={b}")
    for b in (0.75, 1.0):
        ax.axhline(-b / (1 + b), color="k", lw=0.8)
    ax.set_xscale("log"); ax.set_ylim(-1.2, 0); ax.set_xlabel(r"$\alpha$")
    ax.set_ylabel(r"local slope $d\ln\varepsilon_g/d\ln\alpha$"); ax.legend(fontsize=7)
    ax = axs[0, 1]
    Ls = r["Ls"]
    ax.pcolormesh(tt, Ls, r["ok"], cmap="Blues", shading="nearest", vmin=0, vmax=1.5)
    ax.plot(r["edges"][:, 0], Ls, "k-", label=r"$1/(2\eta\lambda_1)$")
    ax.plot(r["edges"][:, 1], Ls, "k--", label=r"$1/(2\eta\lambda_L)$")
    ax.set_xscale("log"); ax.set_yscale("log"); ax.set_xlim(tt[0], tt[-1])
    ax.set_xlabel(r"$\alpha$"); ax.set_ylabel("L")
    ax.set_title(r"local slope within ±0.02 of $-\beta/(1+\beta)$, β=0.75")
    ax.legend(loc="lower right")
    return fig


def exponent_fits(L_fit: int) -> dict:
    """Fitted time exponents of the exact solution at L = L_fit (η = 0.01, σ_J = 0.01) for
    β = 0.5, 0.75, 1 inside the continuum window with slope tolerance 0.01
    (``linear.fitted_time_exponent``; ``rows``: (β, lo, hi, slope)), and the incomplete-gamma form
    against the discrete sum at L = 1024, β = 0.75 on [20/(2ηλ_1), 0.01/(2ηλ_L)] (``gam_rel``) and
    with the upper end at 0.1/(2ηλ_L) (``gam_rel_edge``).  Cheap (about a second)."""
    rows = [(b, *lin.fitted_time_exponent(L_fit, b, 0.01, slope_tol=0.01, sigma_J=0.01))
            for b in (0.5, 0.75, 1.0)]
    return dict(rows=rows, gam_rel=lin.gamma_form_error(1024, 0.75, 0.01, 0.01, sigma_J=0.01),
                gam_rel_edge=lin.gamma_form_error(1024, 0.75, 0.01, 0.1, sigma_J=0.01))


# ----------------------------------------------------------------------------------------------
# N_l trainable parameters (the paper's Fig. 3 left)
# ----------------------------------------------------------------------------------------------
def trainable_point(N_nl: int, n_trained: int, n_family: int, seeds_nl: int, seed0_nl: int,
                    alpha_max_nl: float) -> dict:
    """SGD in the eigenbasis (``linear.simulate_eigenbasis``, L = N = N_nl, β = 1, η = 0.05,
    σ_J = 0.01) with the ``n_trained`` leading coordinates trained, against the restricted closed
    form seed by seed: Bonferroni over ``n_family`` N_l values × the compared times, the exact
    finite-N difference as allowance, and the alternative with the exponent above each seed's
    floor shifted by ±0.02.

    Returns ``ratio``, ``k``, ``n_compare``, ``alt`` (two ratios), ``floor`` (N_l, mean and s.e.
    of the final SGD error, exact asymptote from the seed-mean E(0)), ``sim`` (t, mean, s.e.) and
    the closed form on 200 times (``t``, ``theory``).
    """
    sp3 = Spectrum.power_law(N_nl, 1.0)
    t3 = np.concatenate([[0.0], np.logspace(-1, np.log10(alpha_max_nl), 24)])
    tl3 = np.logspace(-1, np.log10(alpha_max_nl), 200)
    sd = list(range(seed0_nl, seed0_nl + seeds_nl))
    sim3 = lin.simulate_eigenbasis(sp3.diagonal(N_nl), 0.05, t3, sd, n_trained=n_trained, sigma_J=0.01)
    tt3, eps3, E03 = sim3.t, sim3.seeds, sim3.E0
    th3 = lin.eps_g(sp3, 0.05, tt3, E0=E03, trained=n_trained)
    th3N = lin.eps_g(sp3, 0.05, tt3, E0=E03, trained=n_trained, N=N_nl)
    n_compare = n_family * (len(tt3) - 1)
    allow = np.abs(th3N.mean(0) - th3.mean(0))
    agr3 = lin.agreement(eps3, th3, allowance=allow, n_compare=n_compare)
    # alternative: exponent of the part above each seed's exact floor shifted by +-0.02
    fl3 = np.array([lin.trainable_asymptote(sp3, 0.05, n_trained, E0=e) for e in E03])
    t0 = 1 / (2 * 0.05 * sp3.eigenvalues[0])
    alt = [lin.agreement(eps3, lin.shifted_exponent(tt3, th3, d, t0, floor=fl3), allowance=allow,
                         n_compare=n_compare)["max_ratio"] for d in (0.02, -0.02)]
    floor = (n_trained, eps3[:, -1].mean(), eps3[:, -1].std(ddof=1) / np.sqrt(seeds_nl),
             lin.trainable_asymptote(sp3, 0.05, n_trained, E0=E03.mean(0)))
    return dict(ratio=agr3["max_ratio"], k=agr3["k"], n_compare=n_compare, alt=alt, floor=floor,
                sim_t=tt3, sim_mean=eps3.mean(0), sim_sem=eps3.std(0, ddof=1) / np.sqrt(seeds_nl),
                t=tl3, theory=lin.eps_g(sp3, 0.05, tl3, E0=E03.mean(0), trained=n_trained))


def plot_trainable(results: list, Nl_list, N_nl: int):
    """Fig. 3 left: restricted closed form and SGD per N_l, with the two-term law
    (``linear.two_term_amplitudes``, dashed)."""
    from scalinglaws.book import plotting
    A_amp, B_amp = lin.two_term_amplitudes(N_nl, 1.0, 0.05, sigma_J=0.01)
    fig, axs = plotting.figure(1, 1)
    ax = axs[0, 0]
    for i, (nl, r) in enumerate(zip(Nl_list, results)):
        tl3 = r["t"]
        plotting.theory(ax, tl3, r["theory"], f"$N_l$={nl}", i=i)
        plotting.simulation(ax, r["sim_t"][1:], r["sim_mean"][1:], r["sim_sem"][1:], None, i=i)
        ax.plot(tl3, A_amp * tl3 ** (-0.5) + B_amp * nl ** -1.0, "k--", lw=0.8)
    plotting.loglog(ax, r"$\alpha$", r"$\varepsilon_g$",
                    rf"$N=L={N_nl}$, $\beta=1$, $\eta=0.05$ (dashed: two-term law)")
    ax.legend()
    return fig


def floor_exponent(N_floor: int, N_nl: int, Nl_max: int) -> dict:
    """Exact asymptotes (η = 0.05, σ_J = 0.01, β = 1) at N = N_floor for N_l = 16 … 1024 and their
    fitted exponent (``slope_floor``), the asymptote at N = N_nl for N_l = 4 … N_nl − 1, and the
    relaxation time 1/(2ηλ_{N_l}) of the slowest trained mode at N_l = Nl_max (``tau_last``)."""
    spF = Spectrum.power_law(N_floor, 1.0)
    nlF = np.array([16, 32, 64, 128, 256, 512, 1024])
    asF = np.array([lin.trainable_asymptote(spF, 0.05, int(n), sigma_J=0.01) for n in nlF])
    sp3 = Spectrum.power_law(N_nl, 1.0)
    nn = np.arange(4, N_nl)
    return dict(nl=nlF, asymptote=asF, slope_floor=fits.fit_power_law(nlF, asF).slope, nl_small=nn,
                asymptote_small=np.array([lin.trainable_asymptote(sp3, 0.05, int(n), sigma_J=0.01) for n in nn]),
                tau_last=float(1 / (2 * 0.05 * sp3.eigenvalues[Nl_max - 1])))


def plot_floor(r: dict, floors: np.ndarray, N_floor: int, N_nl: int, alpha_max_nl: float):
    """The floor against N_l: exact asymptotes at N_floor and N_nl, SGD floors, N_l^−β law."""
    from scalinglaws.book import plotting
    B_amp = lin.two_term_amplitudes(N_nl, 1.0, 0.05, sigma_J=0.01)[1]
    fig, axs = plotting.figure(1, 1)
    ax = axs[0, 0]
    plotting.theory(ax, r["nl"], r["asymptote"], f"exact asymptote, N={N_floor}", i=0)
    plotting.theory(ax, r["nl_small"], r["asymptote_small"], f"exact asymptote, N={N_nl}", i=1)
    plotting.simulation(ax, floors[:, 0], floors[:, 1], floors[:, 2],
                        rf"SGD at $\alpha={alpha_max_nl:g}$, N={N_nl}", i=1)
    ax.plot(r["nl"], B_amp / r["nl"], "k--", lw=1, label=r"$N_l^{-\beta}/(2\beta\zeta(1+\beta))$")
    plotting.loglog(ax, r"$N_l$", r"$\varepsilon_g(\infty)$",
                    r"floor vs trainable parameters, $\beta=1$, $\eta=0.05$")
    ax.legend()
    return fig


# ----------------------------------------------------------------------------------------------
# real data: natural-image patches (N = 1024) or the digits (N = 61), both bundled with scikit-learn
# ----------------------------------------------------------------------------------------------
REAL_DATA = ("patches", "digits")
#: fit windows over which the spectrum's beta is reported (sensitivity table); the chapter's own
#: window is a parameter, fixed before the spectrum was looked at
BETA_WINDOWS = ((2, 30), (2, 100), (4, 256), (8, 512), (16, 128))


def _real_data(dataset: str) -> np.ndarray:
    from scalinglaws import datasets
    require(dataset in REAL_DATA, "dataset", dataset, f"one of {REAL_DATA}")
    return datasets.image_patches(32, 4) if dataset == "patches" else datasets.digits()


def real_spectrum(dataset: str = "patches", window: tuple = (4, 256)) -> dict:
    """A real data set (``"patches"``: the 30,294 grey-scale 32x32 patches of scikit-learn's two
    photographs, :func:`scalinglaws.datasets.image_patches`; ``"digits"``: the 8x8 digits) in the
    eigenbasis of its covariance (``linear.data_eigenbasis``): ``lam`` (mean one), ``Z`` (data in
    that basis), ``N``, the number of dropped zero-variance directions ``n_dead``, ranks ``k``, the
    power-law ``fit`` of the spectrum over ranks ``window`` and ``beta`` = -slope - 1, and
    ``beta_windows``: beta over each of :data:`BETA_WINDOWS` that fits inside N.  A few seconds."""
    X = _real_data(dataset)
    lam_d, Zd = lin.data_eigenbasis(X)
    kk = np.arange(1, lam_d.size + 1)
    require(1 <= window[0] < window[1] <= lam_d.size, "window", window,
            f"ranks 1 <= lo < hi <= N={lam_d.size}")
    fit_d = fits.fit_power_law(kk, lam_d, window=window)
    bw = {w: float(-fits.fit_power_law(kk, lam_d, window=w).slope - 1)
          for w in BETA_WINDOWS if w[1] <= lam_d.size}
    return dict(lam=lam_d, Z=Zd, N=lam_d.size, n_dead=X.shape[1] - lam_d.size, k=kk, fit=fit_d,
                beta=-fit_d.slope - 1, window=tuple(window), beta_windows=bw, n_samples=X.shape[0],
                dataset=dataset)


def real_point(n_trained: int, seeds_real: int, alpha_max_real: float, dataset: str = "patches",
               window: tuple = (4, 256), eta: float = 0.05) -> dict:
    """Online SGD on a real data set (:func:`real_spectrum`; seeds 2000 ..., ``eta``, sigma_J = 0.01,
    random linear teacher), ``n_trained`` leading directions trained, against the restricted closed
    form on the empirical spectrum: ``z`` = the agreement ratio of the final errors (no allowance),
    ``z_alt`` the same with the theory on a pure power law of the fitted beta, ``z_path`` over all
    alpha and ``dev`` the largest relative deviation of the SGD mean from the theory along the path;
    ``sim`` (t, mean, s.e.) and the theory on 200 times (``t``, ``theory``)."""
    d = real_spectrum(dataset, window)
    lam_d, Zd = d["lam"], d["Z"]
    spd = Spectrum(lam_d)
    td = np.concatenate([[0.0], np.logspace(-1, np.log10(alpha_max_real), 24)])
    tld = np.logspace(-1, np.log10(alpha_max_real), 200)
    sp_pl = Spectrum.power_law(d["N"], float(d["beta"]))   # the alternative: a pure power law, fitted beta
    sd = list(range(2000, 2000 + seeds_real))
    simd = lin.simulate_eigenbasis(lam_d, eta, td, sd, n_trained=n_trained, sigma_J=0.01, data=Zd)
    ttd, epsd, E0d = simd.t, simd.seeds, simd.E0
    thd = lin.eps_g(spd, eta, ttd, E0=E0d, trained=n_trained)
    thd_alt = lin.eps_g(sp_pl, eta, ttd, E0=E0d, trained=n_trained)
    return dict(z=lin.agreement(epsd[:, -1:], thd[:, -1:])["max_ratio"],
                z_alt=lin.agreement(epsd[:, -1:], thd_alt[:, -1:])["max_ratio"],
                z_path=lin.agreement(epsd, thd)["max_ratio"],
                dev=float(np.max(np.abs(epsd.mean(0)[1:] / thd.mean(0)[1:] - 1))),
                sim_t=ttd, sim_mean=epsd.mean(0), sim_sem=epsd.std(0, ddof=1) / np.sqrt(seeds_real),
                t=tld, theory=lin.eps_g(spd, eta, tld, E0=E0d.mean(0), trained=n_trained))


def plot_real(spec: dict, results: list, Nl_real):
    """Left: the real data's spectrum and its power-law fit; right: SGD against the Gaussian theory
    per N_l."""
    from scalinglaws.book import plotting
    kk, lam_d, fit_d = spec["k"], spec["lam"], spec["fit"]
    lo, hi = spec["window"]
    fig, axs = plotting.figure(2, 1)
    ax = axs[0, 0]
    ax.plot(kk, lam_d, "o", ms=2, label=f"{spec['dataset']}, empirical")
    ax.plot(kk[lo - 1:hi], fit_d(kk[lo - 1:hi]), "k-",
            label=rf"fit $k\in[{lo},{hi}]$: $1+\beta={-fit_d.slope:.2f}$")
    plotting.loglog(ax, "rank k", r"$\lambda_k$", f"spectrum of the {spec['dataset']} covariance, N={spec['N']}")
    ax.legend()
    ax = axs[0, 1]
    for i, (nl, r) in enumerate(zip(Nl_real, results)):
        plotting.theory(ax, r["t"], r["theory"], f"$N_l$={nl}", i=i)
        plotting.simulation(ax, r["sim_t"][1:], r["sim_mean"][1:], r["sim_sem"][1:], None, i=i)
    plotting.loglog(ax, r"$\alpha$", r"$\varepsilon_g$",
                    rf"{spec['dataset']}, N={spec['N']}, $\eta=0.05$: SGD vs Gaussian theory")
    ax.legend()
    return fig


# ----------------------------------------------------------------------------------------------
# the stability threshold
# ----------------------------------------------------------------------------------------------
def stability_theory(N_div: int, L_div: int) -> dict:
    """The N → ∞ threshold η_c, the growth rates at 1.05 and 0.95 η_c, and the finite-N thresholds
    (``linear.finite_N_threshold``) at N_div and at 128 (β = 1, L_div groups).  Cheap."""
    spv = Spectrum.power_law(L_div, 1.0)
    eta_c = lin.stability_threshold(spv)
    return dict(eta_c=eta_c, mu_plus=lin.growth_rate(spv, 1.05 * eta_c),
                mu_minus=lin.growth_rate(spv, 0.95 * eta_c),
                eta_c_N=lin.finite_N_threshold(spv, N_div), eta_c_128=lin.finite_N_threshold(spv, 128))


def stability_runs(N_div: int, L_div: int, seeds_div: int) -> dict:
    """Online SGD (K = M = 1, β = 1, seeds 300 …, σ_J = 0.01, α ≤ 100) at 1.05 η_c and 0.95 η_c.

    Returns ``raised`` (1 if SGD at 1.05 η_c raised ``DivergenceError``), its message ``msg``, the
    closed form's message at 1.05 η_c (``closed_msg``) and ``conv_ratio``, the largest
    ε(100)/ε(0) over the seeds at 0.95 η_c.
    """
    spv = Spectrum.power_law(L_div, 1.0)
    eta_c = lin.stability_threshold(spv)
    sd = list(range(300, 300 + seeds_div))
    try:
        sgd.simulate(Setup(1, 1, 1.05 * eta_c, "linear", spv), N_div, 100.0, seeds=sd, sigma_J=0.01,
                     n_times=10, n_jobs=1)
        raised, msg = 0, "no error"
    except DivergenceError as err:
        raised, msg = 1, str(err)
    try:
        lin.eps_g(spv, 1.05 * eta_c, [0.0, 100.0])
        closed_msg = "no error"
    except DivergenceError as err:
        closed_msg = str(err)
    conv = sgd.simulate(Setup(1, 1, 0.95 * eta_c, "linear", spv), N_div, 100.0, seeds=sd, sigma_J=0.01,
                        n_times=10, n_jobs=1)
    return dict(raised=raised, msg=msg, closed_msg=closed_msg,
                conv_ratio=float(np.max(conv.seeds[:, -1] / conv.seeds[:, 0])))
