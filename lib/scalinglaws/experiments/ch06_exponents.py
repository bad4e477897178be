r"""Experiments of chapter 6 (the exponents side by side): small new simulations of each mechanism's
time exponent at one common point, the chapter's tables and its figure.

Each simulation is a module-level function of the chapter's parameters returning the measured
decay exponents (per seed) and their mean and standard error (:func:`scalinglaws.exponents.spread`);
run them through :func:`scalinglaws.experiments.call` / :func:`~scalinglaws.experiments.run` so
that they are cached in the results store.  They are the chapter's own, smaller versions of the
runs of chapters 1, 4 and 5 (this module imports no other chapter's experiments):

* :func:`linear_sgd_exponent` -- linear online SGD in the eigenbasis (Worschech & Rosenow's
  teacher, a = b = 1 + β; chapter 1);
* :func:`lazy_rf_exponent` -- lazy random features, exact gradient flow at P = ∞ (chapter 4);
* :func:`projected_exponent` -- the projected feature-learning model of Bordelon, Atanasov &
  Pehlevan at strength γ (γ = 0: its lazy control; chapter 4);
* :func:`emergence_exponent` -- population GD of the additive emergence network on Ren et al.'s
  teacher (chapter 5).

``seed`` is the chapter's master seed: the random-feature and projected-model runs use the streams
``SeedSequence(seed).generate_state(4)[1]`` and ``[2]``; the linear and emergence runs draw their
seeds from ``SeedSequence([seed, 1])`` and ``SeedSequence([seed, 4])``.  Exponents are positive
decay rates (``L ∝ t^−exponent``).
"""

from __future__ import annotations

import numpy as np

from scalinglaws import emergence as em
from scalinglaws import exponents as ex
from scalinglaws import spectra
from scalinglaws.analysis.fits import fit_power_law
from scalinglaws.committee import linear
from scalinglaws.kernel import featurelearning as fl
from scalinglaws.kernel import randomfeatures as rf

__all__ = ["linear_sgd_exponent", "lazy_rf_exponent", "projected_exponent", "emergence_exponent",
           "notation_table", "exponent_table", "simulation_table", "plot_exponents"]


def _stream(seed: int, i: int) -> int:
    return int(np.random.SeedSequence(seed).generate_state(4)[i])


# ----------------------------------------------------------------------------------------------
# simulations
# ----------------------------------------------------------------------------------------------
def linear_sgd_exponent(beta_wr: float, N_lin: int, eta_lin: float, seeds_lin: int,
                        slope_tol_lin: float, seed: int) -> dict:
    r"""Time exponent of exact online SGD of the linear student (``linear.simulate_eigenbasis``,
    N = L modes, :math:`\lambda_k\propto k^{-(1+\beta)}` with mean one, all modes trained,
    σ_J = 0.01), fitted per seed on 30 times spanning the window where the incomplete-gamma form's
    local slope is within ``slope_tol_lin`` of the law (``linear.power_law_window``).

    Returns ``lo``, ``hi`` (the window in α), ``slopes`` (per seed) and ``fit`` (mean, s.e.).
    """
    k = np.arange(1, N_lin + 1, dtype=float)
    lam_lin = k ** -(1 + beta_wr)
    lam_lin *= N_lin / lam_lin.sum()                               # (1/N) tr Sigma = 1
    lo, hi = linear.power_law_window(N_lin, beta_wr, eta_lin, slope_tol=slope_tol_lin)
    t_lin = np.geomspace(lo, hi, 30)
    seeds_l = [int(x) for x in np.random.SeedSequence([seed, 1]).generate_state(seeds_lin)]
    sim_l = linear.simulate_eigenbasis(lam_lin, eta_lin, t_lin, seeds_l)
    slopes = ex.decay_exponents(sim_l.t, sim_l.seeds)
    return dict(lo=lo, hi=hi, slopes=slopes, fit=ex.spread(slopes))


def lazy_rf_exponent(a: float, b: float, M_rf: int, N_rf: int, draws_rf: int, t_lo_rf: float,
                     seed: int) -> dict:
    r"""Time exponent of lazy random-feature regression (``randomfeatures.simulate``: exact
    gradient flow, width N_rf, M_rf features, P = ∞) on the task :math:`\lambda_k\propto k^{-b}`,
    power :math:`k^{-a}` per mode (``spectra.power_law_task``), fitted per draw on the window
    [t_lo_rf, 0.01 N_rf^b]; and the same features at infinite width (the closed-form mode sum) on
    the same window (``inf``).

    Returns ``t_hi``, ``slopes`` (per draw), ``fit`` (mean, s.e.) and ``inf``.
    """
    lam_rf, w2_rf = spectra.power_law_task(M_rf, a, b)
    t_hi_rf = 0.01 * N_rf ** b
    t_rf = np.geomspace(1.0, 1.5 * t_hi_rf, 40)
    res_rf = rf.simulate(lam_rf, w2_rf, N_rf, np.inf, t_rf, draws=draws_rf, seed=_stream(seed, 1))
    slopes = ex.decay_exponents(t_rf, res_rf.seeds, (t_lo_rf, t_hi_rf))
    inf_rf = -fit_power_law(t_rf, rf.simulate(lam_rf, w2_rf, np.inf, np.inf, t_rf, draws=1).loss,
                            (t_lo_rf, t_hi_rf)).slope
    return dict(t_hi=t_hi_rf, slopes=slopes, fit=ex.spread(slopes), inf=float(inf_rf))


