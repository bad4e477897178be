"""Chapter 5 (SGD emergence): the chapter's computations as experiments, and its figures.

Every function of keyword arguments below is run by the chapter through
:func:`scalinglaws.experiments.call` / :func:`~scalinglaws.experiments.run` (cached in the
results store) and returns only what the chapter plots and checks: loss curves without the
per-neuron time series (:func:`slim`), emergence times, overlaps of the pairs that are plotted, and
the outcomes of the Theorem 2.1 analyses of :mod:`scalinglaws.emergence.analysis`.  The
``plot_*`` functions draw the chapter's figures from those results and return the figure.

Model, conventions and units: :mod:`scalinglaws.emergence` (teacher ``a_p ∝ p^-beta`` normalised
over ``P`` directions, ``h_4`` unless ``k`` says otherwise, loss ``E(f - f*)^2``, time in steps).
"""

from __future__ import annotations

import numpy as np
from scipy.special import zeta

from scalinglaws import emergence as em
from scalinglaws import spectra
from scalinglaws.analysis import fits
from scalinglaws.analysis.frontier import compute_frontier
from scalinglaws.book import plotting
from scalinglaws.result import Curve

__all__ = ["slim", "toy_laws", "gd_runs", "greedy_floors", "greedy_frontiers", "sgd_runs",
           "contrast_run", "d_sweep", "network_frontier", "tp_vs_d", "low_beta_runs",
           "low_beta_toy", "sgd_vs_gd", "plot_toy", "plot_staircase", "plot_laws", "plot_sgd", "plot_contrast",
           "plot_d_laws", "plot_low_beta"]

#: Per-pair extras of an emergence run that the chapter reads (each of length ``min(m, P)``).
PAIR_EXTRAS = ("students", "teachers", "u0", "T_pred", "t_emerge", "t_emerge_dir")


def slim(run: Curve, keep=PAIR_EXTRAS, series=()) -> Curve:
    """``run`` with only the extras named in ``keep`` and the time series named in ``series``
    (e.g. ``"pair_overlap"``): the per-neuron time series (``norms``, ``pair_overlap`` of wide
    networks) are what makes a stored run large."""
    names = tuple(keep) + tuple(series)
    return Curve(t=run.t, loss=run.loss, t_unit=run.t_unit, loss_factor=run.loss_factor,
                 label=run.label, meta=dict(run.meta),
                 extras={k: run.extras[k] for k in names}, series=tuple(series))


# ----------------------------------------------------------------------------------------------
# Toy sums (section "The universal emergence curve and the toy sum")
# ----------------------------------------------------------------------------------------------
def toy_laws(*, beta: float, P: int, P_toy: int, d: int, sigma0: float) -> dict:
    """Time, width and compute exponents of the toy sum ``L(t) = sum_p a_p^2 ell(t/T_p)`` with
    ``T_p = p^beta`` (time in units of ``T_1``), universal curve at ``u0 = 1/d``.

    Returns ``t`` (300 times), ``L_big`` (``P_toy`` directions), ``L_fin`` (``P`` directions plus
    the tail ``R_P``), the fits ``f_big``, ``f_fin``, ``f_raw`` (``P`` without tail) over
    ``win_t = (3, min(1e3, 0.1 P^beta))``, the width-floor fit ``f_w`` (``sum_{p>m} a_p^2 + R``,
    ``m`` in [10, 3000]), the compute-frontier fit ``f_c`` over ``win_c``
    (:func:`~scalinglaws.emergence.transitions.frontier_window`) and ``n_widths``, the number of
    widths of the frontier."""
    curve = em.toy_curve(4, u0=1.0 / d, rho0=sigma0**2 / 0.1)
    T1_toy = 1.0

    def toy_L(P_, beta_, t, learnable=None):
        a_ = spectra.power_law_amplitudes(P_, beta_)
        return em.toy_sum(t, a_, T1_toy * np.arange(1, P_ + 1) ** beta_, curve, learnable)

    t_toy = np.logspace(-0.5, 5, 300)
    b_ = beta
    L_big = toy_L(P_toy, b_, t_toy)
    L_fin = toy_L(P, b_, t_toy) + em.tail_loss(P, b_)
    win_t = (3 * T1_toy, min(1e3, 0.1 * P ** b_) * T1_toy)
    f_big = fits.fit_power_law(t_toy, L_big, win_t)
    f_fin = fits.fit_power_law(t_toy, L_fin, win_t)
    f_raw = fits.fit_power_law(t_toy, L_fin - em.tail_loss(P, b_), win_t)
    # width floor and compute frontier of the toy (width m learns its first m directions)
    ms_toy = np.unique(np.round(np.logspace(0.5, 3.5, 25)).astype(int))
    floors = np.array([np.sum(spectra.power_law_amplitudes(P_toy, b_)[m:] ** 2) for m in ms_toy])
    f_w = fits.fit_power_law(ms_toy, floors + em.tail_loss(P_toy, b_), (10, 3000))
    a_toy = spectra.power_law_amplitudes(P_toy, b_)
    L_ms = em.toy_sum_widths(t_toy, a_toy, T1_toy * np.arange(1, P_toy + 1) ** b_, curve, ms_toy)
    curves = {m: (t_toy, L_ms[i]) for i, m in enumerate(ms_toy)}
    C = np.logspace(1, 8, 200)
    Lf, _ = compute_frontier(curves, C)
    win_c = em.frontier_window(ms_toy, T1_toy, b_)
    f_c = fits.fit_power_law(C, Lf, win_c)
    return dict(t=t_toy, L_big=L_big, L_fin=L_fin, f_big=f_big, f_fin=f_fin, f_raw=f_raw,
                win_t=win_t, f_w=f_w, f_c=f_c, win_c=win_c, n_widths=len(ms_toy))


