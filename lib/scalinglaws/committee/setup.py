r"""Setup objects shared by theory (ODE) and simulation (SGD), and the common result type.

* :class:`Setup` -- everything that defines a learning problem: K, M, activation, spectrum,
  conventions, learning rate, output noise, weight decay.
* :class:`Overlaps` -- the eigen-group-resolved order parameters

  .. math:: Q^{[l]}_{ik} = J_i P_l J_k/N,\quad R^{[l]}_{in} = J_i P_l B_n/N,\quad
            T^{[l]}_{nm} = B_n P_l B_m/N,

  (:math:`P_l` the projector on eigen-group l) from which the physical preactivation covariances
  are :math:`Q = \sum_l\lambda_l Q^{[l]}`, etc.  With L = 1 and :math:`\Sigma = 1` these are the
  Saad--Solla overlaps.
* :func:`trajectory` -- the committee family's :class:`~scalinglaws.result.Curve` (ε_g against α
  with the overlaps as extras), returned by both the ODE and SGD.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scalinglaws.numerics.gaussian import Activation, get_activation
from scalinglaws.conventions import Conventions, get as get_conventions
from scalinglaws.errors import ParameterTypeError, check_array, check_choice, check_int, check_real, require
from scalinglaws.result import Curve
from scalinglaws.spectra import Spectrum

__all__ = ["Setup", "Overlaps", "trajectory", "trajectory_csv", "trajectory_rows", "trajectory_header",
           "draw_weights", "physical", "eps_g_from_physical", "csv_header"]


@dataclass(frozen=True, eq=False)
class Setup:
    """A two-layer student--teacher learning problem (see :mod:`scalinglaws.conventions`).

    Parameters
    ----------
    K, M : int
        Student and teacher hidden units.
    eta : float
        Learning rate (in the chosen conventions).
    activation : {"erf", "linear"} or Activation
    spectrum : Spectrum, optional
        Input covariance spectrum (default isotropic, L = 1).
    conventions : Conventions or preset name
        Default ``"worschech-rosenow"`` (1/sqrt K outputs).
    sigma : float
        Output-noise standard deviation on the teacher label (>= 0).
    weight_decay : float
        kappa >= 0; each step shrinks J by eta*kappa/N.
    """

    K: int
    M: int
    eta: float
    activation: Any = "erf"
    spectrum: Spectrum = field(default_factory=Spectrum.isotropic)
    conventions: Any = "worschech-rosenow"
    sigma: float = 0.0
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        for name in ("K", "M"):
            check_int(name, getattr(self, name), 1)
        check_real("eta", self.eta, 0.0, lo_open=True)
        check_real("sigma", self.sigma, 0.0)
        check_real("weight_decay", self.weight_decay, 0.0)
        if not isinstance(self.spectrum, Spectrum):
            raise ParameterTypeError(f"spectrum={self.spectrum!r} is invalid: a "
                                     "scalinglaws.spectra.Spectrum (e.g. Spectrum.power_law(L, "
                                     f"beta)) (got {type(self.spectrum).__name__})")
        object.__setattr__(self, "activation", get_activation(self.activation))
        object.__setattr__(self, "conventions", get_conventions(self.conventions))

    @property
    def L(self) -> int:
        return self.spectrum.L

    @property
    def c_s(self) -> float:
        return self.conventions.c_student(self.K)

    @property
    def c_t(self) -> float:
        return self.conventions.c_teacher(self.M)

    def weights_vector(self) -> np.ndarray:
        """Signs times output factors of the K + M units in the error y - yhat: (-c_s.., +c_t..)."""
        w = self.__dict__.get("_w")
        if w is None:  # built on first use (a huge K is refused by the runs' memory checks)
            w = np.concatenate([np.full(self.K, -self.c_s), np.full(self.M, self.c_t)])
            w.setflags(write=False)
            object.__setattr__(self, "_w", w)
        return w

    def eps_g(self, C: np.ndarray) -> float:
        """Generalisation error 1/2 E[(y0 - yhat)^2] from the physical covariance C ((K+M)^2)."""
        return eps_g_from_physical(self, C)

    @classmethod
    def saad_solla(cls, K: int, M: int, eta: float, activation: str = "erf", **kw) -> "Setup":
        """The classic problem of Saad & Solla (1995): summed outputs (``conventions="saad-solla"``),
        isotropic inputs; start it from :meth:`Overlaps.saad_solla` (orthonormal teacher, T = 1)."""
        return cls(K=K, M=M, eta=eta, activation=activation, conventions="saad-solla", **kw)

    def describe(self) -> dict:
        return {"K": self.K, "M": self.M, "eta": self.eta, "activation": self.activation.name,
                "L": self.L, "conventions": self.conventions.name, "sigma": self.sigma,
                "weight_decay": self.weight_decay}


def eps_g_from_physical(setup: Setup, C: np.ndarray) -> float:
    r""":math:`\varepsilon_g = \tfrac12 \sum_{ab} w_a w_b I_2(a,b)`, w = (-c_s, ..., c_t, ...).

    For erf with output_norm ``"sqrtK"`` this is our reconstruction of Worschech & Rosenow's
    error formula (see the book's sources appendix, ``chapters/sources_worschech_rosenow.md``);
    with ``"none"`` it is the classic Saad--Solla formula.
    """
    w = setup.weights_vector()
    return float(0.5 * w @ setup.activation.i2(C) @ w)


def physical(G: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Physical covariance :math:`C = \\sum_l \\lambda_l G^{[l]}` from group blocks (..., L, n, n)."""
    return np.einsum("l,...lab->...ab", lam, G)


@dataclass(eq=False)
class Overlaps:
    """Group-resolved order parameters: ``Q`` (L,K,K), ``R`` (L,K,M), ``T`` (L,M,M).

    ``weights``: the weights ``(J, B)`` the overlaps were computed from (set by
    :meth:`from_weights` and :meth:`random`, else None).  SGD starts from them when the eigen-groups
    are too small to realise the overlaps afresh (fewer than K+M coordinates, e.g. L = N), so one
    initialisation object serves the ODE and SGD at every L.
    """

    Q: np.ndarray
    R: np.ndarray
    T: np.ndarray
    weights: tuple | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.Q = check_array("Q", self.Q, finite=False)
        self.R = check_array("R", self.R, finite=False)
        self.T = check_array("T", self.T, finite=False)
        if self.Q.ndim == 2:
            self.Q, self.R, self.T = self.Q[None], self.R[None], self.T[None]
        require(self.Q.ndim == 3 and self.Q.shape[1] == self.Q.shape[2], "Q", self.Q.shape,
                "shape (L, K, K)")
        L, K = self.Q.shape[:2]
        require(self.R.ndim == 3 and self.R.shape[:2] == (L, K), "R", self.R.shape,
                f"shape (L={L}, K={K}, M)")
        M = self.R.shape[2]
        require(self.T.shape == (L, M, M), "T", self.T.shape, f"shape ({L}, {M}, {M})")
        for name in ("Q", "R", "T"):
            require(bool(np.all(np.isfinite(getattr(self, name)))), name, "contains NaN/inf",
                    "finite entries")

    @property
    def L(self) -> int:
        return self.Q.shape[0]

    @property
    def K(self) -> int:
        return self.Q.shape[1]

    @property
    def M(self) -> int:
        return self.R.shape[2]

    def blocks(self) -> np.ndarray:
        """Group blocks G^[l] = [[Q, R], [R^T, T]], shape (L, K+M, K+M)."""
        top = np.concatenate([self.Q, self.R], axis=2)
        bot = np.concatenate([np.swapaxes(self.R, 1, 2), self.T], axis=2)
        return np.concatenate([top, bot], axis=1)

    def physical(self, spectrum: Spectrum) -> np.ndarray:
        """Physical covariance C of (x_1..x_K, y_1..y_M), shape (K+M, K+M)."""
        require(spectrum.L == self.L, "spectrum", f"L={spectrum.L}",
                f"must match the overlaps' L={self.L}")
        return physical(self.blocks(), spectrum.eigenvalues)

    def validate(self, setup: Setup, tol: float = 1e-10) -> None:
        """Check shapes against ``setup`` and that every group block is positive semi-definite."""
        require((self.K, self.M, self.L) == (setup.K, setup.M, setup.L), "overlaps",
                f"K={self.K}, M={self.M}, L={self.L}",
                f"must match setup K={setup.K}, M={setup.M}, L={setup.L}")
        G = self.blocks()
        require(bool(np.allclose(G, np.swapaxes(G, 1, 2), atol=1e-12)), "overlaps",
                "non-symmetric Q or T", "symmetric group blocks")
        ev = np.linalg.eigvalsh(G)
        scale = max(1.0, float(np.abs(G).max()))
        require(bool(np.all(ev > -tol * scale)), "overlaps",
                f"min eigenvalue {ev.min():.3g} of a group block [[Q,R],[R^T,T]]",
                "every block must be positive semi-definite (realisable by weights)")

    # --- constructors -------------------------------------------------------------------------
    @classmethod
    def from_weights(cls, J, B, spectrum: Spectrum) -> "Overlaps":
        """Overlaps of actual weights J (K, N), B (M, N) with groups as contiguous coordinate blocks."""
        J = np.atleast_2d(check_array("J", J, ndim=(1, 2)))
        B = np.atleast_2d(check_array("B", B, ndim=(1, 2)))
        if not isinstance(spectrum, Spectrum):
            raise ParameterTypeError(f"spectrum={spectrum!r} is invalid: a "
                                     f"scalinglaws.spectra.Spectrum (got {type(spectrum).__name__})")
        require(J.shape[1] == B.shape[1], "J, B", f"{J.shape}, {B.shape}",
                "the same number of columns N")
        N = J.shape[1]
        sizes = spectrum.group_sizes(N)
        edges = np.concatenate([[0], np.cumsum(sizes)])
        W = np.concatenate([J, B], axis=0)
        G = np.stack([W[:, a:b] @ W[:, a:b].T / N for a, b in zip(edges[:-1], edges[1:])])
        K = J.shape[0]
        return cls(G[:, :K, :K], G[:, :K, K:], G[:, K:, K:], weights=(J.copy(), B.copy()))

    @classmethod
    def from_physical(cls, Q, R, T, spectrum: Spectrum | None = None) -> "Overlaps":
        """Group overlaps that spread given physical Q, R, T isotropically over the groups:
        :math:`X^{[l]} = f_l X/\\langle\\lambda\\rangle` (exact for L = 1)."""
        spectrum = Spectrum.isotropic() if spectrum is None else spectrum
        if not isinstance(spectrum, Spectrum):
            raise ParameterTypeError(f"spectrum={spectrum!r} is invalid: a "
                                     f"scalinglaws.spectra.Spectrum (got {type(spectrum).__name__})")
        f = spectrum.fractions / spectrum.moment(1)
        Q, R, T = (np.atleast_2d(check_array(n, x, ndim=(0, 1, 2)))
                   for n, x in (("Q", Q), ("R", R), ("T", T)))
        return cls(f[:, None, None] * Q, f[:, None, None] * R, f[:, None, None] * T)

    @classmethod
    def saad_solla(cls, K: int, M: int, q0: float = 0.5, r0: float = 1e-3, spread: float = 1e-5
                   ) -> "Overlaps":
        """The deterministic start of the classic peer codes (Saad & Solla 1995), L = 1:
        ``Q = q0·1``, ``R_in = r0 + spread`` if i = n else ``r0 - spread``, orthonormal teacher
        ``T = 1``.  SGD realises these overlaps exactly (:func:`scalinglaws.committee.sgd.simulate`
        with ``init=``), so theory and simulation start from the same point.

        >>> Overlaps.saad_solla(2, 2).R[0].tolist()
        [[0.00101, 0.00099], [0.00099, 0.00101]]
        """
        K, M = check_int("K", K, 1), check_int("M", M, 1)
        q0 = check_real("q0", q0, 0.0, lo_open=True)
        r0, spread = check_real("r0", r0), check_real("spread", spread)
        R = np.full((K, M), r0 - spread)
        R[np.arange(min(K, M)), np.arange(min(K, M))] = r0 + spread
        return cls.from_physical(q0 * np.eye(K), R, np.eye(M))

    def __repr__(self) -> str:
        return f"Overlaps(L={self.L}, K={self.K}, M={self.M}{', with weights' if self.weights is not None else ''})"

    @classmethod
    def random(cls, setup: Setup, N: int, seed: int | np.random.Generator = 0,
               sigma_J: float = 1.0, teacher: str = "gaussian") -> "Overlaps":
        """Overlaps of one random draw of weights (see :func:`draw_weights`)."""
        J, B = draw_weights(setup, N, seed, sigma_J, teacher)
        return cls.from_weights(J, B, setup.spectrum)


def draw_weights(setup: Setup, N: int, seed: int | np.random.Generator = 0, sigma_J: float = 1.0,
                 teacher: str = "gaussian") -> tuple[np.ndarray, np.ndarray]:
    """Draw student J_ik ~ N(0, sigma_J^2) and teacher B (K x N, M x N).

    ``teacher="gaussian"``: B_nk ~ N(0, 1) (Worschech--Rosenow); ``"orthonormal"``: rows
    orthogonal with norm sqrt(N) (so T = identity for isotropic inputs, up to the spectrum).
    Student draws come first from the generator, then the teacher.
    """
    if not isinstance(setup, Setup):
        raise ParameterTypeError(f"setup={setup!r} is invalid: a scalinglaws.committee.setup.Setup "
                                 f"(got {type(setup).__name__})")
    N = check_int("N", N, 1)
    sigma_J = check_real("sigma_J", sigma_J, 0.0)
    check_choice("teacher", teacher, ("gaussian", "orthonormal"))
    if isinstance(seed, (list, tuple)):          # entropy of a SeedSequence
        for i, x in enumerate(seed):
            check_int(f"seed[{i}]", x, 0)
    elif not isinstance(seed, (np.random.Generator, np.random.SeedSequence,
                               np.random.BitGenerator)):
        check_int("seed", seed, 0)
    setup.spectrum.group_sizes(N)
    rng = np.random.default_rng(seed)
    J = sigma_J * rng.standard_normal((setup.K, N))
    B = rng.standard_normal((setup.M, N))
    if teacher == "orthonormal":
        require(setup.M <= N, "M", setup.M, f"<= N={N} for an orthonormal teacher")
        q, _ = np.linalg.qr(B.T)
        B = np.sqrt(N) * q.T
    return J, B


def csv_header(K: int, M: int) -> list[str]:
    """``t,eps_g,Q11,Q12,..(upper triangle)..,R11,..,R1M,..`` -- physical overlaps, 1-based."""
    h = ["t", "eps_g"]
    h += [f"Q{i + 1}{k + 1}" for i in range(K) for k in range(i, K)]
    h += [f"R{i + 1}{n + 1}" for i in range(K) for n in range(M)]
    return h


def trajectory(t, eps_g, Q, R, T, *, eps_g_se=None, eps_g_seeds=None, groups=None, meta=None,
               **extras) -> Curve:
    """The committee family's :class:`~scalinglaws.result.Curve`, returned by the ODE and by SGD.

    Curve fields: ``t`` = α = steps/N (``t_unit="alpha"``), ``loss`` = ε_g = ½ E[(y0 − ŷ)²]
    (``loss_factor=0.5``; for SGD the mean over seeds), ``sem`` = its standard error over seeds,
    ``seeds`` = per-seed ε_g (SGD with ``keep_seeds``).  ``meta``: the setup description plus
    ``family="committee"``, ``time_per_alpha`` = η (gradient-flow time η·α) and, for SGD, ``N``.

    Extras (read as attributes, e.g. ``curve.Q``):

    - ``Q`` (n_t, K, K), ``R`` (n_t, K, M): physical overlaps (seed mean for SGD);
    - ``T`` (M, M): physical teacher overlaps;
    - ``groups``: dict of group-resolved ``Q``, ``R`` (n_t, L, ...) and ``T`` (L, M, M), or None;
    - SGD also: ``seed_list``, ``steps`` and, with ``keep_seeds``, ``Q_seeds``, ``R_seeds``,
      ``T_seeds``; with a Monte-Carlo test set ``eps_g_mc``, ``eps_g_mc_se``.

    :func:`trajectory_csv` writes the committee CSV format of the command line.
    """
    meta = dict(meta or {})
    meta.setdefault("family", "committee")
    if "eta" in meta and meta.get("eta") is not None:
        meta.setdefault("time_per_alpha", meta["eta"])
    extras = {"Q": np.asarray(Q), "R": np.asarray(R), "T": np.asarray(T), "groups": groups, **extras}
    series = [k for k in ("Q", "R", "eps_g_mc", "eps_g_mc_se") if k in extras]
    return Curve(t=t, loss=eps_g, t_unit="alpha", loss_factor=0.5, seeds=eps_g_seeds, sem=eps_g_se,
                 meta=meta, extras=extras, series=tuple(series))


def trajectory_rows(traj: Curve) -> np.ndarray:
    """Table rows of a committee curve matching :func:`csv_header` (plus eps_g_se if present)."""
    K = traj.Q.shape[1]
    iu = np.triu_indices(K)
    cols = [traj.t[:, None], traj.loss[:, None], traj.Q[:, iu[0], iu[1]],
            traj.R.reshape(len(traj.t), -1)]
    if traj.sem is not None:
        cols.append(traj.sem[:, None])
    return np.concatenate(cols, axis=1)


def trajectory_header(traj: Curve) -> list[str]:
    """Column names of :func:`trajectory_rows`."""
    h = csv_header(traj.Q.shape[1], traj.R.shape[2])
    if traj.sem is not None:
        h.append("eps_g_se")
    return h


def trajectory_csv(traj: Curve, path: str | Path | None = None) -> str:
    """Committee CSV (the command line's format): a ``#`` metadata comment line, the standard
    header (:func:`csv_header`) and one row per time; written to ``path`` when given."""
    buf = io.StringIO()
    buf.write("# " + ", ".join(f"{k}={v}" for k, v in traj.meta.items()) + "\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(trajectory_header(traj))
    for r in trajectory_rows(traj):
        w.writerow([f"{x:.12g}" for x in r])
    s = buf.getvalue()
    if path is not None:
        Path(path).write_text(s)
    return s
