r"""Experiments of chapter 2 (plateaus): the symmetric plateau of the erf committee machine, its
height, its escape rate and its length, for isotropic and power-law inputs.

Each function computes one figure or table of the chapter from the chapter's parameters and
returns what the chapter plots and checks (lean :class:`~scalinglaws.result.Curve` objects:
loss, standard error and per-seed losses only, no overlaps).  The chapter runs the expensive ones
through :func:`scalinglaws.experiments.call` / :func:`scalinglaws.experiments.run`, so that they
are cached in the results store:

=============================  ==================================================================
:func:`classic_plateau`        ODE of the classic K = M = 2 start (Saad--Solla conventions), its
                               fixed point and flattest point
:func:`plateau_heights`        O(η) and finite-η fixed points and the settled ODE, per K
:func:`height_independence`    group-resolved fixed point over a grid of L and β
:func:`escape_rates`           the Jacobian's unstable eigenvalue against μ_iso⟨λ²⟩
:func:`fig1_run`               the paper's Fig. 1 at one L: ODE and (optionally) SGD from one draw
:func:`plateau_lengths`        escape times from controlled starts (a grid of
                               :func:`escape_from_ode` through the store) and their slope /
                               product / constant statistics
:func:`ln_n_escape`            SGD escape from exactly symmetric overlaps at several N
=============================  ==================================================================

``plot_*`` functions draw the chapter's figures from these results and return the figure.
Formulas live in :mod:`scalinglaws.committee.plateau`.
"""

from __future__ import annotations

import math

import numpy as np

from scalinglaws.committee import plateau as pl
from scalinglaws.committee import sgd
from scalinglaws.committee.ode import integrate, log_times
from scalinglaws.committee.setup import Overlaps, Setup, draw_weights
from scalinglaws.conventions import convert
from scalinglaws.result import Curve
from scalinglaws.spectra import Spectrum

__all__ = ["classic_plateau", "plateau_heights", "height_independence", "escape_rates", "fig1_run",
           "escape_from_ode", "plateau_lengths", "ln_n_escape", "plot_classic", "plot_fig1", "plot_lengths",
           "plot_ln_n"]


def _lean(c: Curve, keep_seeds: bool = True) -> Curve:
    """The curve without its overlaps (extras): t, loss, s.e., per-seed losses and metadata."""
    return Curve(t=c.t, loss=c.loss, t_unit=c.t_unit, loss_factor=c.loss_factor,
                 seeds=c.seeds if keep_seeds else None, sem=c.sem, label=c.label,
                 meta={k: v for k, v in c.meta.items() if np.isscalar(v) or v is None})


# ----------------------------------------------------------------------------------------------
# the classic isotropic plateau
# ----------------------------------------------------------------------------------------------
def classic_plateau(eta_ss: float, t_max: float) -> dict:
    r"""The classic K = M = 2, L = 1 plateau in Saad--Solla conventions at learning rate
    ``eta_ss``: the ODE from the peer codes' deterministic start (:math:`Q_0 = \tfrac12 1`,
    :math:`R_{in} = 10^{-3}\pm10^{-5}`, T = 1) on a grid of spacing ½ to ``t_max``.

    Returns ``tr`` (the ODE curve), ``fp`` (the finite-η symmetric fixed point,
    :func:`~scalinglaws.committee.plateau.symmetric_fixed_point`), ``aP`` (plateau length),
    ``flat`` and ``t_flat`` (height and time of the flattest point,
    :func:`~scalinglaws.committee.plateau.flattest_point`) and ``wr`` (the same fixed point computed
    in Worschech--Rosenow conventions and mapped back, :math:`\varepsilon_{SS} = K\varepsilon`)."""
    Q0, R0 = 0.5 * np.eye(2), np.array([[1.01e-3, 0.99e-3], [0.99e-3, 1.01e-3]])
    s = Setup(2, 2, eta_ss, conventions="saad-solla")
    tr = integrate(s, Overlaps.from_physical(Q0, R0, np.eye(2)),
                   times=np.linspace(0, t_max, int(2 * t_max) + 1), show_progress=False)
    fp = pl.symmetric_fixed_point(2, eta_ss, conventions="saad-solla")
    aP = pl.plateau_length(tr, fp.eps)
    i = pl.flattest_point(tr, aP)
    # the same fixed point in Worschech-Rosenow conventions (eta = K eta_SS, eps = eps_SS / K)
    eta_wr, _ = convert(eta_ss, None, 2, 2, "saad-solla", "worschech-rosenow")
    return dict(tr=_lean(tr), fp=fp, flat=tr.loss[i], t_flat=tr.t[i], aP=aP,
                wr=2 * pl.symmetric_fixed_point(2, eta_wr).eps)