# ----------------------------------------------------------------------------------------------
# Population GD (width sweep, width floors, second beta, held-out replicate)
# ----------------------------------------------------------------------------------------------
def gd_runs(*, m: int, d: int, P: int, beta: float, seeds: list, eta: float, steps: int,
            sigma0: float, n_record: int, n_show: int = 12, k: int = 4,
            dtype: str = "float64") -> dict:
    """Population GD (:func:`~scalinglaws.emergence.gd.population_gd`, ``h_4``, reduced exact
    representation) of width ``m`` from every initialisation in ``seeds``, on the teacher
    ``a_p ∝ p^-beta`` over ``P`` directions, for ``steps`` steps of size ``eta`` (activation
    ``h_k``, arithmetic ``dtype``).

    Returns ``runs`` (one :func:`slim` Curve per seed: loss at ``n_record`` log-spaced steps and
    the greedy pairs' ``students``, ``teachers``, ``u0``, ``T_pred``, ``t_emerge``,
    ``t_emerge_dir``), ``overlap0`` (squared cosines of the first ``n_show`` greedy pairs of the
    first seed at the recorded steps), ``converged`` (per seed, Thm 2.1(b) at the end of the run:
    :func:`~scalinglaws.emergence.analysis.converged_pairs`) and ``unused`` (Thm 2.1(a) for the
    first seed: :func:`~scalinglaws.emergence.analysis.unused_neurons` with late neurons those
    scheduled after twice the run, at least the last quarter of the greedy list, growth limit
    10)."""
    a = spectra.power_law_amplitudes(P, beta)
    runs = em.population_gd(m, d, a, seeds=list(seeds), k=k, eta=eta, steps=steps, sigma0=sigma0,
                            n_record=n_record, dtype=dtype)
    return dict(runs=[slim(r) for r in runs],
                overlap0=np.array(runs[0].pair_overlap[:, :n_show]),
                converged=[em.converged_pairs(r, steps, a) for r in runs],
                unused=em.unused_neurons(runs[0], steps, late_factor=2.0, min_fraction=0.25,
                                         max_growth=10.0))


def greedy_floors(*, widths: list, d: int, P: int, beta: float, seeds: list) -> dict:
    """Greedy-pairing floors and first greedy times of every width from the initialisations
    alone (no training): ``{m: (floors, T1)}`` with the per-seed arrays of
    :func:`~scalinglaws.emergence.gd.greedy_floor` (``T1`` in units of ``1/eta``)."""
    a = spectra.power_law_amplitudes(P, beta)
    return {m: em.greedy_floor(m, d, a, list(seeds)) for m in widths}


def greedy_frontiers(*, d: int, P: int, beta: float, widths: list, seeds: list, eta: float,
                     sigma0: float, spans: list | None = None) -> list:
    """Raw and own-clock compute-frontier slopes of the greedy toy (initialisations only):
    :func:`~scalinglaws.emergence.analysis.greedy_frontier_slopes`."""
    return em.greedy_frontier_slopes(d, P, beta, widths, list(seeds), eta=eta, sigma0=sigma0,
                                     spans=spans)