def projected_exponent(alpha: float, beta: float, M_fl: int, N_fl: int, gamma: float, eta_fl: float,
                       seeds_fl: int, window_fl: list, seed: int) -> dict:
    r"""Time exponent of the projected two-layer linear model of Bordelon, Atanasov & Pehlevan
    (``featurelearning.simulate_projected_reduced``: width N_fl, M_fl modes, feature-learning
    strength ``gamma``, GD step eta_fl) on the source task (``spectra.source_task(M_fl, alpha,
    beta)``), fitted per seed on ``window_fl``; γ = 0 is the lazy model of the same
    initialisations.

    Returns ``slopes`` (per seed) and ``fit`` (mean, s.e.).
    """
    lam_fl, w2_fl = spectra.source_task(M_fl, alpha, beta)
    t_fl = np.geomspace(1.0, window_fl[1], 30)
    r = fl.simulate_projected_reduced(lam_fl, w2_fl, N_fl, gamma, t_fl, eta=eta_fl, seeds=seeds_fl,
                                      seed=_stream(seed, 2))
    slopes = ex.decay_exponents(r.t, r.seeds, tuple(window_fl))
    return dict(slopes=slopes, fit=ex.spread(slopes))


def emergence_exponent(beta_ren: float, d_em: int, P_em: int, m_em: int, eta_em: float, seeds_em: int,
                       seed: int) -> dict:
    r"""Time exponent of population GD of the 2-homogeneous emergence network (``emergence.population_gd``,
    h_4 teacher with :math:`a_p\propto p^{-\beta}`, P_em directions, width m_em, dimension d_em,
    σ_0 = 10⁻³), run to 1.05 × 40 T_1 of the slowest initialisation (T_1 from
    ``emergence.greedy_floor``).  The loss plus the tail of the directions p > P
    (``emergence.tail_loss``) is fitted per initialisation on [2, 40] T_1 (chapter 5's rule).

    Returns ``steps``, ``slopes`` (per initialisation) and ``fit`` (mean, s.e.).
    """
    a_em = spectra.power_law_amplitudes(P_em, beta_ren)
    R_P = em.tail_loss(P_em, beta_ren)                       # directions p > P of the infinite teacher
    seeds_e = [int(x) for x in np.random.SeedSequence([seed, 4]).generate_state(seeds_em)]
    T1 = em.greedy_floor(m_em, d_em, a_em, seeds_e)[1] / eta_em     # first emergence time, in steps
    steps_em = int(np.ceil(1.05 * 40 * T1.max()))
    runs_em = em.population_gd(m_em, d_em, a_em, seeds=seeds_e, k=4, eta=eta_em, steps=steps_em,
                               sigma0=1e-3, n_record=200, show_progress=False)
    slopes = np.array([-fit_power_law(r.t, r.loss + R_P, (2 * r.T_pred[0], min(40 * r.T_pred[0], r.t[-1]))).slope
                       for r in runs_em], dtype=float)
    return dict(steps=steps_em, slopes=slopes, fit=ex.spread(slopes))


# ----------------------------------------------------------------------------------------------
# tables (Markdown) and the figure
# ----------------------------------------------------------------------------------------------
SHORT = {"linear online SGD": "linear SGD", "lazy random features": "lazy RF",
         "rich feature learning": "rich", "additive emergence (fixed eta)": "emergence, fixed η",
         "additive emergence (unstable eta)": "emergence, unstable η"}


def notation_table() -> str:
    """The notation map (``exponents.notation_map``) as a Markdown table."""
    md = ["| paper | its notation | a | b | domain | example → (a, b) |", "|---|---|---|---|---|---|"]
    for r in ex.notation_map():
        md.append(f"| {r['paper']} | {r['notation']} | {r['a']} | {r['b']} | {r['domain']} | "
                  f"{r['example_params']} → ({r['example'][0]:g}, {r['example'][1]:g}) |")
    return "\n".join(md)