def plot_classic(classic: dict):
    """The classic plateaus (:func:`classic_plateau` per η_SS) with their fixed points."""
    from scalinglaws.book import plotting
    fig, axs = plotting.figure(1)
    ax = axs[0, 0]
    for j, (eta_ss, c) in enumerate(classic.items()):
        plotting.theory(ax, c["tr"].t[1:], c["tr"].loss[1:], label=rf"ODE, $\eta_{{SS}}={eta_ss}$", i=j)
        ax.axhline(c["fp"].eps, color=plotting.color(j), ls=":", lw=1.2)
        plotting.simulation(ax, [c["t_flat"]], [c["fp"].eps],
                            label=f"fixed point (root), $\\eta_{{SS}}={eta_ss}$", i=j, fmt="s")
    plotting.loglog(ax, r"$\alpha$", r"$\varepsilon_g$ (Saad–Solla)")
    ax.set_ylim(1e-4, 1)
    ax.legend()
    return fig


# ----------------------------------------------------------------------------------------------
# heights and rates
# ----------------------------------------------------------------------------------------------
def plateau_heights(K_heights: list, eta: float, t_max: float) -> dict:
    r"""Plateau heights for each K = M in ``K_heights`` (Worschech--Rosenow conventions, L = 1):
    the closed form :math:`\varepsilon_p`, the roots of the O(η) and of the finite-η symmetric
    equations, and the ODE from a symmetric start (:math:`Q = \tfrac12 1`, :math:`R_{in} = 10^{-3}`,
    T = 1) at ``t_max`` with its change since ``t_max / 3`` (``drift``).

    Returns ``{"rows": [dict(K, closed, root0, root, ode, drift, q, r), ...]}``."""
    rows = []
    for K in K_heights:
        fp0 = pl.symmetric_fixed_point(K, eta, "linear")
        fph = pl.symmetric_fixed_point(K, eta, "full")
        tr = integrate(Setup(K, K, eta), pl.symmetric_overlaps(K, 0.5, 0.0, 1e-3),
                       times=np.array([0.0, t_max / 3, t_max]), show_progress=False)
        rows.append(dict(K=K, closed=pl.eps_plateau(K), root0=fp0.eps, root=fph.eps, ode=tr.loss[-1],
                         drift=abs(tr.loss[-1] - tr.loss[-2]), q=fp0.q, r=fp0.r))
    return {"rows": rows}


def height_independence(L_indep: list, beta_indep: list, eta: float) -> dict:
    r"""The group-resolved symmetric fixed point (:func:`~scalinglaws.committee.plateau.group_fixed_point`,
    K = M = 2, 3L unknowns from an uneven guess) for every L in ``L_indep`` and β in
    ``beta_indep``, against the isotropic one.

    Returns ``rows`` (dicts L, beta, eps), ``ref`` (the isotropic height) and ``dev`` (the largest
    relative deviation from it)."""
    rows = []
    for L in L_indep:
        for beta in beta_indep:
            _, e = pl.group_fixed_point(Setup(2, 2, eta, spectrum=Spectrum.power_law(L, beta)))
            rows.append(dict(L=L, beta=beta, eps=e))
    ref = pl.symmetric_fixed_point(2, eta).eps
    return dict(rows=rows, ref=ref, dev=max(abs(d["eps"] / ref - 1) for d in rows))