# ----------------------------------------------------------------------------------------------
# Online SGD and the k* = 2 contrast
# ----------------------------------------------------------------------------------------------
def sgd_runs(*, m: int, d: int, P: int, beta: float, eta: float, steps: int, sigma0: float,
             seed: int, n_init: int, n_record: int) -> list:
    """Online SGD (:func:`~scalinglaws.emergence.sgd.online_sgd`, batch 1, exact reduced chain,
    ``h_4``) of ``n_init`` initialisations on one sample stream ``seed``: one :func:`slim` Curve
    per initialisation with the pairs' squared cosines ``pair_overlap`` as a time series."""
    a = spectra.power_law_amplitudes(P, beta)
    sgd = em.online_sgd(m, d, a, k=4, eta=eta, steps=steps, sigma0=sigma0, seed=seed,
                        n_init=n_init, n_record=n_record, reduced=True)
    sgd = sgd if isinstance(sgd, list) else [sgd]
    return [slim(r, series=("pair_overlap",)) for r in sgd]


def contrast_run(*, k: int, m: int, d: int, P: int, beta: float, eta: float, steps: int,
                 sigma0: float, seed: int, n_record: int) -> Curve:
    """Population GD with the activation ``h_k`` (``k`` = 2 or 4) from one initialisation: a
    :func:`slim` Curve with the greedy pairs' squared cosines ``pair_overlap`` (time series) and
    their initial values ``u0``."""
    a = spectra.power_law_amplitudes(P, beta)
    r = em.population_gd(m, d, a, k=k, eta=eta, steps=steps, sigma0=sigma0, seed=seed,
                         n_record=n_record)
    return slim(r, keep=("students", "teachers", "u0"), series=("pair_overlap",))


# ----------------------------------------------------------------------------------------------
# The compute frontier at several d, T_p against d, k* = 6, beta < 1/2
# ----------------------------------------------------------------------------------------------
def d_sweep(*, d: int, P: int, beta: float, widths: list, seeds: list, eta: float, sigma0: float,
            max_steps: int, dtype: str = "float32", n_record: int = 200) -> dict:
    """The chapter's width sweep at input dimension ``d``, every rule fixed from the
    initialisations before training (as for the main sweep): clock ``T1bar`` = mean first greedy
    time of the widest network (steps), compute window
    :func:`~scalinglaws.emergence.transitions.frontier_window`, run length of each width
    :func:`~scalinglaws.emergence.analysis.width_run_steps` (at most ``max_steps``).

    Returns ``runs`` (width -> one :func:`slim` Curve per seed, no per-pair extras beyond
    ``PAIR_EXTRAS``), ``T1bar``, ``window``, ``steps`` (width -> steps), ``max_steps``."""
    a = spectra.power_law_amplitudes(P, beta)
    m_max = max(widths)
    T1_init = {m: em.greedy_floor(m, d, a, list(seeds))[1] / eta for m in widths}
    T1bar = float(np.mean(T1_init[m_max]))
    win = em.frontier_window(widths, T1bar, beta)
    steps_w = em.width_run_steps(widths, T1_init[m_max], win[1], max_steps)
    runs = {m: [slim(r) for r in em.population_gd(m, d, a, seeds=list(seeds), k=4, eta=eta,
                                                  steps=steps_w[m], sigma0=sigma0,
                                                  n_record=n_record, dtype=dtype,
                                                  show_progress=False)]
            for m in widths}
    return dict(runs=runs, T1bar=T1bar, window=win, steps=steps_w, max_steps=max_steps)


def network_frontier(runs: dict, *, R: float, T1bar: float, window, max_steps: int,
                     clock: dict | None = None, n_C: int = 120) -> dict:
    """Per-seed compute frontiers of a width sweep (``runs``: width -> per-seed Curves or
    ``(t, loss)`` pairs; loss plus the tail ``R``) on the chapter's grid ``C`` from ``min(widths) T1bar`` to
    ``max(widths) max_steps`` (``n_C`` log-spaced points), fitted over ``window``.

    Returns ``C``, per seed ``frontier`` (L*), ``slope`` (of L* over ``window``), ``m_star``
    (the arg-min width at each C, :func:`~scalinglaws.analysis.frontier.compute_frontier`) and
    ``m_slope`` (power-law slope of m* over ``window``; Ren et al.: ``1/(1+beta)``), and
    ``sensitivity``: the raw slopes with the window's lower edge raised or its upper edge lowered
    by factors 2 and 4 (keys ``"lo*2"``, ``"lo*4"``, ``"hi/2"``, ``"hi/4"``), to show how much
    the raw slope depends on the window.  With ``clock`` the time of width ``m`` is divided by
    ``clock[m]`` first."""
    widths = sorted(runs)
    C = np.logspace(np.log10(min(widths) * T1bar), np.log10(max(widths) * max_steps), n_C)
    lo, hi = window
    shifted = {"lo*2": (2 * lo, hi), "lo*4": (4 * lo, hi), "hi/2": (lo, hi / 2),
               "hi/4": (lo, hi / 4)}
    out = dict(C=C, frontier=[], slope=[], m_star=[], m_slope=[],
               sensitivity={k_: [] for k_ in shifted})
    pairs = {m: [(c.t, c.loss) if hasattr(c, "loss") else c for c in runs[m]] for m in widths}
    for g in range(len(pairs[widths[0]])):
        cv = {m: (np.asarray(pairs[m][g][0])[1:] / (1.0 if clock is None else clock[m]),
                  np.asarray(pairs[m][g][1])[1:] + R) for m in widths}
        L, ms = compute_frontier(cv, C)
        out["frontier"].append(L)
        out["slope"].append(fits.fit_power_law(C, L, window).slope)
        out["m_star"].append(ms)
        out["m_slope"].append(fits.fit_power_law(C, ms, window).slope)
        for k_, w_ in shifted.items():
            out["sensitivity"][k_].append(fits.fit_power_law(C, L, w_).slope)
    return out


