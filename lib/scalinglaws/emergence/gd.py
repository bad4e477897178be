"""Population gradient descent of the emergence model in the reduced exact representation
(full-``d`` GD only through the ``m x P`` overlaps and an ``m x m`` orthogonal block)."""

from __future__ import annotations

import numpy as np

from scalinglaws.errors import DivergenceError, check_bool, check_int, check_real, require
from scalinglaws.progress import progress

from scalinglaws.emergence.model import _check_gd_args, _check_k, _check_run_args, _check_seeds, _check_teacher, _check_weights, _divergence_limit, _forces, _ipow, _log_grid, _run_curve, population_loss_from_overlaps, spherical_init
from scalinglaws.result import Curve
from scalinglaws.emergence.transitions import greedy_pairing, transition_time

__all__ = ['population_gd', 'greedy_floor', 'emergence_times', 'due_ratios']

def population_gd(m: int, d: int, a: np.ndarray, k: int = 4, eta: float = 0.1, steps: int = 1000,
                  sigma0: float = 1e-3, seed: int | None = None, n_record: int = 200,
                  level: float = 0.5, reduced: bool = True, V0: np.ndarray | None = None,
                  show_progress: bool = True, *, seeds=None,
                  dtype: str = "float64") -> Curve | list[Curve]:
    """Population gradient descent ``V <- V - eta grad(L/2)`` on the closed-form loss.

    Parameters
    ----------
    m, d : width and input dimension.  a : teacher coefficients (``P = len(a) <= d``).
    k : Hermite degree of the activation (information exponent).  eta : step size.
    steps : number of GD steps.  sigma0 : initial norm of each neuron.  seed : RNG seed of the
    initialisation (default 0).  seeds : several seeds instead of ``seed`` (see below).
    n_record : number of log-spaced checkpoints.  level : squared-cosine level that defines
    "emerged" (default 1/2).  reduced : use the exact ``O(m^2(P+m))`` representation (module
    docstring) instead of the full ``m x d`` weights.  V0 : explicit initial weights.
    dtype : ``"float64"`` (default) or ``"float32"``, the arithmetic of the stacked runs
    (``seeds`` only; the initialisation, greedy pairing and predicted times stay in float64).
    float32 halves the cost of the BLAS-bound wide networks; its accuracy is measured against
    float64 in the tests (emergence times and losses agree to about 1e-4 relative).

    Returns
    -------
    One :class:`~scalinglaws.result.Curve` (``seed``), or a list of them, one per entry of
    ``seeds``: ``t`` the recorded steps (``t_unit="steps"``; ``curve.to(t_unit="time")`` gives GF
    time ``eta * steps``), ``loss`` the population MSE without 1/2 (``loss_factor=1``), ``meta``
    with ``family="emergence"``, ``method="population-gd"``, ``eta``, ``level``, ``m``, ``d``,
    ``P``, ``k``, ``sigma0``, ``seed``, ``steps``, ``n_record``, ``reduced``, and the extras of the
    package docstring of :mod:`scalinglaws.emergence` (``pair_overlap``, ``norms``, ``students``,
    ``teachers``, ``u0``, ``T_pred``, ``t_emerge``, ``t_emerge_dir``, ``final_best_teacher``,
    ``final_best_overlap``).

    With ``seeds=[...]`` the ``S = len(seeds)`` networks (reduced representation only, no ``V0``)
    are stacked and advanced with batched matrix products, which removes the per-step Python
    overhead that dominates narrow networks.  Each network is initialised exactly as
    ``population_gd(..., seed=seeds[i])`` (same weights, same greedy pairing); the trajectories
    agree with the single runs to round-off (tests).

    Emergence times of the greedy pairs are detected at every step (linear interpolation of the
    crossing of ``level``), not only at the checkpoints.

    Every input is checked before any work: ``a`` finite and positive (it need not be normalised;
    the divergence test is relative to ``max(1, sum a_p^2)``), ``V0`` finite of shape ``(m, d)``
    with nonzero rows, ``k`` even.
    """
    if seeds is not None:
        require(seed is None, "seed", seed, "left out when seeds is given (one run per seed)")
        check_bool("reduced", reduced)
        require(reduced, "reduced", reduced, "True when seeds is given (the stacked runs use the "
                "reduced representation)")
        require(V0 is None, "V0", f"shape {np.shape(V0)}", "None when seeds is given (each seed "
                "draws its own initialisation)")
        return _population_gd_seeds(m, d, a, seeds, k=k, eta=eta, steps=steps, sigma0=sigma0,
                                    n_record=n_record, level=level, show_progress=show_progress,
                                    dtype=dtype)
    require(dtype == "float64", "dtype", dtype, "'float64' for a single seed (float32 runs go "
            "through seeds=[...])")
    seed = 0 if seed is None else seed
    a = _check_gd_args(m, d, a, k, eta, steps, level)
    _check_run_args(seed, sigma0, n_record, show_progress, reduced)
    P = len(a)
    if V0 is None:
        V0 = spherical_init(m, d, sigma0, np.random.default_rng(seed))
    V0 = np.array(_check_weights(V0, "V0", shape=(m, d)), dtype=float)
    L_max = _divergence_limit(a)
    st, te, u0 = greedy_pairing(V0, a, k)
    T_pred = transition_time(a[te], u0, k, eta) if k >= 4 else np.full(len(st), np.nan)
    C = V0[:, :P].copy()
    if reduced:
        Vp = V0[:, P:]
        if d - P > m:
            Q, R = np.linalg.qr(Vp.T)       # Vp = R^T Q^T
            B = R.T.copy()
        else:
            B = Vp.copy()
    else:
        B = V0[:, P:].copy()
    rec = _log_grid(steps, n_record)
    nrec = len(rec)
    out_t = np.zeros(nrec, dtype=np.int64)
    out_L = np.zeros(nrec)
    out_po = np.zeros((nrec, len(st)))
    out_n = np.zeros((nrec, m))
    t_emerge = np.full(len(st), np.nan)
    t_emerge_dir = np.full(len(st), np.nan)
    prev_po = prev_pd = None
    ir = 0
    for t in progress(range(steps + 1), total=steps + 1, desc=f"GD m={m}",
                      disable=None if show_progress else True):
        G = C @ C.T + B @ B.T
        n = np.diag(G).copy()
        po = C[st, te] ** 2 / n[st]
        if prev_po is not None:
            new = np.isnan(t_emerge) & (po >= level)
            if new.any():
                f = (level - prev_po[new]) / (po[new] - prev_po[new])
                t_emerge[new] = t - 1 + f
        prev_po = po
        pd = np.max(C[:, te] ** 2 / n[:, None], axis=0)
        if prev_pd is not None:
            new = np.isnan(t_emerge_dir) & (pd >= level)
            if new.any():
                f = (level - prev_pd[new]) / (pd[new] - prev_pd[new])
                t_emerge_dir[new] = t - 1 + f
        prev_pd = pd
        if ir < nrec and t == rec[ir]:
            L = population_loss_from_overlaps(C, G, a, k)
            if not np.isfinite(L) or L > L_max:
                raise DivergenceError(f"population GD diverged at step {t} (loss {L!r}); "
                                      f"eta={eta} is probably above the stability bound ~1/(8 a_1)")
            out_t[ir], out_L[ir], out_po[ir], out_n[ir] = t, L, po, n
            ir += 1
        if t == steps:
            break
        D, gamma, H = _forces(C, G, a, k)
        kH = k * H
        C = C - eta * (gamma[:, None] * C + kH @ C - k * D)
        B = B - eta * (gamma[:, None] * B + kH @ B)
    ov = C ** 2 / n[:, None]
    return _run_curve(out_t, out_L, out_po, out_n, st, te, u0, T_pred, t_emerge, t_emerge_dir, ov,
                      method="population-gd", eta=eta, level=level, m=m, d=d, P=P, k=k,
                      sigma0=sigma0, seed=seed, steps=steps, n_record=n_record, reduced=reduced)