def escape_rates(K_rate: list, L_rate: list, beta: float = 1.0, eta: float = 1.0) -> dict:
    r"""Largest eigenvalue of the O(η) Jacobian of the full group-resolved RHS at the symmetric
    fixed point (:func:`~scalinglaws.committee.plateau.escape_mode`) for every K = M in ``K_rate``
    and L in ``L_rate`` (power law ``beta``), with the prediction
    :math:`\mu_{\rm iso}\langle\lambda^2\rangle` and the eigenvalue's multiplicity.

    Returns ``{"rows": [dict(K, L, mu, pred, mult), ...]}``."""
    rows = []
    for K in K_rate:
        for L in L_rate:
            sp = Spectrum.power_law(L, beta)
            m = pl.escape_mode(Setup(K, K, eta, spectrum=sp), vectors=False)
            rows.append(dict(K=K, L=L, mu=m.mu, pred=pl.mu_iso(K, eta) * pl.lambda2(sp),
                             mult=m.multiplicity))
    return {"rows": rows}


# ----------------------------------------------------------------------------------------------
# Fig. 1 of the paper
# ----------------------------------------------------------------------------------------------
def fig1_run(L: int, N: int, sgd_seeds: int, t_max: float, n_jobs: int = 1, K: int = 2,
             eta: float = 0.1, beta: float = 1.0, sigma_J: float = 0.01, seed: int = 0) -> dict:
    r"""The paper's Fig. 1 setting at one L: K = M = ``K``, learning rate ``eta``, power law
    ``beta``, one draw of the weights (``seed``, student entries N(0, sigma_J²), Gaussian
    teacher) at input dimension N.

    Returns ``ode``: the ODE from the draw's group overlaps (200 log-spaced times from 0.1 to
    ``t_max``), and, when ``sgd_seeds`` > 0, ``sgd``: online SGD from the same weights over the
    data streams of seeds 0 … sgd_seeds-1 (30 log-spaced times from 1; ``n_jobs`` threads, which
    can change the last bits of the compiled path)."""
    sp = Spectrum.power_law(L, beta)
    s = Setup(K, K, eta, spectrum=sp)
    J, B = draw_weights(s, N, seed=seed, sigma_J=sigma_J)
    out = dict(ode=_lean(integrate(s, Overlaps.from_weights(J, B, sp),
                                   times=log_times(t_max, n=200, t_min=0.1), show_progress=False)))
    if sgd_seeds > 0:
        out["sgd"] = _lean(sgd.simulate(s, N, times=log_times(t_max, n=30, t_min=1.0),
                                        seeds=list(range(sgd_seeds)), J0=J, B0=B, n_jobs=n_jobs,
                                        show_progress=False))
    return out


def plot_fig1(fig1: dict):
    """Fig. 1: the ODE (lines) and SGD (markers) of :func:`fig1_run` for each L (keys of ``fig1``)."""
    from scalinglaws.book import plotting
    fig, axs = plotting.figure(1)
    ax = axs[0, 0]
    for j, (L, r) in enumerate(fig1.items()):
        plotting.theory(ax, r["ode"].t[1:], r["ode"].loss[1:], label=f"ODE, L={L}", i=j)
        if "sgd" in r:
            g = r["sgd"]
            plotting.simulation(ax, g.t[1:], g.loss[1:], g.sem[1:], i=j, label=f"SGD, L={L}")
    plotting.loglog(ax, r"$\alpha$", r"$\varepsilon_g$")
    ax.set_ylim(1e-6, 0.5)
    ax.legend(ncol=2)
    return fig


# ----------------------------------------------------------------------------------------------
# plateau length from controlled starts
# ----------------------------------------------------------------------------------------------
def escape_from_ode(K: int, eta: float, L: int, beta: float, delta0: float, t_max: float) -> dict:
    r"""Plateau length from one controlled start: ``alpha_P`` and ``height`` of
    :func:`~scalinglaws.committee.plateau.escape_time_from_ode` (the trajectory is not kept)."""
    r = pl.escape_time_from_ode(K, eta, L, beta, delta0, t_max)
    return {"alpha_P": r["alpha_P"], "height": r["height"]}


def _length_point(K, L, beta, delta0, eta):
    """Grid point of :func:`escape_from_ode` (L = 1 is the same
    spectrum for every beta: computed once, at beta = 1)."""
    b = 1.0 if L == 1 else float(beta)
    return dict(K=K, eta=eta, L=L, beta=b, delta0=delta0,
                t_max=pl.escape_horizon(K, eta, L, b, delta0))