def tp_vs_d(*, k: int, ds: list, m: int, P: int, beta: float, seeds: list, eta: float,
            sigma0: float, span: float = 3.0) -> dict:
    """First emergence time against the input dimension: population GD (``h_k``) of width ``m``
    on ``P`` directions at every ``d`` in ``ds``, from every initialisation in ``seeds``, each
    ``d`` run for ``span`` times the largest first greedy time over the seeds (fixed from the
    initialisations).

    Returns ``d`` and ``t_first`` (flat arrays over (d, seed): the first step at which some
    neuron has ``cos^2 >= 1/2`` with some teacher direction), ``T_first`` (the first predicted
    greedy time of the same initialisation, steps) and ``steps`` (d -> run length).  Thm 2.1 at
    fixed ``eta``: ``T_p ∝ d^(k/2 - 1)`` steps (the initial squared cosines scale as ``1/d``)."""
    a = spectra.power_law_amplitudes(P, beta)
    d_out, t_first, T_first, steps_d = [], [], [], {}
    for d in ds:
        T1 = em.greedy_floor(m, d, a, list(seeds), k=k, sigma0=sigma0)[1] / eta
        steps_d[d] = int(np.ceil(span * np.max(T1)))
        runs = em.population_gd(m, d, a, seeds=list(seeds), k=k, eta=eta, steps=steps_d[d],
                                sigma0=sigma0, n_record=20, show_progress=False)
        for r in runs:
            d_out.append(d)
            t_first.append(float(np.nanmin(r.t_emerge_dir)) if np.any(np.isfinite(r.t_emerge_dir))
                           else float("inf"))
            T_first.append(float(r.T_pred[0]))
    return dict(d=np.array(d_out), t_first=np.array(t_first), T_first=np.array(T_first),
                steps=steps_d, k=k)


def low_beta_runs(*, d: int, P: int, beta: float, m: int, seeds: list, eta: float,
                  sigma0: float, span: float = 1.5, dtype: str = "float32") -> dict:
    """Population GD at ``beta < 1/2`` (Ren et al. p. 8: no power law; the loss stays of order
    one until a constant fraction of all ``P`` directions is learned), run for ``span`` times the
    largest predicted greedy time over all pairs and seeds (fixed from the initialisations).

    Returns ``runs`` (:func:`slim` Curves), ``steps`` and ``t_half``: per seed the first recorded
    step (log-interpolated) at which the loss falls to half its initial value ``sum a_p^2``."""
    a = spectra.power_law_amplitudes(P, beta)
    Tmax = 0.0
    for s_ in seeds:
        V0 = em.spherical_init(m, d, sigma0, np.random.default_rng(int(s_)))
        _, te, u0 = em.greedy_pairing(V0, a, 4)
        Tmax = max(Tmax, float(np.max(em.transition_time(a[te], u0, 4, eta))))
    steps = int(np.ceil(span * Tmax))
    runs = em.population_gd(m, d, a, seeds=list(seeds), k=4, eta=eta, steps=steps, sigma0=sigma0,
                            n_record=300, dtype=dtype, show_progress=False)
    half = float(np.sum(a * a)) / 2
    t_half = [fits.first_crossing(r.t[1:].astype(float), r.loss[1:], half, "down") for r in runs]
    return dict(runs=[slim(r) for r in runs], steps=steps, t_half=np.array(t_half))