def _population_gd_seeds(m: int, d: int, a: np.ndarray, seeds, k: int = 4, eta: float = 0.1,
                         steps: int = 1000, sigma0: float = 1e-3, n_record: int = 200,
                         level: float = 0.5, show_progress: bool = True,
                         dtype: str = "float64") -> list[Curve]:
    """:func:`population_gd` with ``seeds``: the reduced runs of several initialisations, stacked
    (one Curve per seed), in the arithmetic ``dtype``."""
    require(dtype in ("float64", "float32"), "dtype", dtype, "'float64' or 'float32'")
    a = _check_gd_args(m, d, a, k, eta, steps, level)
    _check_run_args(0, sigma0, n_record, show_progress)
    seeds = _check_seeds(seeds)
    L_max = _divergence_limit(a)
    P = len(a)
    S = len(seeds)
    V0 = np.stack([spherical_init(m, d, sigma0, np.random.default_rng(s)) for s in seeds])
    pairs = [greedy_pairing(V0[g], a, k) for g in range(S)]
    st = np.array([p_[0] for p_ in pairs])
    te = np.array([p_[1] for p_ in pairs])
    u0 = np.array([p_[2] for p_ in pairs])
    T_pred = transition_time(a[te], u0, k, eta) if k >= 4 else np.full(st.shape, np.nan)
    # W = [C | B]: teacher overlaps and the compressed orthogonal block side by side, so that the
    # Gram matrix is one symmetric product and the update one matrix product
    if d - P > m:
        B = np.stack([np.linalg.qr(V0[g][:, P:].T)[1].T for g in range(S)])
    else:
        B = V0[:, :, P:]
    W = np.ascontiguousarray(np.concatenate([V0[:, :, :P], B], axis=2), dtype=dtype)
    del V0, B
    a_w = a.astype(dtype)
    C = W[:, :, :P]
    # wide networks: per-seed 2-d products (numpy uses the symmetric rank-k BLAS kernel for
    # W @ W.T); narrow ones: one batched product (less Python overhead)
    per_seed = m >= 48
    gi = np.arange(S)[:, None]
    q = k // 2 - 1
    rec = _log_grid(steps, n_record)
    nrec = len(rec)
    npairs = st.shape[1]
    out_L = np.zeros((S, nrec))
    out_po = np.zeros((S, nrec, npairs))
    out_n = np.zeros((S, nrec, m))
    t_em = np.full((S, npairs), np.nan)
    t_emd = np.full((S, npairs), np.nan)
    prev_po = prev_pd = None
    ir = 0
    Ct = np.swapaxes
    for t in progress(range(steps + 1), total=steps + 1, desc=f"GD m={m} x{S}",
                      disable=None if show_progress else True):
        G = np.stack([W[g] @ W[g].T for g in range(S)]) if per_seed else W @ Ct(W, 1, 2)
        n = np.diagonal(G, axis1=1, axis2=2).copy()
        po = C[gi, st, te] ** 2 / n[gi, st]
        pd = np.stack([np.max(np.take(C[g], te[g], axis=1) ** 2 / n[g][:, None], axis=0)
                       for g in range(S)])
        for cur, prev, tem in ((po, prev_po, t_em), (pd, prev_pd, t_emd)):
            if prev is not None:
                new = np.isnan(tem) & (cur >= level)
                if new.any():
                    tem[new] = t - 1 + (level - prev[new]) / (cur[new] - prev[new])
        prev_po, prev_pd = po, pd
        Ckm1 = _ipow(C, k - 1)
        w = n ** (-q) if q else np.ones_like(n)
        if ir < nrec and t == rec[ir]:
            Gk = _ipow(G, k)
            L = (np.sum(a * a) - 2.0 * np.einsum("gjp,p,gj->g", Ckm1 * C, a_w, w).astype(float)
                 + np.einsum("gj,gjl,gl->g", w, Gk, w).astype(float))
            if not np.all(np.isfinite(L)) or np.max(L) > L_max:
                raise DivergenceError(f"population GD diverged at step {t} (loss {L!r}); "
                                      f"eta={eta} is probably above the stability bound ~1/(8 a_1)")
            out_L[:, ir], out_po[:, ir], out_n[:, ir] = L, po, n
            ir += 1
        if t == steps:
            break
        Gkm1 = _ipow(G, k - 1)
        kH = k * Gkm1 * (w[:, :, None] * w[:, None, :])
        if q:
            cross = np.einsum("gjp,p->gj", Ckm1 * C, a_w)
            self_ = np.einsum("gjl,gl->gj", Gkm1 * G, w)
            gamma = 2.0 * q * w / n * (cross - self_)
        else:
            gamma = np.zeros_like(n)
        W = W - eta * (gamma[:, :, None] * W + kH @ W)
        C = W[:, :, :P]
        C += (eta * k) * (Ckm1 * a_w) * w[:, :, None]
    ov = C ** 2 / n[:, :, None]
    out_t = rec.astype(np.int64)
    return [_run_curve(out_t.copy(), out_L[g], out_po[g], out_n[g], st[g], te[g], u0[g], T_pred[g],
                       t_em[g], t_emd[g], ov[g], method="population-gd", eta=eta, level=level,
                       m=m, d=d, P=P, k=k, sigma0=sigma0, seed=seeds[g], steps=steps,
                       n_record=n_record, reduced=True)
            for g in range(S)]