def plateau_lengths(K_len: int, eta_len: float, L_len: list, beta_len: list, K_list: list, L_K: int,
                    delta0s: list, workers: int | None = None) -> dict:
    r"""Plateau lengths from controlled starts (:func:`escape_from_ode`,
    :math:`\alpha_0 = 0`, initial specialisation :math:`\delta_0`) for K = M = ``K_len`` over
    ``L_len`` × ``beta_len`` and for every K of ``K_list`` at L = ``L_K``, β = 1, each at every
    :math:`\delta_0` of ``delta0s``; the ODE runs go through the results store
    (:func:`scalinglaws.experiments.run`, ``workers`` processes), each integrated to
    :func:`~scalinglaws.committee.plateau.escape_horizon`.

    Returns ``aP`` (``{(K, L, beta, delta0): alpha_P}``), ``rows`` (per (K, L, beta), sorted:
    :func:`~scalinglaws.committee.plateau.length_statistics` between the smallest and largest
    :math:`\delta_0`, plus K, L, beta), ``spread`` (``{beta: max/min - 1}`` of the product
    :math:`\alpha_P\mu/\ln(1/\delta_0)` over ``L_len`` at K_len,
    :func:`~scalinglaws.committee.plateau.relative_spread`), ``d_lo`` and ``d_hi``."""
    from scalinglaws import experiments
    keys = [(K_len, L, b, d0) for b in beta_len for L in L_len for d0 in delta0s]
    keys += [(K, L_K, 1.0, d0) for K in K_list if not (K == K_len and L_K in L_len) for d0 in delta0s]
    grid = [_length_point(*k, eta_len) for k in keys]
    uniq = {repr(sorted(p.items())): p for p in grid}
    res = dict(zip(uniq, experiments.run(escape_from_ode, list(uniq.values()),
                                         max_workers=workers)))
    aP = {k: res[repr(sorted(p.items()))]["alpha_P"] for k, p in zip(keys, grid)}
    d_hi, d_lo = max(delta0s), min(delta0s)
    rows = []
    for (K, L, b) in sorted({(k, l, b) for (k, l, b, _) in aP}):
        st = pl.length_statistics(aP[K, L, b, d_lo], aP[K, L, b, d_hi], d_lo, d_hi,
                                  pl.mu_power_law(K, eta_len, L, b))
        rows.append(dict(K=K, L=L, beta=b, **st))
    spread = {b: pl.relative_spread([r["prod"] for r in rows if r["K"] == K_len and r["L"] in L_len
                                     and r["beta"] == b]) for b in beta_len}
    return dict(aP=aP, rows=rows, spread=spread, d_lo=d_lo, d_hi=d_hi)