def low_beta_toy(*, beta: float, P: int, d: int, sigma0: float, n_t: int = 400) -> dict:
    """Toy sum ``sum_p a_p^2 ell(t/T_p)``, ``T_p = p^beta`` (units of ``T_1``), over ``P``
    directions at ``beta < 1/2``, against the continuum form that Ren et al. state for this
    regime, ``L(t) = 1 - (t/T_P)^((1-2 beta)/beta)`` for ``t <= T_P`` (p. 8; our reading of its
    time variable), with ``T_P = tau_half P^beta`` the time at which the last direction's loss has
    halved on the universal curve.  Returns ``t`` (units of ``T_P``), ``L``, ``formula`` and
    ``disc``, the
    size of the discreteness correction of the sum, ``2 |zeta(2 beta)| (1 - 2 beta) / P^(1-2beta)``
    (from ``sum_{p<=n} p^-2beta = n^(1-2beta)/(1-2beta) + zeta(2 beta) + ...``, relative to the
    total, on both the partial and the full sum)."""
    curve = em.toy_curve(4, u0=1.0 / d, rho0=sigma0 ** 2 / 0.1)
    a = spectra.power_law_amplitudes(P, beta)
    # one direction's loss halves at tau_half T_p (tau_half - 1 ~ 2 u0 ln(1/rho0): the 1/d start
    # and the norm growth), so the continuum staircase is compared in units of tau_half T_P
    TP = float(P) ** beta * curve.crossing(0.5)
    x = np.linspace(0.02, 1.2, n_t)
    L = em.toy_sum(x * TP, a, np.arange(1, P + 1) ** beta, curve)
    formula = np.clip(1.0 - np.minimum(x, 1.0) ** ((1 - 2 * beta) / beta), 0.0, None)
    disc = 2 * abs(float(zeta(2 * beta))) * (1 - 2 * beta) * float(P) ** -(1 - 2 * beta)
    return dict(t=x, L=L, formula=formula, disc=disc)


def sgd_vs_gd(*, m: int, d: int, P: int, beta: float, c_sgd: float, eta_gd: float,
              sigma0: float, seed: int, n_init: int, span: float = 42.0,
              n_record: int = 200) -> dict:
    """Online SGD (batch 1, full ``d``-dimensional chain) at the theorem's step scaling
    ``eta = c_sgd / d^2`` (``d^(-k*/2)`` for ``k* = 4``) against population GD (step ``eta_gd``)
    from the *same* initialisations (the ``n_init`` that :func:`~scalinglaws.emergence.sgd.online_sgd`
    draws from ``default_rng(seed)``), on the teacher ``a_p ∝ p^-beta`` over ``P`` directions.
    Both run for ``span`` times the largest first greedy time over the initialisations, in
    gradient-flow time (``eta * steps``), fixed from the initialisations.

    Returns ``sgd`` and ``gd`` (per init, :func:`slim` Curves in steps of their own ``eta``;
    ``curve.to(t_unit="time")`` puts both on the gradient-flow clock) and ``eta``."""
    a = spectra.power_law_amplitudes(P, beta)
    eta = c_sgd / d ** 2
    rng = np.random.default_rng(seed)
    V0 = [em.spherical_init(m, d, sigma0, rng) for _ in range(n_init)]
    T1 = max(float(em.transition_time(a[te[0]], u0[0], 4, 1.0))
             for _, te, u0 in (em.greedy_pairing(V, a, 4) for V in V0))     # GF time
    sgd = em.online_sgd(m, d, a, k=4, eta=eta, steps=int(np.ceil(span * T1 / eta)),
                        sigma0=sigma0, seed=seed, n_init=n_init, n_record=n_record,
                        show_progress=False)
    sgd = sgd if isinstance(sgd, list) else [sgd]
    gd = [em.population_gd(m, d, a, k=4, eta=eta_gd, steps=int(np.ceil(span * T1 / eta_gd)),
                           sigma0=sigma0, V0=V, n_record=n_record, show_progress=False)
          for V in V0]
    return dict(sgd=[slim(r) for r in sgd], gd=[slim(r) for r in gd], eta=eta)

