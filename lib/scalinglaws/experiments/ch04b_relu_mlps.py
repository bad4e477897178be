"""Experiments of section 4.5 (``chapters/04b_relu_mlps.md``): two-layer ReLU MLPs on the circle,
lazy against rich training on a hard and an easy power-law target.

:func:`circle_setup` (cheap, called directly) builds the grid, the closed-form NTK spectrum, the
zero-phase targets, the fit windows fixed from the lazy theory and the record times;
:func:`ntk_check` (the empirical NTK of a wide network) and :func:`train` (one (target, γ₀)
setting over seeds) are the expensive experiments, run by the chapter through
:func:`scalinglaws.experiments.call` / :func:`~scalinglaws.experiments.run` (results store).
Conventions as in the chapter: grid loss mean (f − y)² without ½, time t = steps × η.
``plot_*`` functions draw the chapter's figures and return the matplotlib figure.
"""

from __future__ import annotations

import numpy as np

from scalinglaws.analysis.fits import fit_power_law
from scalinglaws.book import plotting
from scalinglaws.kernel import mlp

__all__ = ["circle_setup", "ntk_check", "train", "kernel_growth", "plot_spectrum", "plot_training",
           "plot_diagnosis"]


def circle_setup(*, P: int, kmax: int, betas: list, eta: float, k_lo: int) -> dict:
    """Everything section 4.5 fixes from the lazy theory alone (cheap; no training).

    Returns ``th``, ``X`` (the grid of P angles and its inputs), ``lam`` (closed-form NTK spectrum
    of K/P), ``k_hi`` (= kmax // 8), ``kk`` and ``fit_alpha`` (power-law fit of λ_k on k = 8..64),
    and per β in ``betas``: ``targets`` ({β: (y, power)}, zero phases), ``win_rule`` ({β: (window,
    rule)}, :func:`~scalinglaws.kernel.mlp.lazy_fit_window`), ``windows``, ``t_rec`` (record times,
    :func:`~scalinglaws.kernel.mlp.record_times`), ``lazy_inf`` (exact lazy loss at N = ∞ on
    ``t_rec``) and ``chi_inf`` (its exponent on the window).
    """
    th, X = mlp.circle_grid(P)
    lam = mlp.ntk_mode_spectrum(P)
    k_hi = kmax // 8
    # alpha from the closed-form spectrum on k = 8..64 (below the grid's Nyquist aliasing)
    kk = np.arange(1, P // 2)
    fit_alpha = fit_power_law(kk, lam[1:P // 2], (8, 64))
    targets = {be: mlp.circle_target(th, lam, be, kmax) for be in betas}
    win_rule = {be: mlp.lazy_fit_window(lam, targets[be][1], be, k_lo, k_hi, eta=eta) for be in betas}
    windows = {be: w for be, (w, _) in win_rule.items()}
    t_rec = {be: mlp.record_times(w, eta) for be, w in windows.items()}
    lazy_inf = {be: mlp.lazy_loss_infinite(t_rec[be], lam, targets[be][1], eta) for be in betas}
    chi_inf = {be: mlp.window_exponent(t_rec[be], lazy_inf[be], windows[be]) for be in betas}
    return dict(th=th, X=X, lam=lam, k_hi=k_hi, kk=kk, fit_alpha=fit_alpha, targets=targets, win_rule=win_rule,
                windows=windows, t_rec=t_rec, lazy_inf=lazy_inf, chi_inf=chi_inf)


def ntk_check(*, P: int, kmax: int, N_ntk: int, betas: list, eta: float, k_lo: int, seed: int) -> dict:
    """The empirical NTK of one wide network (width ``N_ntk``, γ₀ = 1, ``init_params`` seed
    ``seed``) against the closed form, and the linearised (γ₀ → 0) dynamics with that kernel.

    Returns ``lam_emp`` / ``lam_se`` (mean over independent neurons of the per-neuron circulant
    spectra, k = 0..P/2, and its standard error), ``z_ntk`` (largest deviation from the closed form
    on k = 1..kmax in standard errors) and ``chi_wide`` ({β: exponent of the linearised loss on the
    target's window})."""
    s = circle_setup(P=P, kmax=kmax, betas=betas, eta=eta, k_lo=k_lo)
    X, lam, t_rec, windows = s["X"], s["lam"], s["t_rec"], s["windows"]
    p_ntk = mlp.init_params(N_ntk, 1.0, seed)
    per = mlp.neuron_mode_spectra(p_ntk, X)[:N_ntk // 2]          # one neuron of each symmetric pair
    lam_emp = per.mean(axis=0)
    lam_se = per.std(axis=0, ddof=1) / np.sqrt(per.shape[0])
    z_ntk = np.max(np.abs(lam_emp[1:kmax + 1] - lam[1:kmax + 1]) / lam_se[1:kmax + 1])
    ev, V = np.linalg.eigh(mlp.empirical_ntk(p_ntk, X) / P)
    chi_wide = {be: mlp.window_exponent(t_rec[be], mlp.lazy_loss_linearised(ev, V, s["targets"][be][0], t_rec[be],
                                                                           eta), windows[be])
                for be in betas}
    return dict(lam_emp=lam_emp, lam_se=lam_se, z_ntk=z_ntk, chi_wide=chi_wide)


def train(*, P: int, kmax: int, beta: float, eta: float, k_lo: int, N: int, gamma0: float, seeds: int,
          seed0: int, phases: str = "zero", target_seed: int = 0) -> dict:
    """Full-batch GD (:func:`~scalinglaws.kernel.mlp.train_gd`) of ``seeds`` width-``N`` networks
    at richness ``gamma0`` (initialisations ``seed0``, ``seed0`` + 1, ...) on the target of source
    exponent ``beta`` (``phases`` "zero", or "random" with phases from ``target_seed``), recorded at
    the target's record times and fitted on its window (:func:`circle_setup`).

    Returns ``t`` (record times), ``loss`` (seeds × times), ``chi`` (per-seed exponents on the
    window) and ``params_end`` (the final parameters of the first network)."""
    s = circle_setup(P=P, kmax=kmax, betas=[beta], eta=eta, k_lo=k_lo)
    t_rec, window = s["t_rec"][beta], s["windows"][beta]
    if phases == "zero":
        y = s["targets"][beta][0]
    else:
        y, _ = mlp.circle_target(s["th"], s["lam"], beta, kmax, seed=target_seed, phases=phases)
    res = mlp.train_gd([mlp.init_params(N, gamma0, seed0 + r) for r in range(seeds)], s["X"], y, eta, t_rec)
    loss = np.array([r.loss for r in res])
    return dict(t=t_rec, loss=loss, chi=np.array([mlp.window_exponent(t_rec, L, window) for L in loss]),
                params_end=res[0].params)


def kernel_growth(p_0, p_end, X, eta: float) -> dict:
    """Growth of the empirical NTK between two parameter sets of one network: ``growth`` (ratio of
    the circulant spectra λ_k(end)/λ_k(0), k = 0..P/2), ``top_growth`` (ratio of the top
    eigenvalues of K/P) and ``eta_top`` (η λ_max(end), below 2 for stable GD)."""
    P = X.shape[0]
    K_0, K_end = mlp.empirical_ntk(p_0, X), mlp.empirical_ntk(p_end, X)
    growth = mlp.ntk_mode_spectrum(P, K_end) / mlp.ntk_mode_spectrum(P, K_0)
    top_end = np.linalg.eigvalsh(K_end / P)[-1]
    return dict(growth=growth, top_growth=top_end / np.linalg.eigvalsh(K_0 / P)[-1], eta_top=eta * top_end)


def plot_spectrum(setup: dict, ntk: dict, *, kmax: int, N_ntk: int):
    """Figure: the closed-form and empirical NTK spectra (left) and the targets (right)."""
    kk, lam, fit_alpha = setup["kk"], setup["lam"], setup["fit_alpha"]
    P = setup["X"].shape[0]
    fig, axs = plotting.figure(ncols=2)
    ax = axs[0, 0]
    plotting.theory(ax, kk, lam[1:P // 2], label="closed-form NTK (N = ∞)", i=0)
    plotting.simulation(ax, kk[:kmax], ntk["lam_emp"][1:kmax + 1], 2 * ntk["lam_se"][1:kmax + 1], i=1, ms=3,
                        label=f"empirical NTK, N = {N_ntk} (±2 s.e.)")
    ax.plot(kk, fit_alpha(kk), ":", color="gray", label=f"fit k = 8..64: slope {fit_alpha.slope:.3f}")
    plotting.loglog(ax, "mode k", "eigenvalue λ_k of K/P", "NTK spectrum on the circle")
    ax.legend(fontsize=8)
    ax = axs[0, 1]
    for i, (be, (y, _)) in enumerate(setup["targets"].items()):
        ax.plot(setup["th"], y, color=plotting.color(i), label=f"β = {be:g}")
    ax.set_xlabel("θ"); ax.set_ylabel("y(θ)"); ax.set_title("targets (zero phases)"); ax.legend()
    return fig


def plot_training(setup: dict, runs: dict, chi: dict, *, gammas: list, N: int):
    """Figure: lazy and rich training per target (markers: mean ± s.d. over seeds), the exact lazy
    loss at N = ∞ (line), slopes −β and −2β/(1+β) (dashed) and the fit window (shaded).
    ``runs`` / ``chi``: {(β, γ₀): losses (seeds × times)} / {(β, γ₀): per-seed exponents};
    ``gammas``: the γ₀ drawn, lazy first."""
    t_rec, windows, lazy_inf, chi_inf = setup["t_rec"], setup["windows"], setup["lazy_inf"], setup["chi_inf"]
    fig, axs = plotting.figure(ncols=2)
    for j, be in enumerate(setup["targets"]):
        ax = axs[0, j]
        plotting.theory(ax, t_rec[be], lazy_inf[be], label="lazy, N = ∞ (exact)", i=0)
        for i, g in enumerate(gammas):
            Ls = runs[be, g]
            lab = f"γ₀ = {g:g}, N = {N}: χ = {chi[be, g].mean():.3f} ± {chi[be, g].std(ddof=1):.3f}"
            plotting.simulation(ax, t_rec[be][::3], Ls.mean(0)[::3], Ls.std(0, ddof=1)[::3], i=i + 1, ms=3,
                                label=lab)
        chi_r = 2 * be / (1 + be) if be < 1 else be
        t0 = windows[be][0]
        L0 = np.interp(t0, t_rec[be], lazy_inf[be])
        tt = np.geomspace(t0, windows[be][1], 10)
        ax.plot(tt, 0.5 * L0 * (tt / t0) ** -be, "--", color="k", lw=1, label=f"slope −β = −{be:g}")
        if chi_r != be:
            ax.plot(tt, 0.5 * L0 * (tt / t0) ** -chi_r, "-.", color="k", lw=1,
                    label=f"slope −2β/(1+β) = −{chi_r:.3f}")
        ax.axvspan(*windows[be], color="0.92", zorder=0)
        plotting.loglog(ax, "time t = steps × η", "grid loss L",
                        f"{'hard' if be < 1 else 'easy'} target β = {be:g} (lazy N = ∞: χ = {chi_inf[be]:.3f})")
        ax.legend(fontsize=7)
    return fig


def plot_diagnosis(setup: dict, L_zero, L_random, growth, *, g_rich: float, kmax: int):
    """Figure: rich training of the hard target with zero and with random phases against the lazy
    N = ∞ loss (left; ``L_zero``, ``L_random``: losses, seeds × times), and the growth of the
    kernel's circulant spectrum over the zero-phase run (right)."""
    be = next(iter(setup["targets"]))
    t_rec, lazy_inf = setup["t_rec"][be], setup["lazy_inf"][be]
    fig, axs = plotting.figure(ncols=2)
    ax = axs[0, 0]
    plotting.theory(ax, t_rec, lazy_inf, label="lazy, N = ∞ (same for both phase choices)", i=0)
    plotting.simulation(ax, t_rec[::3], L_zero.mean(0)[::3], i=2, ms=3, label=f"rich γ₀ = {g_rich:g}, zero phases")
    plotting.simulation(ax, t_rec[::3], L_random.mean(0)[::3], i=3, ms=3, fmt="s",
                        label=f"rich γ₀ = {g_rich:g}, random phases")
    ax.axvspan(*setup["windows"][be], color="0.92", zorder=0)
    plotting.loglog(ax, "time t = steps × η", "grid loss L", f"hard target β = {be:g}")
    ax.legend(fontsize=8)
    ax = axs[0, 1]
    ax.semilogx(np.arange(1, kmax + 1), growth[1:kmax + 1], ".", color=plotting.color(2))
    ax.set_xlabel("mode k"); ax.set_ylabel("λ_k(t_hi) / λ_k(0)  (circulant part)")
    ax.set_title(f"kernel growth, zero-phase hard target, γ₀ = {g_rich:g}")
    return fig