def plot_lengths(lengths: dict, K_len: int, eta_len: float, L_len: list, beta_len: list, L_K: int,
                 delta0s: list):
    r"""Plateau length against L (left, K = M = ``K_len``) and against K (right, L = ``L_K``):
    ODE (markers, :func:`plateau_lengths`), :math:`\ln(1/\delta_0)/\mu` (lines) and the large-L,
    large-K law (dashed)."""
    from scalinglaws.book import plotting
    aP, d_lo = lengths["aP"], lengths["d_lo"]
    fig, axs = plotting.figure(2)
    ax = axs[0, 0]
    Ls = np.array(sorted(L_len))
    Lc = np.unique(np.geomspace(1, Ls.max(), 40).astype(int))
    curves = [(1.0, d0) for d0 in sorted(delta0s)] + [(b, d_lo) for b in beta_len if b != 1.0]
    for j, (b, d0) in enumerate(curves):
        plotting.simulation(ax, Ls, [aP[K_len, L, b, d0] for L in Ls], i=j, fmt="s",
                            label=rf"ODE, $\beta={b}$, $\delta_0=${d0:.0e}")
        plotting.theory(ax, Lc, [math.log(1 / d0) / pl.mu_power_law(K_len, eta_len, L, b) for L in Lc], i=j,
                        label=r"$\ln(1/\delta_0)/(\mu_{\rm iso}\langle\lambda^2\rangle)$" if j == 0 else None)
        ax.plot(Lc, pl.large_L_length(K_len, eta_len, Lc, b, math.log(1 / d0)), "--",
                color=plotting.color(j), lw=1,
                label=r"large-$L$, large-$K$ law $\propto K^2/(\eta L)$" if j == 0 else None)
    plotting.loglog(ax, "L", r"plateau length $\alpha_P$", title=f"K = M = {K_len}, eta = {eta_len}")
    ax.legend(fontsize=8)
    ax = axs[0, 1]
    Kc = np.array(sorted(r["K"] for r in lengths["rows"] if r["L"] == L_K and r["beta"] == 1.0))
    for j, d0 in enumerate(sorted(delta0s)):
        plotting.simulation(ax, Kc, [aP[K, L_K, 1.0, d0] for K in Kc], i=j, fmt="s",
                            label=rf"ODE, $\delta_0=${d0:.0e}")
        plotting.theory(ax, Kc, [math.log(1 / d0) / pl.mu_power_law(K, eta_len, L_K) for K in Kc], i=j,
                        label=r"$\propto\sqrt{2K-1}(2K+1)^{3/2}$")
    plotting.loglog(ax, "K = M", r"plateau length $\alpha_P$", title=f"L = {L_K}")
    ax.legend(fontsize=8)
    return fig


# ----------------------------------------------------------------------------------------------
# escape time against ln N in SGD
# ----------------------------------------------------------------------------------------------
def ln_n_escape(N_list: list, seeds: int, eta: float, t_max: float, n_jobs: int = 1,
                first_seed: int = 100) -> dict:
    r"""SGD from exactly symmetric overlaps (:math:`Q = \tfrac12 1`, :math:`R_{in} = 10^{-3}`, T = 1,
    realised by weights with random orthonormal completions), K = M = 2, L = 1, learning rate
    ``eta``, at every N of ``N_list`` with ``seeds`` seeds (``first_seed``, ...) on a grid of
    spacing 1 to ``t_max``; and the ODE from the same start (which never escapes).

    Returns ``fp`` (finite-η fixed point), ``mu`` (largest eigenvalue of the full finite-η
    Jacobian), ``ode`` (Curve), ``runs`` (``{N: Curve}``, seed mean and s.e.) and ``esc``
    (``{N: per-seed escape times}``, :func:`~scalinglaws.committee.plateau.escape_time` below half
    the fixed-point height)."""
    s = Setup(2, 2, eta)
    init = pl.symmetric_overlaps(2, 0.5, 0.0, 1e-3)
    fp = pl.symmetric_fixed_point(2, eta)
    mu = pl.escape_mode(s, order="full", vectors=False).mu
    t = np.linspace(0, t_max, int(t_max) + 1)
    ode_curve = integrate(s, init, times=t, show_progress=False)
    runs, esc = {}, {}
    for N in N_list:
        r = sgd.simulate(s, N, times=t, seeds=list(range(first_seed, first_seed + seeds)), init=init,
                         n_jobs=n_jobs, show_progress=False)
        esc[N] = np.array([pl.escape_time(r.t, e, fp.eps) for e in r.seeds])
        runs[N] = _lean(r, keep_seeds=False)
    return dict(fp=fp, mu=mu, ode=_lean(ode_curve), runs=runs, esc=esc)