# ----------------------------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------------------------
def plot_toy(curve, toy: dict, *, beta: float, P_toy: int, tau_half_cf: float):
    """Left: the universal emergence curve ``ell``, ``u`` and ``rho`` against ``tau = t/T_p``;
    right: a few weighted steps ``a_p^2 ell(t/T_p)`` and their sum with its fit
    (``toy``: a :func:`toy_laws` result at ``beta``)."""
    fig, ax = plotting.figure(ncols=2)
    a0 = ax[0, 0]
    a0.plot(curve.tau, curve.ell, color=plotting.color(0), label=r"$\ell(\tau)$ (toy ODE)")
    a0.plot(curve.tau, curve.u, "--", color=plotting.color(1), label=r"$u=s^2$")
    a0.plot(curve.tau, curve.rho, ":", color=plotting.color(2), label=r"$\rho=\|v\|^2/a$")
    a0.axvline(tau_half_cf, color="k", lw=0.8, label="closed form: $u=1/2$")
    a0.set_xlim(0.9, 1.06); a0.set_xlabel(r"$\tau=t/T_p$"); a0.legend(); a0.set_title("one direction")
    a1 = ax[0, 1]
    t_toy = toy["t"]
    ts = np.logspace(-0.5, 3, 300)
    for p in (1, 2, 3, 5, 8, 13, 21, 34):
        a1.plot(ts, spectra.power_law_amplitudes(P_toy, beta)[p - 1] ** 2 * curve(ts / p ** beta),
                lw=0.8, color="0.6")
    plotting.theory(a1, t_toy, toy["L_big"], label=r"$\sum_p a_p^2\,\ell(t/T_p)$", i=0)
    a1.plot(t_toy, toy["f_big"](t_toy), "--", color=plotting.color(1),
            label=f"slope {toy['f_big'].slope:.3f}")
    plotting.loglog(a1, r"$t/T_1$", "loss", rf"toy sum, $\beta={beta}$, $P=${P_toy}")
    a1.set_ylim(1e-4, 1.5); a1.set_xlim(ts[0], t_toy[-1]); a1.legend()
    return fig


def plot_staircase(big: Curve, overlap0, a, curve, steps: int):
    """Left: the squared cosines ``overlap0`` of the first greedy pairs of run ``big`` with their
    predicted times; right: its loss with the toy sum of its greedy pairs (no fitted parameter)."""
    fig, ax = plotting.figure(ncols=2, width=6.2)
    a0 = ax[0, 0]
    show = np.arange(min(12, len(big.students)))
    for i in show:
        c = plotting.color(i % 7)
        a0.plot(big.t[1:], overlap0[1:, i], color=c, lw=1.2)
        a0.axvline(big.T_pred[i], color=c, ls=":", lw=1)
    a0.set_xscale("log"); a0.set_xlabel("steps"); a0.set_ylabel(r"$\cos^2(v_j, e_{\pi(j)})$")
    a0.set_title(f"staircase: first {len(show)} greedy pairs (dotted: $T_p$)")
    a0.set_xlim(big.T_pred[0] / 3, steps)
    a1 = ax[0, 1]
    L_pred = em.toy_sum(big.t[1:].astype(float), a[big.teachers], big.T_pred, curve)
    L_pred += np.sum(np.delete(a, big.teachers) ** 2)
    plotting.simulation(a1, big.t[1:], big.loss[1:], label=f"population GD, m={big.meta['m']}",
                        i=0)
    plotting.theory(a1, big.t[1:], L_pred, label=r"toy sum with greedy $T_p$ from the init", i=1)
    plotting.loglog(a1, "steps", r"$L=\mathbb{E}(f-f^*)^2$", "cumulative loss")
    a1.set_xlim(big.T_pred[0] / 3, steps); a1.legend()
    return fig


