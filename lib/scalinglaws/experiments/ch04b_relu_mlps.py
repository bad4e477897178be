"""Experiments of section 4.5 (``chapters/04b_relu_mlps.md``): two-layer ReLU MLPs on the circle
trained by online SGD on fresh samples, lazy against rich, on a hard target (zero and random
phases) and an easy one, with the loss on held-out test angles.

:func:`circle_setup` (cheap, called directly) fixes everything from the lazy theory alone: the
closed-form NTK spectrum (on the P-point grid for the figure and the empirical-kernel check, and on
a fine grid for the continuum eigenvalues that online SGD sees), the zero-phase targets, the fit
windows, the record times and the exact lazy (N = ∞) online-SGD loss.  :func:`ntk_check` (the
empirical NTK of a wide network), :func:`train` (one (target, γ₀) setting over seeds) and
:func:`lazy_linearised` (the γ₀ → 0 population-GD dynamics with each seed's own kernel) are the
expensive experiments, run by the chapter through :func:`scalinglaws.experiments.call` /
:func:`~scalinglaws.experiments.run` (results store).  Conventions as in the chapter: test loss
mean (f − y)² without ½ over the held-out angles, time t = steps × η.  ``plot_*`` functions draw
the chapter's figures and return the matplotlib figure.
"""

from __future__ import annotations

import numpy as np

from scalinglaws.analysis.fits import fit_power_law
from scalinglaws.book import plotting
from scalinglaws.kernel import mlp

__all__ = ["circle_setup", "continuum_spectrum", "target", "ntk_check", "train", "lazy_linearised",
           "kernel_growth", "kink_angles", "plot_spectrum", "plot_training", "plot_diagnosis"]