def plot_ln_n(res: dict, fit, x, y):
    r"""Left: SGD at each N and the ODE (:func:`ln_n_escape`); right: seed-mean escape time against
    N with the fit ``fit`` of ``(x, y)`` = (ln N, α_P) and the slope 1/(2μ)."""
    from scalinglaws.book import plotting
    tN, esc, mu = res["ode"].t, res["esc"], res["mu"]
    N_list = list(res["runs"])
    fig, axs = plotting.figure(2)
    ax = axs[0, 0]
    plotting.theory(ax, tN[1:], res["ode"].loss[1:], label="ODE (symmetric start: never escapes)", i=7)
    for j, N in enumerate(N_list):
        r = res["runs"][N]
        plotting.simulation(ax, tN[1::15], r.loss[1::15], r.sem[1::15], i=j, label=f"SGD, N={N}")
    ax.set_xscale("log"); ax.set_yscale("log")
    ax.set_xlabel(r"$\alpha$"); ax.set_ylabel(r"$\varepsilon_g$"); ax.set_ylim(1e-4, 0.5)
    ax.legend(fontsize=8)
    ax = axs[0, 1]
    plotting.simulation(ax, N_list, [esc[N].mean() for N in N_list],
                        [esc[N].std(ddof=1) / math.sqrt(len(esc[N])) for N in N_list],
                        label="SGD (seed mean ± s.e.)")
    Nc = np.geomspace(min(N_list), max(N_list), 20)
    plotting.theory(ax, Nc, fit.intercept + fit.slope * np.log(Nc), i=1, label=rf"fit, slope {fit.slope:.1f}")
    plotting.theory(ax, Nc, np.mean(y) + (np.log(Nc) - np.mean(x)) / (2 * mu), i=2, label=r"slope $1/(2\mu)$")
    ax.set_xscale("log"); ax.set_xlabel("N"); ax.set_ylabel(r"plateau length $\alpha_P$")
    ax.legend(fontsize=8)
    return fig


# ----------------------------------------------------------------------------------------------
# per-draw escape: projection on the unstable left eigenvector
# ----------------------------------------------------------------------------------------------
def escape_draws(L: int, n_draws: int, N: int, t_max: float, seed0: int = 0, K: int = 2,
                 eta: float = 0.1, beta: float = 1.0, sigma_J: float = 0.01) -> dict:
    r"""The paper's Fig. 1 setting at one L for ``n_draws`` independent weight draws (seeds
    ``seed0 ..``): for each, the ODE escape time ``alpha_P`` (first fall below half the draw's own
    plateau height, 400 log-spaced output times from 0.1 to ``t_max``; NaN if none) and the
    per-draw prediction of :func:`~scalinglaws.committee.plateau.draw_escape` (``mu``,
    ``delta0``, ``height``, ``s0``, ``s0_plain``), as arrays."""
    sp = Spectrum.power_law(L, beta)
    s = Setup(K, K, eta, spectrum=sp)
    keys = ("alpha_P", "mu", "delta0", "height", "s0", "s0_plain")
    out = {k: np.empty(n_draws) for k in keys}
    for j in range(n_draws):
        J, B = draw_weights(s, N, seed=seed0 + j, sigma_J=sigma_J)
        ov = Overlaps.from_weights(J, B, sp)
        de = pl.draw_escape(s, ov)
        tr = integrate(s, ov, times=log_times(t_max, n=400, t_min=0.1), show_progress=False)
        out["alpha_P"][j] = pl.escape_time(tr.t, tr.loss, de.height)
        for k in keys[1:]:
            out[k][j] = getattr(de, k)
    out["seeds"] = np.arange(seed0, seed0 + n_draws)
    return out


def plot_escape_draws(draws: dict, preds: dict):
    """Per-draw escape times against the prediction ln(1/|delta0|)/mu + A (one panel per L)."""
    from scalinglaws.book import plotting
    fig, axs = plotting.figure(len(draws))
    for j, (L, d) in enumerate(draws.items()):
        ax = axs.flat[j]
        pr = preds[L]
        x = pr["A"] + np.log(1 / np.abs(d["delta0"])) / d["mu"]
        n = pr["n_calib_total"]
        ax.plot(x[:n], d["alpha_P"][:n], "o", mfc="none", color="0.5", label="calibration draws")
        ax.plot(x[n:], d["alpha_P"][n:], "o", color=plotting.color(0), label="held-out draws")
        lo, hi = np.nanmin([x, d["alpha_P"]]), np.nanmax([x, d["alpha_P"]])
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8, label="prediction")
        ax.set_xlabel(r"predicted $\alpha_P = A + \ln(1/|\delta_0|)/\mu$")
        ax.set_ylabel(r"ODE $\alpha_P$")
        ax.set_title(f"L = {L}: FVU = {pr['fvu']:.3f}")
        ax.legend(fontsize=8)
    return fig