def plot_laws(*, runs: dict, R: float, beta: float, time: dict, width: dict, compute: dict):
    """Loss against steps (``time``: ``window``, ``fit`` of seed 0, seed ``mean``), width floors
    (``width``: ``floor_runs``, ``steps``, greedy floors ``greedy`` of ``n_greedy`` inits,
    ``same`` = (widths, greedy floors of the same inits) or None, teacher ``a``) and the compute
    frontier (``compute``: grid ``C``, ``frontier``, ``pred``, ``clock`` of seed 0, ``window``,
    ``fit`` of seed 0, seed means ``mean``, ``mean_pred``, ``mean_clock``); ``runs``: width ->
    per-seed runs of the sweep, ``R``: tail ``R_P``."""
    fig, ax = plotting.figure(ncols=3, width=4.6)
    n_seeds = len(next(iter(runs.values())))
    a0 = ax[0, 0]
    for i, (m, rs) in enumerate(runs.items()):
        a0.plot(rs[0].t[1:], rs[0].loss[1:] + R, color=plotting.color(i), lw=1.3, label=f"m={m}")
    win, f = time["window"], time["fit"]
    tw = np.logspace(np.log10(win[0]), np.log10(win[1]), 20)
    a0.plot(tw, f(tw), "--", color=plotting.color(7),
            label=f"fit, seed 0: {f.slope:.2f}; {n_seeds}-seed mean {time['mean']:.2f} "
                  f"(theory {-(2*beta-1)/beta:.2f})")
    plotting.loglog(a0, "steps", r"$L+R_P$", "loss vs steps")
    a0.set_ylim(5e-3, 1.5); a0.legend(fontsize=7)
    a1 = ax[0, 1]
    floor_runs, gf, a = width["floor_runs"], width["greedy"], width["a"]
    m_all = np.array(list(floor_runs))
    Lfl = np.array([[r.loss[-1] + R for r in rs] for rs in floor_runs.values()])
    a1.errorbar(m_all, Lfl.mean(axis=1), yerr=Lfl.std(axis=1, ddof=1) if n_seeds > 1 else None,
                fmt="o", color=plotting.color(0),
                label=f"GD, {width['steps']} steps, {n_seeds} seeds")
    ms_g = list(gf)
    a1.plot(ms_g, [gf[m] for m in ms_g], "x", color=plotting.color(2), ms=8,
            label=f"greedy pairing at init ({width['n_greedy']} inits)")
    if width["same"] is not None:
        a1.plot(width["same"][0], width["same"][1], "+", color=plotting.color(3), ms=10,
                label="greedy pairing, same inits as GD")
    mm = np.logspace(np.log10(min(ms_g) / 1.5), np.log10(max(ms_g) * 1.5), 50)
    plotting.theory(a1, mm, [np.sum(a[int(x):] ** 2) + R for x in mm], i=1,
                    label=r"$\sum_{p>m}a_p^2$ (top $m$ learned)")
    plotting.loglog(a1, "width m", "final loss", "width floor"); a1.legend(fontsize=7)
    a2 = ax[0, 2]
    for i, (m, rs) in enumerate(runs.items()):
        a2.plot(m * rs[0].t[1:], rs[0].loss[1:] + R, color=plotting.color(i), lw=1)
    C = compute["C"]
    a2.plot(C, compute["frontier"], "k-", lw=2.5, alpha=0.5, label="frontier")
    plotting.theory(a2, C, compute["pred"], color="tab:red", lw=1.5,
                    label=f"prediction from the init ({n_seeds}-seed mean slope "
                          f"{compute['mean_pred']:.2f})")
    a2.plot(C, compute["clock"], "k:", lw=2,
            label=f"frontier, own clock ({n_seeds}-seed mean slope {compute['mean_clock']:.2f})")
    win, f = compute["window"], compute["fit"]
    cw = np.logspace(np.log10(win[0]), np.log10(win[1]), 20)
    a2.plot(cw, f(cw), "--", color=plotting.color(7),
            label=f"fit, seed 0: {f.slope:.2f}; {n_seeds}-seed mean {compute['mean']:.2f} "
                  f"(theory {-(2*beta-1)/(1+beta):.2f})")
    plotting.loglog(a2, "compute C = m·steps", r"$L+R_P$", "compute frontier")
    a2.set_ylim(5e-3, 1.5); a2.legend(fontsize=7)
    return fig


def plot_sgd(sgd: list, a, curve, steps: int):
    """Left: squared cosine of every pair due within the run (predicted before ``steps/1.3``)
    against steps over its predicted ``T_p``; right: the loss of the first four initialisations
    with the toy sum of their greedy pairs (``sgd``: :func:`sgd_runs`)."""
    fig, ax = plotting.figure(ncols=2)
    a0 = ax[0, 0]
    for g, r in enumerate(sgd):
        for i in range(len(r.students)):
            if r.T_pred[i] <= steps / 1.3:
                a0.plot(r.t[1:] / r.T_pred[i], r.pair_overlap[1:, i], color=plotting.color(g % 10),
                        lw=1)
    a0.axvline(1.0, color="k", ls=":", lw=1)
    a0.set_xscale("log"); a0.set_xlabel(r"SGD steps / predicted $T_p$")
    a0.set_ylabel(r"$\cos^2$ with partner"); a0.set_xlim(0.05, 2)
    a0.set_title(f"online SGD, d={sgd[0].meta['d']}: every due pair")
    a1 = ax[0, 1]
    for g, r in enumerate(sgd[:4]):
        plotting.simulation(a1, r.t[1:], r.loss[1:], i=g, fmt=".-", ms=2, lw=0.8,
                            label=f"init {g}")
        Lp = em.toy_sum(r.t[1:].astype(float), a[r.teachers], r.T_pred, curve)
        Lp += np.sum(np.delete(a, r.teachers) ** 2)
        a1.plot(r.t[1:], Lp, "--", color=plotting.color(g), lw=1)
    a1.set_xscale("log"); a1.set_xlabel("SGD steps"); a1.set_ylabel("population loss")
    a1.set_xlim(steps / 100, steps)
    a1.set_title("dashed: toy sum with greedy $T_p$ (4 inits)")
    a1.legend(fontsize=7)
    return fig