def greedy_floor(m: int, d: int, a: np.ndarray, seeds, k: int = 4, sigma0: float = 1e-3):
    """Loss left by the directions that the greedy pairing at initialisation leaves unpaired,
    ``sum_{p not in pi} a_p^2``, for each seed (the width floor that Thm 2.1 predicts once every
    paired direction is learned; no training).  Uses the same initialisation as
    :func:`population_gd` with ``seed``.  Also returns the first greedy time ``T_1`` per seed in
    units of ``1/eta`` (GF time), the width-dependent clock."""
    check_int("m", m, 1)
    check_int("d", d, 2)
    a = _check_teacher(a, d)
    _check_k(k)
    require(k >= 4, "k", k, "an even integer >= 4 (the transition times need k > 2)")
    check_real("sigma0", sigma0)
    seeds = _check_seeds(seeds)
    floors, T1 = [], []
    for s in seeds:
        V0 = spherical_init(m, d, sigma0, np.random.default_rng(int(s)))
        _, te, u0 = greedy_pairing(V0, a, k)
        floors.append(float(np.sum(np.delete(a, te) ** 2)))
        T1.append(float(transition_time(a[te[0]], u0[0], k, 1.0)))
    return np.array(floors), np.array(T1)


def emergence_times(res: Curve, by: str = "pair"):
    """Observed/predicted emergence-time ratios of the pairs that emerged within the run.

    ``by="pair"``: the greedy partner neuron reaches ``cos^2 >= level``; ``by="direction"``: *some*
    neuron reaches it with the pair's teacher direction."""
    require(by in ("pair", "direction"), "by", by, "'pair' or 'direction'")
    te_ = res.t_emerge if by == "pair" else res.t_emerge_dir
    ok = np.isfinite(te_)
    return te_[ok] / res.T_pred[ok], ok


def due_ratios(res: Curve, t_end: float, by: str = "pair", margin: float = 1.3) -> np.ndarray:
    """Observed/predicted emergence ratios of every pair predicted before ``t_end / margin``;
    pairs that did not emerge count as ``inf`` (late), so the median is not biased towards early
    emergers."""
    te_ = res.t_emerge if by == "pair" else res.t_emerge_dir
    due = res.T_pred <= t_end / margin
    return np.where(np.isfinite(te_), te_ / res.T_pred, np.inf)[due]
