r"""Closed-form theory of online SGD for the *linear* student--teacher pair on structured data.

Model (conventions of :mod:`scalinglaws.conventions`, preset ``"worschech-rosenow"``): with
g(x) = x, the K-unit student and M-unit teacher are linear models with effective vectors

.. math:: w = c_s\sum_i J_i,\qquad w^* = c_t\sum_n B_n,\qquad D = w - w^*,

and one SGD step :math:`J_i \leftarrow J_i + (\eta/\sqrt N) c_s (y-\hat y)\xi` moves
:math:`w \leftarrow w + \eta_{\rm eff}\,(y-\hat y)\,\xi/\sqrt N` with
:math:`\eta_{\rm eff} = \eta K c_s^2` (= η for the :math:`1/\sqrt K` preset, any K; see
:func:`effective_eta`).  Inputs :math:`\xi\sim\mathcal N(0,\Sigma)`, Σ diagonal with L distinct
eigenvalues :math:`\lambda_l` carried by fractions :math:`f_l` of the coordinates
(:class:`~scalinglaws.spectra.Spectrum`).  Labels may carry output noise of standard deviation σ.

Per-group errors :math:`E_l = |P_l D|^2/(f_l N)` (mean of :math:`D_k^2` over group l) give
:math:`\varepsilon_g = \tfrac12\sum_l f_l\lambda_l E_l` and, averaging the step over a fresh
Gaussian input (Worschech & Rosenow 2024, Sec. 3, in our reconstruction: see the book's sources
appendix, chapters/sources_worschech_rosenow.md; Bordelon & Pehlevan 2022),

.. math::

   \frac{dE_l}{d\alpha} = -2\eta\lambda_l E_l + \eta^2\lambda_l\,(2\varepsilon_g + \sigma^2),
   \qquad\text{i.e.}\qquad \frac{dE}{d\alpha} = A E + \eta^2\sigma^2\lambda,\quad
   A = -2\eta\,\mathrm{diag}(\lambda) + \eta^2 \lambda (f\odot\lambda)^T ,
   \qquad (1)

with time α = steps/N (the :math:`N\to\infty` limit at fixed spectrum).  For equal fractions
:math:`f_l = 1/L` this is :math:`A = -2\eta\,\mathrm{diag}(\lambda) + (\eta^2/L)\lambda\lambda^T`.
With :math:`S = \mathrm{diag}(\sqrt f)`, :math:`A_s = S A S^{-1} = -2\eta\,\mathrm{diag}(\lambda) +
\eta^2 u u^T`, :math:`u = \sqrt f\odot\lambda`, is symmetric: the exact solution

.. math:: \varepsilon_g(\alpha) = \tfrac12 u^T e^{A_s\alpha} S E(0)\quad(\sigma = 0) \qquad (2)

needs one eigendecomposition (:func:`eps_g`, ``method="eig"``) or, for very large L, the
Sherman--Morrison form of its Laplace transform,
:math:`\hat\varepsilon(s) = \tfrac12 u^T R (y_0 + b/s)/(1 - \eta^2 u^T R u)`,
:math:`R = (s + 2\eta\,\mathrm{diag}\lambda)^{-1}`, inverted on a fixed-Talbot contour
(``method="laplace"``, O(L) per time).

The **exact finite-N** mean of Gaussian-input SGD obeys the per-step recursion (fourth Gaussian
moment; the mode-wise online-SGD recursion of Bordelon & Pehlevan 2022 with batch 1)

.. math:: E_l \leftarrow (1 - 2\eta'\lambda_l + 2\eta'^2\lambda_l^2) E_l
          + \eta'^2 N\lambda_l (2\varepsilon_g + \sigma^2),\qquad \eta' = \eta/N, \qquad (3)

which differs from (1) by the :math:`2\eta'^2\lambda_l^2` term -- an :math:`O(\eta\lambda_l/N)`
relative correction of the rates that is *not* small when :math:`\lambda_1 \sim N`
(e.g. L = N with the mean-one normalisation) -- see :func:`eps_g` with ``N=``.

Training only a subset of the eigen-groups (``trained`` mask; the paper's Sec. 4.3 "N_l trainable
parameters") freezes :math:`E_F`; its error :math:`\varepsilon_F = \tfrac12\sum_F f\lambda E`
acts as output noise :math:`\sigma^2_{\rm eff} = \sigma^2 + 2\varepsilon_F` on the trained groups,
with the exact asymptote (:func:`trainable_asymptote`)

.. math:: \varepsilon_g(\infty) = \varepsilon_F\,\big/\,\big[1 - \tfrac{\eta}{2}\sum_{l\in T} f_l\lambda_l\big]
          \quad(\sigma = 0).

Stability: (1) has a growing mode iff :math:`\eta > \eta_c = 2/[(1/N)\mathrm{tr}\Sigma]`
(matrix-determinant lemma; :func:`stability_threshold`, :func:`growth_rate`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special

from scalinglaws.errors import DivergenceError, require
from scalinglaws.numerics.talbot import talbot_contour
from scalinglaws.spectra import Spectrum

__all__ = ["theory", "effective_eta", "drift_matrix", "stability_threshold", "growth_rate",
           "initial_errors", "group_errors", "eps_g", "small_eta", "incomplete_gamma",
           "power_law_window", "trainable_asymptote", "frozen_floor", "simulate_eigenbasis",
           "seed_initial_errors", "agreement", "agrees", "shifted_exponent", "power_law_continuation",
           "data_eigenbasis", "finite_N_radius", "finite_N_threshold", "fitted_time_exponent",
           "gamma_form_error", "two_term_amplitudes"]

_EIG_MAX_L = 3000


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
def _check_spectrum(spectrum) -> Spectrum:
    require(isinstance(spectrum, Spectrum), "spectrum", type(spectrum).__name__,
            "a scalinglaws.spectra.Spectrum")
    return spectrum


def _check_eta(eta) -> float:
    require(isinstance(eta, (int, float, np.floating, np.integer)) and np.isfinite(eta) and eta > 0,
            "eta", eta, "a finite number > 0")
    return float(eta)


def _check_times(times) -> np.ndarray:
    t = np.atleast_1d(np.asarray(times, dtype=float))
    require(t.ndim == 1 and t.size >= 1, "times", f"shape {t.shape}", "a non-empty 1-d array")
    require(bool(np.all(np.isfinite(t)) and np.all(t >= 0)), "times", "negative or NaN entries",
            "finite values >= 0")
    return t


def _mask(spectrum: Spectrum, trained) -> np.ndarray:
    if trained is None:
        return np.ones(spectrum.L, dtype=bool)
    if isinstance(trained, (int, np.integer)) and not isinstance(trained, bool):
        require(1 <= trained <= spectrum.L, "trained", trained,
                f"an integer number of leading groups in [1, L={spectrum.L}]")
        m = np.zeros(spectrum.L, dtype=bool)
        m[:int(trained)] = True
        return m
    m = np.asarray(trained, dtype=bool)
    require(m.shape == (spectrum.L,) and m.any(), "trained", f"shape {m.shape}",
            f"a boolean mask of shape ({spectrum.L},) with at least one True, or an int")
    return m


def effective_eta(setup) -> float:
    r"""Learning rate of the effective vector :math:`w = c_s\sum_i J_i`: :math:`\eta K c_s^2`.

    For the Worschech--Rosenow preset (:math:`c_s = 1/\sqrt K`) this is η for every K.
    Requires a linear activation (the reduction to one vector holds only for g(x) = x).
    """
    require(setup.activation.name == "linear", "setup.activation", setup.activation.name,
            "'linear' (the one-vector reduction needs g(x) = x)")
    return float(setup.eta * setup.K * setup.c_s ** 2)


def theory(setup, times, E0=None, *, sigma_J: float = 0.0, N: int | None = None, **kw):
    r"""The closed form :func:`eps_g` as a committee :class:`~scalinglaws.result.Curve` for a linear
    ``setup`` (K = M = 1 or any K with ``activation="linear"``): ε_g (with the ½) against α, the
    setup's spectrum, effective rate (:func:`effective_eta`) and output noise.  ``kw`` go to
    :func:`eps_g` (``trained``, ``method``, ...).

    >>> from scalinglaws.committee import Setup
    >>> from scalinglaws import Spectrum
    >>> s = Setup(K=1, M=1, eta=0.5, activation="linear", spectrum=Spectrum.power_law(64, 1.0))
    >>> c = theory(s, [0.0, 10.0, 100.0], sigma_J=0.0)
    >>> c.t_unit, c.loss_factor, round(float(c.loss[0]), 6)
    ('alpha', 0.5, 0.5)
    """
    from scalinglaws.result import Curve
    times = _check_times(times)
    eta = effective_eta(setup)
    loss = eps_g(setup.spectrum, eta, times, E0, sigma_J=sigma_J, sigma=setup.sigma, N=N, **kw)
    meta = dict(setup.describe(), family="committee", model="linear closed form",
                time_per_alpha=setup.eta, sigma_J=sigma_J)
    if N is not None:
        meta["N"] = N
    return Curve(t=times, loss=np.asarray(loss, dtype=float), t_unit="alpha", loss_factor=0.5, meta=meta)


def drift_matrix(spectrum: Spectrum, eta: float) -> np.ndarray:
    r"""A of Eq. (1): :math:`-2\eta\,\mathrm{diag}(\lambda) + \eta^2\lambda(f\odot\lambda)^T` (L x L)."""
    _check_spectrum(spectrum)
    eta = _check_eta(eta)
    lam, f = spectrum.eigenvalues, spectrum.fractions
    return -2 * eta * np.diag(lam) + eta ** 2 * np.outer(lam, f * lam)


def stability_threshold(spectrum: Spectrum) -> float:
    r""":math:`\eta_c = 2/[(1/N)\mathrm{tr}\Sigma] = 2/\sum_l f_l\lambda_l` (N → ∞ dynamics (1)).

    Derivation: :math:`\det A = \det(-2\eta\Lambda)\,[1 - (\eta/2)\sum_l f_l\lambda_l]` (matrix
    determinant lemma), so an eigenvalue of A crosses zero at :math:`\eta_c`.
    """
    return 2.0 / _check_spectrum(spectrum).moment(1)


def growth_rate(spectrum: Spectrum, eta: float) -> float:
    r"""Largest eigenvalue μ of A (Eq. 1): the error grows as :math:`e^{\mu\alpha}` iff μ > 0.

    Solved from the secular equation :math:`1 = \eta^2\sum_l u_l^2/(\mu + 2\eta\lambda_l)` on
    :math:`\mu > -2\eta\lambda_{\min}` (O(L), any L).
    """
    _check_spectrum(spectrum)
    return _restricted_growth(spectrum, _check_eta(eta), np.ones(spectrum.L, dtype=bool))


def finite_N_radius(spectrum: Spectrum, eta: float, N: int) -> float:
    r"""Spectral radius of the one-step map of the exact finite-N recursion (3) (σ = 0).

    With :math:`\eta' = \eta/N` and :math:`u = \sqrt f\odot\lambda`, the symmetrised map is
    :math:`B = \mathrm{diag}(1 - 2\eta'\lambda + 2\eta'^2\lambda^2) + \eta'^2 N\,u u^T`; the mean
    error of Gaussian-input SGD at dimension N decays iff its spectral radius is below 1.
    """
    _check_spectrum(spectrum)
    eta = _check_eta(eta)
    require(isinstance(N, (int, np.integer)) and not isinstance(N, bool) and N >= 1, "N", N,
            "an integer >= 1")
    lam, f = spectrum.eigenvalues, spectrum.fractions
    ep = eta / N
    Bm = (np.diag(1 - 2 * ep * lam + 2 * ep ** 2 * lam ** 2)
          + ep ** 2 * N * np.outer(np.sqrt(f) * lam, np.sqrt(f) * lam))
    return float(np.max(np.abs(np.linalg.eigvalsh(Bm))))


def finite_N_threshold(spectrum: Spectrum, N: int, bracket: tuple[float, float] = (0.5, 1.5)) -> float:
    r"""Stability threshold of online SGD at finite N: the η at which :func:`finite_N_radius`
    reaches 1, searched in ``bracket`` × :math:`\eta_c` (:func:`stability_threshold`, the
    N → ∞ threshold).

    Close to :math:`\eta_c` when :math:`\eta\lambda_1/N \ll 1`; below it when
    :math:`\lambda_1 \sim N` (the :math:`2\eta'^2\lambda^2` term of (3)).  Raises ValueError when
    the radius does not cross 1 inside the bracket.
    """
    eta_c = stability_threshold(spectrum)
    lo, hi = (float(x) for x in bracket)
    require(0 < lo < hi, "bracket", bracket, "(lo, hi) with 0 < lo < hi")
    return float(optimize.brentq(lambda e: finite_N_radius(spectrum, e, N) - 1, lo * eta_c, hi * eta_c))


def initial_errors(spectrum: Spectrum, sigma_J: float = 0.0, teacher_var: float = 1.0) -> np.ndarray:
    r"""Expected per-group errors at initialisation, :math:`E_l(0) = \sigma_J^2 + 1`.

    Student entries :math:`J_{ik}\sim\mathcal N(0,\sigma_J^2)`, teacher :math:`B_{nk}\sim\mathcal
    N(0, 1)`: with :math:`1/\sqrt K`, :math:`1/\sqrt M` outputs, :math:`w_k` has variance
    :math:`\sigma_J^2` and :math:`w^*_k` variance 1 for any K, M.
    """
    _check_spectrum(spectrum)
    require(np.isfinite(sigma_J) and sigma_J >= 0, "sigma_J", sigma_J, ">= 0")
    return np.full(spectrum.L, sigma_J ** 2 + teacher_var)


def group_errors(overlaps, setup) -> np.ndarray:
    r"""Per-group errors :math:`E_l` of the effective vector from group overlaps.

    :math:`E_l = f_l^{-1}[c_s^2\sum_{ik}Q^{[l]}_{ik} - 2c_sc_t\sum_{in}R^{[l]}_{in}
    + c_t^2\sum_{nm}T^{[l]}_{nm}]` (``overlaps`` a :class:`~scalinglaws.committee.setup.Overlaps`).
    """
    f = setup.spectrum.fractions
    cs, ct = setup.c_s, setup.c_t
    e = (cs ** 2 * overlaps.Q.sum(axis=(1, 2)) - 2 * cs * ct * overlaps.R.sum(axis=(1, 2))
         + ct ** 2 * overlaps.T.sum(axis=(1, 2)))
    return e / f


def _prepare_E0(spectrum, E0, sigma_J):
    if E0 is None:
        return initial_errors(spectrum, sigma_J)
    E0 = np.asarray(E0, dtype=float)
    require(E0.ndim in (1, 2) and E0.shape[-1] == spectrum.L, "E0", f"shape {E0.shape}",
            f"(L,) or (S, L) with L = {spectrum.L}")
    require(bool(np.all(np.isfinite(E0)) and np.all(E0 >= 0)), "E0", "negative or NaN entries",
            "finite values >= 0")
    return E0


# ----------------------------------------------------------------------------------------------
# the exact solution
# ----------------------------------------------------------------------------------------------
def eps_g(spectrum: Spectrum, eta: float, times, E0=None, *, sigma_J: float = 0.0,
          sigma: float = 0.0, trained=None, N: int | None = None, method: str = "auto",
          allow_divergence: bool = False, talbot_n: int = 32, return_groups: bool = False):
    r"""Exact generalisation error of linear online SGD, Eq. (2) (or the finite-N Eq. (3)).

    Parameters
    ----------
    spectrum : Spectrum
        Distinct eigenvalues :math:`\lambda_l` and group fractions :math:`f_l`.
    eta : float
        Learning rate of the effective vector (:func:`effective_eta`).
    times : array
        Times α = steps/N (>= 0).
    E0 : array (L,) or (S, L), optional
        Initial per-group errors (e.g. :func:`group_errors` of each seed's initial weights; the
        solution is linear in E0, so the mean over seeds of the per-seed solutions is the solution
        from the mean E0).  Default :func:`initial_errors` with ``sigma_J``.
    sigma : float
        Output-noise standard deviation (adds :math:`\eta^2\sigma^2\lambda` to Eq. 1).
    trained : int or bool mask (L,), optional
        Train only these groups (an int n: the n leading groups); the others keep :math:`E_l(0)`.
    N : int, optional
        Input dimension: use the exact finite-N mean recursion (3), evaluated at steps
        ``rint(alpha N)``, instead of the N → ∞ ODE (1).
    method : {"auto", "eig", "laplace"}
        ``"eig"``: one eigendecomposition of the symmetrised matrix (L ≲ 3000).
        ``"laplace"``: Sherman--Morrison Laplace transform + fixed-Talbot inversion, O(L) memory,
        full trained set, N = None, stable η only.  ``"auto"``: eig for L <= 3000.
    allow_divergence : bool
        If False (default) and :math:`\eta` is above the stability threshold, raise
        :class:`~scalinglaws.errors.DivergenceError`; if True, return the growing solution.
    return_groups : bool
        Also return the per-group errors E (n_t, L) or (S, n_t, L) (``method="eig"`` only).

    Returns
    -------
    eps : array (n_t,) or (S, n_t)
    """
    _check_spectrum(spectrum)
    eta = _check_eta(eta)
    t = _check_times(times)
    E0 = _prepare_E0(spectrum, E0, sigma_J)
    require(np.isfinite(sigma) and sigma >= 0, "sigma", sigma, ">= 0")
    require(method in ("auto", "eig", "laplace"), "method", method, "'auto', 'eig' or 'laplace'")
    if N is not None:
        require(isinstance(N, (int, np.integer)) and not isinstance(N, bool) and N >= 1, "N", N,
                "an integer >= 1 (or None for the N -> infinity theory)")
    mask = _mask(spectrum, trained)
    if method == "auto":
        method = "eig" if spectrum.L <= _EIG_MAX_L or N is not None or not mask.all() else "laplace"
    if method == "laplace":
        require(N is None and bool(mask.all()) and not return_groups, "method", method,
                "'laplace' supports only the N -> infinity theory with all groups trained")
    # stability (of the trained block): growth rate of the restricted dynamics
    mu = _restricted_growth(spectrum, eta, mask)
    if mu >= 0 and not allow_divergence:
        raise DivergenceError(
            f"eta={eta:g} is at or above the stability threshold of linear online SGD, eta_c = "
            f"2/((1/N) tr Sigma) = {stability_threshold(spectrum):.6g}"
            + ("" if mask.all() else " (restricted to the trained groups)")
            + f": the error grows as exp({mu:.4g} alpha). Reduce eta.")
    if method == "laplace":
        if mu >= 0:
            raise DivergenceError(f"eta={eta:g} >= eta_c: the Laplace method needs a stable system")
        return _eps_laplace(spectrum, eta, t, E0, sigma, talbot_n)
    return _eps_eig(spectrum, eta, t, E0, sigma, mask, N, return_groups)


def _restricted_growth(spectrum, eta, mask) -> float:
    lam, f = spectrum.eigenvalues[mask], spectrum.fractions[mask]
    u2 = f * lam ** 2
    d = -2 * eta * lam
    dmax = d.max()

    def h(mu):
        return eta ** 2 * np.sum(u2 / (mu - d)) - 1.0

    lo = dmax + 1e-13 * max(abs(dmax), 1e-300)
    if h(lo) <= 0:
        return float(dmax)
    hi = dmax + eta ** 2 * u2.sum() + 1.0
    return float(optimize.brentq(h, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps))


def _eps_eig(spectrum, eta, t, E0, sigma, mask, N, return_groups):
    lam_all, f_all = spectrum.eigenvalues, spectrum.fractions
    lam, f = lam_all[mask], f_all[mask]
    sq = np.sqrt(f)
    u = sq * lam
    single = E0.ndim == 1
    E0 = np.atleast_2d(E0)                                          # (S, L)
    E0T, E0F = E0[:, mask], E0[:, ~mask]
    epsF = 0.5 * (E0F * (f_all[~mask] * lam_all[~mask])).sum(axis=1)  # (S,)
    s2 = sigma ** 2 + 2 * epsF                                     # effective output noise
    if N is None:
        M = -2 * eta * np.diag(lam) + eta ** 2 * np.outer(u, u)
        b = eta ** 2 * (sq * lam)[None, :] * s2[:, None]            # (S, nT), symmetrised forcing
        x = t
    else:
        ep = eta / N
        M = np.diag(1 - 2 * ep * lam + 2 * ep ** 2 * lam ** 2) + ep ** 2 * N * np.outer(u, u)
        b = ep ** 2 * N * (sq * lam)[None, :] * s2[:, None]
        x = np.rint(t * N)
    mu, V = np.linalg.eigh(M)
    y0 = E0T * sq[None, :]
    c0 = y0 @ V                                                     # (S, nT)
    bt = b @ V
    if N is None:
        # y(t) = V[e^{mu t}(c0 + bt/mu) - bt/mu]
        with np.errstate(divide="ignore", invalid="ignore"):
            ystar = np.where(mu != 0, -bt / mu, 0.0)
        ex = np.exp(np.outer(t, mu))                                # (n_t, nT)
        lin = np.where(mu == 0, t[:, None] * np.ones_like(mu), 0.0)
        C = ex[None] * (c0 - ystar)[:, None, :] + ystar[:, None, :] + lin[None] * bt[:, None, :]
    else:
        # y_n = V[nu^n (c0 - ystar) + ystar], ystar = bt/(1 - nu)
        with np.errstate(divide="ignore", invalid="ignore"):
            ystar = np.where(mu != 1, bt / (1 - mu), 0.0)
        with np.errstate(over="ignore"):
            pw = np.sign(mu)[None, :] ** x[:, None] * np.exp(np.outer(x, np.log(np.abs(mu))))
        lin = np.where(mu == 1, x[:, None] * np.ones_like(mu), 0.0)
        C = pw[None] * (c0 - ystar)[:, None, :] + ystar[:, None, :] + lin[None] * bt[:, None, :]
    eps = 0.5 * np.einsum("stk,k->st", C, V.T @ u) + epsF[:, None]
    if not np.all(np.isfinite(eps)):
        raise DivergenceError(f"linear closed form overflowed (eta={eta:g}, eta_c="
                              f"{stability_threshold(spectrum):.6g}); the dynamics diverge")
    out = eps[0] if single else eps
    if not return_groups:
        return out
    E = np.empty((E0.shape[0], t.size, spectrum.L))
    E[:, :, mask] = np.einsum("stk,jk->stj", C, V) / sq
    E[:, :, ~mask] = E0F[:, None, :]
    return out, (E[0] if single else E)


def _eps_laplace(spectrum, eta, t, E0, sigma, n):
    lam, f = spectrum.eigenvalues, spectrum.fractions
    sq = np.sqrt(f)
    u = sq * lam
    single = E0.ndim == 1
    E0 = np.atleast_2d(E0)
    y0 = E0 * sq[None, :]
    b = eta ** 2 * sigma ** 2 * u
    out = np.empty((E0.shape[0], t.size))
    pos = t > 0
    out[:, ~pos] = 0.5 * (y0 @ u)[:, None]
    tp = t[pos]
    if tp.size:
        S, D = talbot_contour(tp, n)
        for j in range(tp.size):
            s, d = S[j], D[j]                                       # (n,)
            R = 1.0 / (s[:, None] + 2 * eta * lam[None, :])        # (n, L)
            uRu = (R * u ** 2).sum(axis=1)
            uRy = (R * u) @ y0.T                                    # (n, S)
            uRb = (R * u) @ b / s                                   # (n,)
            F = 0.5 * (uRy + uRb[:, None]) / (1 - eta ** 2 * uRu)[:, None]
            out[:, np.flatnonzero(pos)[j]] = 2 * np.real(d @ F)
    return out[0] if single else out


def small_eta(spectrum: Spectrum, eta: float, times, E0=None, *, sigma_J: float = 0.0) -> np.ndarray:
    r"""Small-η sum (drop the η² term of Eq. 1):
    :math:`\varepsilon_g \approx \tfrac12\sum_l f_l\lambda_l E_l(0) e^{-2\eta\lambda_l\alpha}`.

    With :math:`E_l(0) = 1+\sigma_J^2` and :math:`f_l = 1/L` this is
    :math:`\frac{1+\sigma_J^2}{2L}\sum_l\lambda_l e^{-2\eta\lambda_l\alpha}` (our reconstruction of the
    paper's Sec. 3; the book's sources appendix, chapters/sources_worschech_rosenow.md).
    """
    _check_spectrum(spectrum)
    eta = _check_eta(eta)
    t = _check_times(times)
    E0 = _prepare_E0(spectrum, E0, sigma_J)
    lam, f = spectrum.eigenvalues, spectrum.fractions
    ex = np.exp(-2 * eta * np.outer(t, lam))
    return 0.5 * (E0 * f * lam) @ ex.T


def _lambda_plus(L: int, beta: float) -> float:
    return L / float(np.sum(np.arange(1, L + 1, dtype=float) ** (-(1.0 + beta))))


def incomplete_gamma(L: int, beta: float, eta: float, times, *, sigma_J: float = 0.0) -> np.ndarray:
    r"""Integral (continuum) form of the small-η sum for the mean-one power law (our
    reconstruction; the book's sources appendix, chapters/sources_worschech_rosenow.md):

    .. math:: \varepsilon_g \approx \frac{(1+\sigma_J^2)\lambda_+^{1/(1+\beta)}}{2L(1+\beta)}
              (2\eta\alpha)^{-s}\big[\Gamma(s, 2\eta\lambda_L\alpha) - \Gamma(s, 2\eta\lambda_1\alpha)\big],
              \quad s = \frac{\beta}{1+\beta},

    :math:`\lambda_+ = L/H_L^{(1+\beta)}`, Γ(s, x) the upper incomplete gamma function
    (``scipy.special.gammaincc(s, x) * gamma(s)``).  Requires β > 0 and α > 0.
    """
    require(isinstance(L, (int, np.integer)) and L >= 2, "L", L, "an integer >= 2")
    require(np.isfinite(beta) and beta > 0, "beta", beta, "a finite number > 0")
    eta = _check_eta(eta)
    t = _check_times(times)
    require(bool(np.all(t > 0)), "times", t.min(), "all > 0 for the incomplete-gamma form")
    lp = _lambda_plus(int(L), beta)
    lam1, lamL = lp, lp * float(L) ** (-(1 + beta))
    s = beta / (1 + beta)
    x = 2 * eta * t
    G = special.gamma(s) * (special.gammaincc(s, x * lamL) - special.gammaincc(s, x * lam1))
    return (1 + sigma_J ** 2) * lp ** (1 / (1 + beta)) / (2 * L * (1 + beta)) * x ** (-s) * G


def power_law_window(L: int, beta: float, eta: float, slope_tol: float = 0.01) -> tuple[float, float]:
    r"""Window of α where the incomplete-gamma form's local slope is within ``slope_tol`` of
    :math:`-\beta/(1+\beta)`.

    From :func:`incomplete_gamma`, :math:`d\ln\varepsilon/d\ln\alpha = -s + x_L^s e^{-x_L}/G
    - x_1^s e^{-x_1}/G` with :math:`x_{L,1} = 2\eta\lambda_{L,1}\alpha` and G the bracket.  The
    lower edge is where the :math:`\lambda_1` term equals ``slope_tol``, the upper edge where the
    :math:`\lambda_L` term does.  Returns (lo, hi); lo >= hi means there is no such window.
    """
    require(0 < slope_tol < 1, "slope_tol", slope_tol, "in (0, 1)")
    eta = _check_eta(eta)
    lp = _lambda_plus(int(L), beta)
    lam1, lamL = lp, lp * float(L) ** (-(1 + beta))
    s = beta / (1 + beta)
    g = special.gamma(s)

    def term(x):  # x^s e^{-x} / Gamma(s, x) with the other edge ignored (|.| < 1% effect)
        return x ** s * np.exp(-x) / (g * special.gammaincc(s, x))

    def lower(x):  # λ_1 edge: x_1 = 2ηλ_1α large; bracket ≈ Γ(s) - Γ(s, x1) for x1 large
        return x ** s * np.exp(-x) / (g * (1 - special.gammaincc(s, x))) - slope_tol

    def upper(x):  # λ_L edge: bracket ≈ Γ(s, x_L)
        return term(x) - slope_tol

    x1 = optimize.brentq(lower, 1e-3, 1e3)
    xL = optimize.brentq(upper, 1e-300, 1e2)
    return float(x1 / (2 * eta * lam1)), float(xL / (2 * eta * lamL))


def fitted_time_exponent(L: int, beta: float, eta: float, slope_tol: float = 0.01, n_points: int = 12,
                         *, sigma_J: float = 0.0) -> tuple[float, float, float]:
    r"""Fitted time exponent of the exact solution (Eq. 2, with the :math:`\eta^2` term) inside
    the continuum power-law window.

    The window is :func:`power_law_window` (where the incomplete-gamma form's local slope is
    within ``slope_tol`` of :math:`-\beta/(1+\beta)`: its edges follow from the spectrum alone,
    not from the curve being fitted); :func:`eps_g` (``method="laplace"``) is evaluated at
    ``n_points`` log-spaced times there, from the expected initial state, and a straight line is
    fitted in log-log (:func:`scalinglaws.analysis.fits.fit_power_law`).

    Returns
    -------
    (lo, hi, slope) : the window in α and the fitted slope (target :math:`-\beta/(1+\beta)`).
    """
    from scalinglaws.analysis.fits import fit_power_law
    require(isinstance(n_points, (int, np.integer)) and n_points >= 2, "n_points", n_points,
            "an integer >= 2")
    lo, hi = power_law_window(L, beta, eta, slope_tol=slope_tol)
    require(lo < hi, "L", L, f"large enough for a power-law window at slope_tol={slope_tol}")
    tf = np.logspace(np.log10(lo), np.log10(hi), n_points)
    e = eps_g(Spectrum.power_law(L, beta), eta, tf, sigma_J=sigma_J, method="laplace")
    return lo, hi, fit_power_law(tf, e).slope


def gamma_form_error(L: int, beta: float, eta: float, hi_fac: float, lo_fac: float = 20.0,
                     n_points: int = 30, *, sigma_J: float = 0.0) -> float:
    r"""Largest relative difference between the incomplete-gamma form (:func:`incomplete_gamma`)
    and the discrete small-η sum (:func:`small_eta`) on
    :math:`\alpha\in[\mathrm{lo\_fac}/(2\eta\lambda_1),\ \mathrm{hi\_fac}/(2\eta\lambda_L)]`
    (``n_points`` log-spaced times).

    Deep inside the window the Euler--Maclaurin end terms are small; as ``hi_fac`` approaches 1
    the end term :math:`\approx\lambda_L/2` is no longer negligible against the shrinking sum.
    """
    sp = Spectrum.power_law(L, beta)
    eta = _check_eta(eta)
    l1, lL = sp.eigenvalues[[0, -1]]
    tg = np.logspace(np.log10(lo_fac / (2 * eta * l1)), np.log10(hi_fac / (2 * eta * lL)), n_points)
    return float(np.max(np.abs(incomplete_gamma(L, beta, eta, tg, sigma_J=sigma_J)
                               / small_eta(sp, eta, tg, sigma_J=sigma_J) - 1)))


def two_term_amplitudes(L: int, beta: float, eta: float, *, sigma_J: float = 0.0) -> tuple[float, float]:
    r"""Amplitudes of the two-term law :math:`\varepsilon_g \approx A\alpha^{-s} + B N_l^{-\beta}`,
    :math:`s = \beta/(1+\beta)`, for L = N eigenvalues (the book's Eq. eq-lin-combined):

    .. math:: A = (1+\sigma_J^2)\,\frac{\Gamma(s)}{2(1+\beta)\,(H_L^{(1+\beta)})^{1/(1+\beta)}}
              \,(2\eta L)^{-s},\qquad B = \frac{1+\sigma_J^2}{2\beta\,\zeta(1+\beta)},

    :math:`H_L^{(p)} = \sum_{l\le L} l^{-p}`.  A is the large-L limit of the incomplete-gamma form
    (:func:`incomplete_gamma`) inside the window, B the :math:`N \gg N_l \gg 1` asymptote of the
    frozen floor (:func:`frozen_floor`, :math:`\sum_{k>N_l}k^{-(1+\beta)} \approx N_l^{-\beta}/\beta`).
    Our reconstruction (the book's sources appendix).
    """
    require(isinstance(L, (int, np.integer)) and L >= 2, "L", L, "an integer >= 2")
    require(np.isfinite(beta) and beta > 0, "beta", beta, "a finite number > 0")
    eta = _check_eta(eta)
    s = beta / (1 + beta)
    H = float(np.sum(np.arange(1, L + 1.0) ** -(1.0 + beta)))
    A = (1 + sigma_J ** 2) * special.gamma(s) / (2 * (1 + beta) * H ** (1 / (1 + beta))) * (2 * eta * L) ** (-s)
    B = (1 + sigma_J ** 2) / (2 * beta * special.zeta(1.0 + beta))
    return float(A), float(B)


def frozen_floor(spectrum: Spectrum, trained, E0=None, *, sigma_J: float = 0.0) -> float:
    r"""Frozen error :math:`F = \tfrac12\sum_{l\notin T} f_l\lambda_l E_l(0)` (small-η floor)."""
    _check_spectrum(spectrum)
    m = _mask(spectrum, trained)
    E0 = _prepare_E0(spectrum, E0, sigma_J)
    require(E0.ndim == 1, "E0", f"shape {E0.shape}", "(L,)")
    return float(0.5 * np.sum((spectrum.fractions * spectrum.eigenvalues * E0)[~m]))


def trainable_asymptote(spectrum: Spectrum, eta: float, trained, E0=None, *,
                        sigma_J: float = 0.0, sigma: float = 0.0) -> float:
    r"""Exact α → ∞ limit of Eq. (1) when only the groups ``trained`` learn:

    .. math:: \varepsilon_g(\infty) = \frac{F + \eta W\sigma^2/4}{1 - \eta W/2},\qquad
              W = \sum_{l\in T} f_l\lambda_l,

    (F = :func:`frozen_floor`); for L = N, :math:`f = 1/N` and σ = 0 this is
    :math:`F(N_l)/[1 - (\eta/2N)\sum_{k\le N_l}\lambda_k]` (our reconstruction of the paper's
    Sec. 4.3; the book's sources appendix, chapters/sources_worschech_rosenow.md).
    Derivation: the fixed point of (1) restricted to T is the constant vector
    :math:`E_T^* = \eta\sigma^2_{\rm eff}/(2 - \eta W)`, :math:`\sigma^2_{\rm eff} = \sigma^2 + 2F`.
    """
    eta = _check_eta(eta)
    F = frozen_floor(spectrum, trained, E0, sigma_J=sigma_J)
    m = _mask(spectrum, trained)
    W = float(np.sum((spectrum.fractions * spectrum.eigenvalues)[m]))
    if eta * W / 2 >= 1:
        raise DivergenceError(f"eta={eta:g} >= 2/W = {2 / W:.6g}: the trained block is unstable")
    return (F + eta * W * sigma ** 2 / 4) / (1 - eta * W / 2)


# ----------------------------------------------------------------------------------------------
# a dedicated simulator: K = M = 1 linear SGD in the eigenbasis, only some coordinates trained
# ----------------------------------------------------------------------------------------------
def _kernel():
    global _KERN
    try:
        return _KERN
    except NameError:
        pass
    import numba as nb

    @nb.njit(cache=True, nogil=True)
    def gauss(D, sql, Z, zf, sf, a):
        n = D.shape[0]
        for b in range(Z.shape[0]):
            s = sf * zf[b]
            for k in range(n):
                s += D[k] * sql[k] * Z[b, k]
            c = a * s
            for k in range(n):
                D[k] -= c * sql[k] * Z[b, k]

    @nb.njit(cache=True, nogil=True)
    def data(D, X, idx, ntr, a):
        N = D.shape[0]
        for b in range(idx.shape[0]):
            i = idx[b]
            s = 0.0
            for k in range(N):
                s += D[k] * X[i, k]
            c = a * s
            for k in range(ntr):
                D[k] -= c * X[i, k]

    _KERN = (gauss, data)
    return _KERN


def simulate_eigenbasis(lam_diag, eta: float, times, seeds, *, n_trained: int | None = None,
                        sigma_J: float = 0.01, data=None, block: int = 2048):
    r"""Online SGD of the K = M = 1 linear pair in the eigenbasis, training only the
    ``n_trained`` leading coordinates (the paper's Sec. 4.3 setting; all when None).

    Per step (fresh sample ξ; Worschech--Rosenow update with K = 1, α = steps/N):

    .. math:: D_k \leftarrow D_k - \frac{\eta}{N}(D\cdot\xi)\,\xi_k\quad (k \le N_l),\qquad
              D = w - w^*.

    Gaussian inputs (``data=None``): :math:`\xi_k = \sqrt{\lambda_k} z_k`; the frozen coordinates
    enter only through :math:`\sum_{k>N_l} D_k\xi_k`, an exactly Gaussian scalar of variance
    :math:`\sum_{k>N_l}\lambda_k D_k^2`, drawn as one normal per step (exact, O(N_l) per step).
    Real data (``data`` an (n, N) array in the eigenbasis of its second-moment matrix, columns
    ordered by decreasing variance): samples drawn uniformly with replacement (online SGD on the
    empirical distribution), full dot product.

    Initial weights: :math:`w_k = \sigma_J z`, :math:`w^*_k = z'` (standard normals) from
    ``np.random.SeedSequence(seed).spawn(2)[0]``; training samples from ``[1]``.

    Returns
    -------
    Curve
        ``t`` = steps/N (α), ``seeds`` (S, n_t) the population error
        :math:`\tfrac1{2N}\sum_k\lambda_k D_k^2` of each seed (``lam_diag`` = the per-coordinate
        variances), ``loss`` their mean; extra ``E0`` (S, N): the initial :math:`D_k^2`.
    """
    from scalinglaws.committee.sgd import record_steps
    lam = np.asarray(lam_diag, dtype=float)
    require(lam.ndim == 1 and lam.size >= 1 and bool(np.all(lam > 0)), "lam_diag",
            f"shape {lam.shape}", "a 1-d array of positive variances")
    N = lam.size
    eta = _check_eta(eta)
    ntr = N if n_trained is None else n_trained
    require(isinstance(ntr, (int, np.integer)) and 1 <= ntr <= N, "n_trained", n_trained,
            f"an integer in [1, N={N}]")
    seeds = [int(s) for s in seeds]
    require(len(seeds) >= 1 and len(set(seeds)) == len(seeds) and min(seeds) >= 0, "seeds", seeds,
            "distinct integers >= 0")
    if data is not None:
        data = np.ascontiguousarray(data, dtype=float)
        require(data.ndim == 2 and data.shape[1] == N, "data", f"shape {data.shape}",
                f"(n_samples, N={N})")
    steps = record_steps(_check_times(times), N)
    gauss, datak = _kernel()
    a = eta / N
    sql = np.sqrt(lam[:ntr])
    eps = np.empty((len(seeds), steps.size))
    E0 = np.empty((len(seeds), N))
    for si, seed in enumerate(seeds):
        ss_init, ss_train = np.random.SeedSequence(seed).spawn(2)
        ri = np.random.default_rng(ss_init)
        D = sigma_J * ri.standard_normal(N) - ri.standard_normal(N)
        E0[si] = D ** 2
        rng = np.random.default_rng(ss_train)
        sf = math.sqrt(float(np.sum(lam[ntr:] * D[ntr:] ** 2)))
        Dt = np.ascontiguousarray(D[:ntr]) if data is None else D
        done = 0
        for k, st in enumerate(steps):
            while done < st:
                m = int(min(block, st - done))
                if data is None:
                    Z = rng.standard_normal((m, ntr))
                    zf = rng.standard_normal(m)
                    gauss(Dt, sql, Z, zf, sf, a)
                else:
                    idx = rng.integers(0, data.shape[0], size=m)
                    datak(Dt, data, idx, ntr, a)
                done += m
                if not np.all(np.isfinite(Dt)) or np.max(np.abs(Dt)) > 1e8:
                    raise DivergenceError(
                        f"eigenbasis SGD diverged at alpha={done / N:.4g}: eta={eta:g} is above "
                        f"the stability bound (eta_c = 2/((1/N) tr Sigma) = {2 / lam.mean():.4g} "
                        "for N -> infinity; lower at finite N when lambda_1 ~ N)")
            Dfull = Dt if data is not None else np.concatenate([Dt, D[ntr:]])
            eps[si, k] = 0.5 * np.sum(lam * Dfull ** 2) / N
    from scalinglaws.result import Curve
    return Curve(t=steps / N, loss=eps.mean(axis=0), t_unit="alpha", loss_factor=0.5, seeds=eps,
                 meta={"family": "committee", "model": "linear SGD in the eigenbasis", "N": N,
                       "eta": float(eta), "time_per_alpha": float(eta), "n_trained": n_trained,
                       "sigma_J": float(sigma_J)},
                 extras={"E0": E0})


# ----------------------------------------------------------------------------------------------
# glue between simulation and theory
# ----------------------------------------------------------------------------------------------
def seed_initial_errors(setup, N: int, seeds, sigma_J: float) -> np.ndarray:
    """Per-group initial errors E_l(0) (S, L) of the random initial weights that
    :func:`scalinglaws.committee.sgd.simulate` draws for ``seeds`` (same streams, so theory and simulation
    start from identical weights)."""
    from scalinglaws.committee.setup import Overlaps
    from scalinglaws.committee.sgd import initial_weights
    J, B = initial_weights(setup, N, seeds, sigma_J=sigma_J)
    return np.stack([group_errors(Overlaps.from_weights(J[s], B[s], setup.spectrum), setup)
                     for s in range(J.shape[0])])


def agreement(sim_seeds, theory_seeds, allowance=0.0, n_sigma: float = 3.0,
              roundoff: float = 1e-12, n_compare: int = 1) -> dict:
    r"""Compare per-seed simulation with per-seed theory (same initial weights).

    With :math:`d_s(\alpha) = \varepsilon^{\rm sim}_s - \varepsilon^{\rm th}_s` over S seeds, the
    statistic is :math:`r = \max_\alpha |\bar d| / (k\,\mathrm{SE}(d) + a)`, where ``a`` is a
    deterministic allowance (e.g. the exact O(1/N) difference between finite-N and N → ∞ theory)
    and k the two-sided Student-t quantile with S − 1 degrees of freedom at the ``n_sigma``
    Gaussian level (k → n_sigma for many seeds; k = 3.6 for S = 15).  Agreement means r <= 1.
    With ``n_compare`` > 1 the two-sided level :math:`2[1-\Phi(n_\sigma)]` is shared among that
    many comparisons (Bonferroni), i.e. the n_sigma level holds for the whole family of points.
    A round-off floor ``roundoff * |mean theory|`` is added to the denominator: at α = 0 the
    simulation and the theory start from identical weights and differ only by float64 summation
    order (~1e-16 relative), which must not count as a disagreement.
    """
    from scipy import stats
    d = np.asarray(sim_seeds, float) - np.asarray(theory_seeds, float)
    require(d.ndim == 2 and d.shape[0] >= 2, "sim_seeds", f"shape {d.shape}", "(S >= 2, n_t)")
    S = d.shape[0]
    require(isinstance(n_compare, (int, np.integer)) and n_compare >= 1, "n_compare", n_compare,
            "an integer >= 1")
    p_two = 2 * stats.norm.sf(n_sigma) / n_compare
    k = float(stats.t.isf(p_two / 2, S - 1))
    se = d.std(axis=0, ddof=1) / math.sqrt(S)
    th = np.abs(np.asarray(theory_seeds, float).mean(axis=0))
    den = k * se + np.abs(np.broadcast_to(np.asarray(allowance, float), se.shape)) + roundoff * th
    ok = den > 0
    r = np.abs(d.mean(axis=0))[ok] / den[ok]
    return {"max_ratio": float(r.max()), "k": k, "se": se, "mean_diff": d.mean(axis=0)}


def agrees(sim_seeds, theory_seeds, allowance=0.0, n_sigma: float = 3.0,
           n_compare: int = 1) -> bool:
    """The decision of the chapter's SGD-vs-theory checks: :func:`agreement`'s ``max_ratio`` <= 1.

    Feeding it a competing theory (e.g. :func:`shifted_exponent` of the theory, or the theory on
    another spectrum) shows whether the comparison can tell the two apart.
    """
    return bool(agreement(sim_seeds, theory_seeds, allowance=allowance, n_sigma=n_sigma,
                          n_compare=n_compare)["max_ratio"] <= 1.0)


def shifted_exponent(t, eps, delta: float, t0: float, floor=0.0) -> np.ndarray:
    r"""A competing learning curve whose power-law exponent is shifted by ``delta``.

    :math:`\varepsilon_{\rm alt}(\alpha) = F + [\varepsilon(\alpha) - F]\,
    \max(\alpha/\alpha_0, 1)^{-\delta}`: unchanged before :math:`\alpha_0` (the start of the
    power-law window, e.g. :math:`1/(2\eta\lambda_1)`), the part above the floor F decaying
    faster (``delta`` > 0) or slower (``delta`` < 0) after it.  ``eps`` is (n_t,) or (S, n_t);
    ``floor`` a scalar or one value per seed (S,).  Used as the alternative hypothesis of the
    SGD-vs-theory checks: a comparison that also accepts it cannot resolve the exponent to
    ``delta``.
    """
    t = np.asarray(t, dtype=float)
    eps = np.asarray(eps, dtype=float)
    require(t.ndim == 1 and eps.shape[-1] == t.size, "eps", f"shape {eps.shape}",
            f"(..., {t.size}) matching t")
    require(np.isfinite(t0) and t0 > 0, "t0", t0, "a finite number > 0")
    F = np.asarray(floor, dtype=float)
    if F.ndim == 1:
        F = F[:, None]
    fac = np.maximum(t / t0, 1.0) ** (-float(delta))
    return F + (eps - F) * fac


def power_law_continuation(t, eps, t_edge: float, exponent: float) -> np.ndarray:
    r"""A competing learning curve with no exponential tail: :math:`\varepsilon(\alpha)` up to
    ``t_edge`` (e.g. the upper window edge :math:`1/(2\eta\lambda_L)`), then the power law
    :math:`\varepsilon(t_{\rm edge})\,(\alpha/t_{\rm edge})^{-\mathrm{exponent}}` continued beyond it
    (:math:`\varepsilon(t_{\rm edge})` interpolated log-log).  ``eps`` is (n_t,) or (S, n_t).  The
    alternative of the tail check: a comparison that also accepts it does not see the tail."""
    t = np.asarray(t, dtype=float)
    eps = np.asarray(eps, dtype=float)
    require(t.ndim == 1 and eps.shape[-1] == t.size, "eps", f"shape {eps.shape}",
            f"(..., {t.size}) matching t")
    require(np.isfinite(t_edge) and t[0] < t_edge < t[-1], "t_edge", t_edge,
            f"inside the time range ({t[0]:g}, {t[-1]:g})")
    require(np.isfinite(exponent) and exponent > 0, "exponent", exponent, "a finite number > 0")
    pos = t > 0
    e2 = np.atleast_2d(eps)
    at_edge = np.array([math.exp(np.interp(math.log(t_edge), np.log(t[pos]), np.log(row[pos])))
                        for row in e2])
    out = e2.copy()
    late = t > t_edge
    out[:, late] = at_edge[:, None] * (t[late] / t_edge) ** (-float(exponent))
    return out.reshape(eps.shape)


def data_eigenbasis(X, rel_cut: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    r"""Rotate a data matrix into the eigenbasis of its (centred) covariance.

    Returns ``(lam, Z)``: the eigenvalues above ``rel_cut * lam_max`` in decreasing order,
    rescaled so that their mean is 1 (:math:`(1/N)\mathrm{tr}\Sigma = 1` on the kept N
    directions), and the data in that basis, scaled alike (n_samples, N).
    """
    X = np.asarray(X, dtype=float)
    require(X.ndim == 2 and X.shape[0] > X.shape[1] >= 1, "X", f"shape {X.shape}",
            "(n_samples, n_features) with n_samples > n_features")
    Xc = X - X.mean(axis=0)
    ev, U = np.linalg.eigh(Xc.T @ Xc / X.shape[0])
    order = np.argsort(ev)[::-1]
    ev, U = ev[order], U[:, order]
    keep = ev > rel_cut * ev[0]
    ev, U = ev[keep], U[:, keep]
    scale = 1.0 / ev.mean()
    return ev * scale, (Xc @ U) * math.sqrt(scale)