def plot_contrast(rk: dict):
    """Squared cosines of the greedy pairs against GF time for ``k* = 4`` and ``k* = 2``
    (``rk``: k -> :func:`contrast_run`)."""
    fig, ax = plotting.figure(ncols=2)
    for j, kk in enumerate((4, 2)):
        r = rk[kk]
        for i in range(len(r.students)):
            ax[0, j].plot(r.to(t_unit="time").t[1:], r.pair_overlap[1:, i],
                          color=plotting.color(i), lw=1.2)
        ax[0, j].set_xscale("log"); ax[0, j].set_xlabel(r"GF time $\eta\cdot$steps")
        ax[0, j].set_title(f"$k^*={kk}$: overlaps of the greedy pairs")
    ax[0, 0].set_ylabel(r"$\cos^2$")
    return fig


def plot_d_laws(*, front_d: dict, tp: dict, tp_fit: dict, ks_runs: dict, beta: float,
                P_alt: int):
    """Left: the raw compute frontier of seed 0 at every ``d`` (``front_d``: d ->
    :func:`network_frontier`), compute in units of ``min(C)`` (each d's own clock); middle: first
    emergence times against ``d`` (``tp``: k -> :func:`tp_vs_d`) with their power-law fits
    ``tp_fit``; right: the loss of seed 0 for ``k* = 4`` and the other ``k`` of ``ks_runs``
    (k -> :func:`gd_runs`) against steps over its own ``T_1``."""
    fig, ax = plotting.figure(ncols=3, width=4.6)
    a0 = ax[0, 0]
    for i, (d_, f_) in enumerate(front_d.items()):
        C = f_["C"]
        a0.plot(C / C[0], f_["frontier"][0], color=plotting.color(i), lw=1.6,
                label=f"d={d_}: slope {np.mean(f_['slope']):.3f} ({len(f_['slope'])}-seed mean)")
    plotting.loglog(a0, r"$C / (m_{\min} T_1)$", r"$L^*+R_P$", "compute frontier at three d")
    a0.legend(fontsize=7)
    a1 = ax[0, 1]
    for i, (k_, r_) in enumerate(tp.items()):
        dd = np.unique(r_["d"])
        a1.plot(r_["d"], r_["t_first"], "o", ms=3, alpha=0.6, color=plotting.color(i))
        f_ = tp_fit[k_]
        a1.plot(dd, f_(dd), "-", color=plotting.color(i),
                label=f"$k^*={k_}$: slope {f_.slope:.2f} ± {f_.slope_se:.2f} (theory {k_ / 2 - 1:g})")
    plotting.loglog(a1, "d", "first emergence (steps)", r"$T_p$ against $d$, fixed $\eta$")
    a1.legend(fontsize=7)
    a2 = ax[0, 2]
    R = em.tail_loss(P_alt, beta)
    for i, (k_, sw) in enumerate(ks_runs.items()):
        r = sw["runs"][0]
        a2.plot(r.t[1:] / r.T_pred[0], r.loss[1:] + R, color=plotting.color(i), lw=1.4,
                label=f"$k^*={k_}$")
    tw = np.logspace(np.log10(2), np.log10(40), 10)
    a2.plot(tw, 0.5 * tw ** (-(2 * beta - 1) / beta), "k--", lw=1,
            label=f"slope {-(2 * beta - 1) / beta:.2f}")
    plotting.loglog(a2, r"steps / $T_1$", r"$L+R_P$", "same exponent for $k^*=4$ and 6")
    a2.legend(fontsize=7)
    return fig


def plot_low_beta(low: dict, toy: dict, *, beta: float):
    """The ``beta < 1/2`` regime: network losses (``low``: :func:`low_beta_runs`) against steps
    over each run's largest predicted greedy time ``T_P``, with the toy sum and the continuum
    form (``toy``: :func:`low_beta_toy`)."""
    fig, ax = plotting.figure(ncols=1, width=5.0)
    a0 = ax[0, 0]
    for g, r in enumerate(low["runs"]):
        a0.plot(r.t[1:] / np.max(r.T_pred), r.loss[1:], color=plotting.color(g), lw=1.3,
                label=f"population GD, init {g}")
    a0.plot(toy["t"], toy["L"], "k:", lw=1.5, label=r"toy sum, $T_p=T_1p^\beta$")
    a0.plot(toy["t"], toy["formula"], "k--", lw=1,
            label=r"$1-(t/T_P)^{(1-2\beta)/\beta}$")
    a0.set_xscale("log"); a0.set_xlim(1e-2, 1.5); a0.set_ylim(0, 1.05)
    a0.set_xlabel(r"steps / $T_P$"); a0.set_ylabel(r"$L=\mathbb{E}(f-f^*)^2$")
    a0.set_title(rf"$\beta={beta}$: the loss stays O(1) until $t\sim T_P$")
    a0.legend(fontsize=7)
    return fig