def exponent_table(points) -> str:
    """Every mechanism's exponents at the points (a, b) (``exponents.tabulate``) as a Markdown table."""
    md = ["| a | b | s | mechanism | time | data (protocol) | width | compute | N* ∝ C^x |",
          "|---|---|---|---|---|---|---|---|---|"]
    for r in ex.tabulate(points):
        md.append(f"| {r['a']:g} | {r['b']:g} | {r['s']:.3g} | {SHORT[r['mechanism']]} | {r['time']:.3f} | "
                  f"{r['data']:.3f} ({r['data_protocol']}) | {r['width']:.3f} | {r['compute']:.3f} | "
                  f"{r['width_alloc']:.3f} |")
    return "\n".join(md)


def simulation_table(rows, z_tol: float, sys_tol: float) -> str:
    """The simulated exponents as a Markdown table; ``rows``: (name, s, theory, (mean, s.e.),
    competing name, competing value); tolerance z_tol · s.e. + sys_tol."""
    md = ["| simulation | s | theory | simulated ± s.e. | tolerance | competing value |",
          "|---|---|---|---|---|---|"]
    for name, s_, th, (m_, se_), alt_name, alt in rows:
        md.append(f"| {name} | {s_:.3g} | {th:.3f} | {m_:.3f} ± {se_:.3f} | {z_tol * se_ + sys_tol:.3f} | "
                  f"{alt_name}: {alt:.3f} |")
    return "\n".join(md)


def plot_exponents(b_plot: float, s22: float, sim_lin, sim_rf, sim_fl0, sim_flr, sim_em, s_em: float):
    """Time, width and compute exponents of every mechanism against s at b = b_plot (the emergence
    variants as markers at their one s), with the simulated time exponents ((mean, s.e.) each) in
    the top panel: linear SGD, lazy RF, the projected model's lazy control and rich run at s22,
    and the emergence network at s_em."""
    from scalinglaws.book import plotting
    ss = np.linspace(0.02, 2.6, 300)
    # drawing order: the thick linear line first, the dashed lazy line last (on top where they coincide)
    mech = [("linear online SGD", ex.linear_online_sgd, 0, "-"),
            ("rich feature learning", ex.rich_feature_learning, 2, "-"),
            ("lazy random features", ex.random_features, 1, "--")]
    fig, axs = plotting.figure(ncols=1, nrows=3, width=6.4, height=3.1)
    for ax, field, lab in zip(axs[:, 0], ("time", "width", "compute"),
                              ("time exponent", "width exponent", "compute exponent")):
        for name, f, i, ls in mech:
            y = [getattr(f(1.0 + s * b_plot, b_plot), field) for s in ss]
            plotting.theory(ax, ss, y, label=name, i=i, ls=ls, lw=4.0 if i == 0 else 1.8,
                            alpha=0.6 if i == 0 else 1.0)
        for eta_, i, mk in (("fixed", 3, "D"), ("unstable", 4, "^")):
            a_, b_ = (2 * b_plot, b_plot) if eta_ == "fixed" else (b_plot, b_plot)
            e = ex.additive_emergence(a_, b_, eta_)
            ax.plot(e.s, getattr(e, field), mk, color=plotting.color(i), ms=9,
                    label=f"emergence, {eta_} η (only on b = {'a/2' if eta_ == 'fixed' else 'a'})")
        ax.set_ylabel(lab)
    top = axs[0, 0]
    top.set_title(f"theory at b = {b_plot:g} (time: any b); markers with error bars: simulations")
    # simulated time exponents (all depend on s alone)
    plotting.simulation(top, [s22 - 0.04], [sim_lin[0]], [sim_lin[1]], i=0, fmt="o", label="sim: linear online SGD")
    plotting.simulation(top, [s22], [sim_rf[0]], [sim_rf[1]], i=1, fmt="s", label="sim: lazy RF")
    plotting.simulation(top, [s22 + 0.04], [sim_fl0[0]], [sim_fl0[1]], i=1, fmt="v")
    plotting.simulation(top, [s22], [sim_flr[0]], [sim_flr[1]], i=2, fmt="o", label="sim: rich (projected model)")
    plotting.simulation(top, [s_em], [sim_em[0]], [sim_em[1]], i=3, fmt="D",
                        label="sim: emergence network (measured only)")
    for ax in axs[1:, 0]:
        ax.text(0.02, 0.92, "not simulated here (chapters 4, 5)", transform=ax.transAxes, fontsize=10, va="top")
    axs[2, 0].set_xlabel("source exponent s = (a − 1)/b")
    h, l = top.get_legend_handles_labels()
    sim_i = [i for i, x in enumerate(l) if x.startswith("sim:")]
    th_i = [i for i in range(len(l)) if i not in sim_i]
    axs[1, 0].legend([h[i] for i in th_i], [l[i] for i in th_i], fontsize=8, loc="lower right")
    axs[2, 0].legend([h[i] for i in sim_i], [l[i] for i in sim_i], fontsize=8, loc="lower right",
                     title="simulated time exponents (top panel)", title_fontsize=8)
    return fig