def continuum_spectrum(P_fine: int) -> np.ndarray:
    """Eigenvalues λ_k, k = 0..P_fine/4 − 1, of the infinite-width NTK as an integral operator on
    the uniform circle: the closed-form grid spectrum (:func:`~scalinglaws.kernel.mlp.ntk_mode_spectrum`)
    on ``P_fine`` points, kept below a quarter of the grid, where its aliasing (relative
    ~ (k/(P_fine − k))²) is negligible."""
    return mlp.ntk_mode_spectrum(P_fine)[:P_fine // 4]


def target(lam_c, beta: float, kmax: int, phases: str = "zero", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The target of source exponent ``beta`` for the continuum spectrum ``lam_c``: its Fourier
    coefficients (:func:`~scalinglaws.kernel.mlp.target_coefficients`, shape (2, kmax)) and mode
    powers c_k²/2 (the same for every choice of phases)."""
    coef = mlp.target_coefficients(lam_c, beta, kmax, seed=seed, phases=phases)
    return coef, (coef ** 2).sum(axis=0) / 2


def circle_setup(*, P: int, P_fine: int, kmax: int, betas: list, eta: float, k_lo: int, batch: int,
                 n_test: int) -> dict:
    """Everything section 4.5 fixes from the lazy theory alone (cheap; no training).

    Returns ``th``, ``X`` (grid of P angles for the spectrum figure and check), ``lam`` (its
    closed-form spectrum of K/P), ``lam_c`` (:func:`continuum_spectrum`), ``th_test`` (held-out
    angles), ``k_hi`` (= kmax // 8), ``kk`` and ``fit_alpha`` (power-law fit of the continuum λ_k
    on k = 8..64), and per β in ``betas``: ``targets`` ({β: (coef, power)}, zero phases),
    ``win_rule`` ({β: (window, rule)} from the population-GD lazy loss,
    :func:`~scalinglaws.kernel.mlp.lazy_fit_window`), ``windows``, ``t_rec`` (record times),
    ``lazy_gd`` (lazy N = ∞ population GD on ``t_rec``), ``lazy_inf`` (lazy N = ∞ online SGD with
    batch ``batch``, :func:`~scalinglaws.kernel.mlp.lazy_loss_online`), ``chi_gd`` and ``chi_inf``
    (their exponents on the window).
    """
    th, X = mlp.circle_grid(P)
    lam, lam_c = mlp.ntk_mode_spectrum(P), continuum_spectrum(P_fine)
    k_hi = kmax // 8
    kk = np.arange(1, lam_c.size)
    fit_alpha = fit_power_law(kk, lam_c[1:], (8, 64))
    targets = {be: target(lam_c, be, kmax) for be in betas}
    win_rule = {be: mlp.lazy_fit_window(lam_c, targets[be][1], be, k_lo, k_hi, eta=eta) for be in betas}
    windows = {be: w for be, (w, _) in win_rule.items()}
    t_rec = {be: mlp.record_times(w, eta) for be, w in windows.items()}
    lazy_gd = {be: mlp.lazy_loss_infinite(t_rec[be], lam_c, targets[be][1], eta) for be in betas}
    lazy_inf = {be: mlp.lazy_loss_online(t_rec[be], lam_c, targets[be][1], eta, batch) for be in betas}
    chi_gd = {be: mlp.window_exponent(t_rec[be], lazy_gd[be], windows[be]) for be in betas}
    chi_inf = {be: mlp.window_exponent(t_rec[be], lazy_inf[be], windows[be]) for be in betas}
    return dict(th=th, X=X, lam=lam, lam_c=lam_c, th_test=mlp.held_out_grid(n_test)[0], k_hi=k_hi, kk=kk,
                fit_alpha=fit_alpha, targets=targets, win_rule=win_rule, windows=windows, t_rec=t_rec,
                lazy_gd=lazy_gd, lazy_inf=lazy_inf, chi_gd=chi_gd, chi_inf=chi_inf)


def ntk_check(*, P: int, kmax: int, N_ntk: int, seed: int) -> dict:
    """The empirical NTK of one wide network (width ``N_ntk``, γ₀ = 1, ``init_params`` seed
    ``seed``) against the closed form on the grid of P angles.

    Returns ``lam_emp`` / ``lam_se`` (mean over independent neurons of the per-neuron circulant
    spectra, k = 0..P/2, and its standard error) and ``z_ntk`` (largest deviation from the closed
    form on k = 1..kmax in standard errors)."""
    _, X = mlp.circle_grid(P)
    lam = mlp.ntk_mode_spectrum(P)
    per = mlp.neuron_mode_spectra(mlp.init_params(N_ntk, 1.0, seed), X)[:N_ntk // 2]   # one of each pair
    lam_emp = per.mean(axis=0)
    lam_se = per.std(axis=0, ddof=1) / np.sqrt(per.shape[0])
    z_ntk = np.max(np.abs(lam_emp[1:kmax + 1] - lam[1:kmax + 1]) / lam_se[1:kmax + 1])
    return dict(lam_emp=lam_emp, lam_se=lam_se, z_ntk=z_ntk)


def _setup1(P_fine, kmax, beta, eta, k_lo, batch, n_test) -> dict:
    return circle_setup(P=16, P_fine=P_fine, kmax=kmax, betas=[beta], eta=eta, k_lo=k_lo, batch=batch,
                        n_test=n_test)


def train(*, P_fine: int, kmax: int, beta: float, eta: float, k_lo: int, batch: int, n_test: int, N: int,
          gamma0: float, seeds: int, seed0: int, data_seed0: int, phases: str = "zero",
          target_seed0: int = 0) -> dict:
    """Online SGD (:func:`~scalinglaws.kernel.mlp.train_online`) of ``seeds`` width-``N`` networks at
    richness ``gamma0``: network r has initialisation ``seed0 + r`` and data stream
    ``data_seed0 + r`` (so runs at different γ₀ with the same seeds are paired: the same initial
    weights and the same training angles).  Target of source exponent ``beta``: zero phases, or
    (``phases="random"``) network r's own random phases drawn from ``target_seed0 + r``.  Recorded
    at the target's record times, fitted on its window (:func:`circle_setup`).

    Returns ``t`` (record times), ``loss`` (seeds × times, test loss), ``chi`` (per-seed
    exponents on the window) and ``params_end`` (final parameters of the first network)."""
    s = _setup1(P_fine, kmax, beta, eta, k_lo, batch, n_test)
    t_rec, window = s["t_rec"][beta], s["windows"][beta]
    ps = [mlp.init_params(N, gamma0, seed0 + r) for r in range(seeds)]
    dseeds = [data_seed0 + r for r in range(seeds)]
    if phases == "zero":
        res = mlp.train_online(ps, s["targets"][beta][0], eta, t_rec, batch=batch, seed=dseeds, n_test=n_test)
        loss, p_end = res.seeds, res.params[0]
    else:
        out = [mlp.train_online(p, target(s["lam_c"], beta, kmax, phases, target_seed0 + r)[0], eta, t_rec,
                                batch=batch, seed=dseeds[r], n_test=n_test) for r, p in enumerate(ps)]
        loss, p_end = np.array([c.loss for c in out]), out[0].params
    return dict(t=t_rec, loss=loss, chi=np.array([mlp.window_exponent(t_rec, L, window) for L in loss]),
                params_end=p_end)


def lazy_linearised(*, P_fine: int, kmax: int, specs: list, eta: float, k_lo: int, batch: int, n_lin: int,
                    N: int, seeds: int, seed0: int, target_seed0: int = 0) -> dict:
    """The γ₀ → 0 limit of population gradient descent with each network's own (finite-width) kernel.

    For initialisations ``seed0 + r`` (r < ``seeds``) of width ``N``: the eigenpairs of the
    empirical NTK on ``n_lin`` held-out angles (``K/n_lin``, the grid version of the integral
    operator), and for each target spec (β, phases) in ``specs`` the linearised loss
    (:func:`~scalinglaws.kernel.mlp.lazy_loss_linearised`) on the target's record times and its
    exponent on the window; random phases as in :func:`train` (``target_seed0 + r``).  Compared
    with the lazy online runs of the same seeds this isolates the minibatch noise of online SGD
    (plus O(γ₀) nonlinearity).  Returns {(β, phases): {"loss": seeds × times, "chi": (seeds,)}}."""
    th, X = mlp.held_out_grid(n_lin)
    ss = {be: _setup1(P_fine, kmax, be, eta, k_lo, batch, n_lin) for be in {be for be, _ in specs}}
    out = {tuple(sp): {"loss": [], "chi": []} for sp in specs}
    for r in range(seeds):
        ev, V = np.linalg.eigh(mlp.empirical_ntk(mlp.init_params(N, 1.0, seed0 + r), X) / n_lin)
        for be, ph in specs:
            s = ss[be]
            coef = target(s["lam_c"], be, kmax, ph, target_seed0 + r)[0] if ph == "random" else s["targets"][be][0]
            L = mlp.lazy_loss_linearised(ev, V, mlp.fourier_series(coef, th), s["t_rec"][be], eta)
            out[be, ph]["loss"].append(L)
            out[be, ph]["chi"].append(mlp.window_exponent(s["t_rec"][be], L, s["windows"][be]))
    return {k: {q: np.array(v) for q, v in d.items()} for k, d in out.items()}


def kernel_growth(p_0, p_end, X, eta: float) -> dict:
    """Growth of the empirical NTK between two parameter sets of one network on a uniform grid
    ``X``: ``growth`` (ratio of the circulant spectra λ_k(end)/λ_k(0), k = 0..P/2), ``top_growth``
    (ratio of the top eigenvalues of K/P) and ``eta_top`` (η λ_max(end), below 2 for stability)."""
    P = X.shape[0]
    K_0, K_end = mlp.empirical_ntk(p_0, X), mlp.empirical_ntk(p_end, X)
    growth = mlp.ntk_mode_spectrum(P, K_end) / mlp.ntk_mode_spectrum(P, K_0)
    top_end = np.linalg.eigvalsh(K_end / P)[-1]
    return dict(growth=growth, top_growth=top_end / np.linalg.eigvalsh(K_0 / P)[-1], eta_top=eta * top_end)


def kink_angles(p) -> tuple[np.ndarray, np.ndarray]:
    """Angles on the circle where the neurons' pre-activations w·x + b change sign (their ReLU
    kinks; two per neuron with abs(b) < abs(w), wrapped to (−π, π]) and the readout weight abs(a)
    of the neuron of each kink."""
    nw = np.hypot(p.W[:, 0], p.W[:, 1])
    m = np.abs(p.b) < nw
    phi, d = np.arctan2(p.W[m, 1], p.W[m, 0]), np.arccos(-p.b[m] / nw[m])
    ang = np.angle(np.exp(1j * np.concatenate([phi + d, phi - d])))
    return ang, np.abs(np.concatenate([p.a[m], p.a[m]]))


def plot_spectrum(setup: dict, ntk: dict, *, kmax: int, N_ntk: int, example_random):
    """Figure: the NTK spectra (left: closed form on the P grid and in the continuum, the empirical
    kernel ± 2 s.e.) and the targets on the held-out angles (right; ``example_random``: the
    coefficients of one random-phase hard target)."""
    kk, lam, lam_c, fit_alpha = setup["kk"], setup["lam"], setup["lam_c"], setup["fit_alpha"]
    P = setup["X"].shape[0]
    fig, axs = plotting.figure(ncols=2)
    ax = axs[0, 0]
    plotting.theory(ax, kk[:4 * kmax], lam_c[1:4 * kmax + 1], label="closed form, continuum", i=0)
    ax.plot(np.arange(1, P // 2), lam[1:P // 2], "--", color=plotting.color(4), lw=1,
            label=f"closed form, grid of P = {P} (aliased)")
    plotting.simulation(ax, kk[:kmax], ntk["lam_emp"][1:kmax + 1], 2 * ntk["lam_se"][1:kmax + 1], i=1, ms=3,
                        label=f"empirical, N = {N_ntk}, grid P (±2 s.e.)")
    ax.plot(kk[:4 * kmax], fit_alpha(kk[:4 * kmax]), ":", color="gray", label=f"fit k = 8..64: slope {fit_alpha.slope:.3f}")
    plotting.loglog(ax, "mode k", "eigenvalue λ_k", "NTK spectrum on the circle")
    ax.legend(fontsize=7)
    ax = axs[0, 1]
    th = setup["th_test"]
    be_h = next(iter(setup["targets"]))
    for i, (be, (coef, _)) in enumerate(setup["targets"].items()):
        ax.plot(th, mlp.fourier_series(coef, th), color=plotting.color(i), label=f"β = {be:g}, zero phases")
    ax.plot(th, mlp.fourier_series(example_random, th), color=plotting.color(3), lw=0.8,
            label=f"β = {be_h:g}, random phases (one draw)")
    ax.set_xlabel("θ"); ax.set_ylabel("y(θ)"); ax.set_title("targets"); ax.legend(fontsize=7)
    return fig


def _loss_panel(ax, setup, be, Ls: dict, chi: dict, title: str, N: int):
    t_rec, windows = setup["t_rec"][be], setup["windows"][be]
    plotting.theory(ax, t_rec, setup["lazy_inf"][be], label="lazy, N = ∞ (exact, online SGD)", i=0)
    for i, (g, L) in enumerate(Ls.items()):
        lab = f"γ₀ = {g:g}: χ = {chi[g].mean():.3f} ± {chi[g].std(ddof=1) / np.sqrt(chi[g].size):.3f}"
        plotting.simulation(ax, t_rec[::3], L.mean(0)[::3], L.std(0, ddof=1)[::3] / np.sqrt(L.shape[0]),
                            i=i + 1, ms=3, label=lab)
    chi_r = 2 * be / (1 + be) if be < 1 else be
    t0 = windows[0]
    L0 = np.interp(t0, t_rec, setup["lazy_inf"][be])
    tt = np.geomspace(t0, windows[1], 10)
    ax.plot(tt, 0.5 * L0 * (tt / t0) ** -be, "--", color="k", lw=1, label=f"slope −β = −{be:g}")
    if chi_r != be:
        ax.plot(tt, 0.5 * L0 * (tt / t0) ** -chi_r, "-.", color="k", lw=1, label=f"slope −2β/(1+β) = −{chi_r:.3f}")
    ax.axvspan(*windows, color="0.92", zorder=0)
    plotting.loglog(ax, "time t = steps × η", "test loss L", title + f" (N = {N})")
    ax.legend(fontsize=6.5)


def plot_training(setup: dict, panels: list, *, N: int):
    """Figure (2 × 2): test loss of lazy and rich online SGD (markers: mean ± s.e. over seeds), the
    exact lazy N = ∞ loss (line), slopes −β and −2β/(1+β) (dashed) and the fit window (shaded),
    for each of the three ``panels`` = [(title, β, {γ₀: losses (seeds × times)}, {γ₀: per-seed
    exponents})]; the fourth panel shows every seed's exponent per setting against the lazy
    N = ∞ exponent."""
    fig, axs = plotting.figure(ncols=2, nrows=2)
    for ax, (title, be, Ls, chi) in zip([axs[0, 0], axs[0, 1], axs[1, 0]], panels):
        _loss_panel(ax, setup, be, Ls, chi, title, N)
    ax = axs[1, 1]
    x = 0
    ticks = []
    for title, be, Ls, chi in panels:
        ax.plot([x - 0.4, x + len(chi) - 0.6], [setup["chi_inf"][be]] * 2, "-", color=plotting.color(0), lw=2)
        for i, (g, c) in enumerate(chi.items()):
            jit = np.linspace(-0.25, 0.25, c.size)
            ax.plot(x + jit, c, "o", ms=2.5, mfc="none", color=plotting.color(i + 1))
            ax.errorbar([x + 0.35], [c.mean()], yerr=[3 * c.std(ddof=1) / np.sqrt(c.size)], fmt="s", ms=4,
                        color=plotting.color(i + 1), capsize=2)
            ticks.append((x, f"{title.split()[0]} {title.split(', ')[-1].split()[0]}\nγ₀={g:g}"))
            x += 1
        x += 0.5
    ax.set_xticks([p for p, _ in ticks], [s for _, s in ticks], fontsize=6)
    ax.set_ylabel("fitted exponent χ")
    ax.set_title("per seed; squares: mean ± 3 s.e.; bars: lazy N = ∞", fontsize=8)
    return fig


def plot_diagnosis(growth: dict, kinks: dict, *, g_rich: float, kmax: int):
    """Figure: the growth of the kernel's circulant spectrum over rich training (left; ``growth``:
    {label: λ_k(end)/λ_k(0)}) and the density of the neurons' kink angles, weighted by abs(a)
    (right; ``kinks``: {label: (angles, weights)})."""
    fig, axs = plotting.figure(ncols=2)
    ax = axs[0, 0]
    for i, (lab, gr) in enumerate(growth.items()):
        ax.semilogx(np.arange(1, kmax + 1), gr[1:kmax + 1], ".", ms=4, color=plotting.color(i + 2), label=lab)
    ax.set_xlabel("mode k"); ax.set_ylabel("λ_k(end) / λ_k(0)  (circulant part)")
    ax.set_title(f"kernel growth, hard target, γ₀ = {g_rich:g}"); ax.legend(fontsize=7)
    ax = axs[0, 1]
    bins = np.linspace(-np.pi, np.pi, 65)
    for i, (lab, (ang, w)) in enumerate(kinks.items()):
        ax.hist(ang, bins=bins, weights=w, density=True, histtype="step", color=plotting.color(i + 1), label=lab)
    ax.set_xlabel("kink angle θ (target singularity of the zero-phase target at 0)")
    ax.set_ylabel("density (weighted by |a|)"); ax.set_title("where the ReLU kinks sit"); ax.legend(fontsize=7)
    return fig
