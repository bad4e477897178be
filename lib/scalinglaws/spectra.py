r"""Input-covariance spectra with L distinct eigenvalues.

A :class:`Spectrum` holds the distinct eigenvalues :math:`\lambda_l` of the input covariance
:math:`\Sigma` and the fraction :math:`f_l` of the N input coordinates in each eigen-group
(:math:`\sum_l f_l = 1`).  The power law of Worschech & Rosenow (2024) is

.. math:: \lambda_l = \lambda_+\, l^{-(1+\beta)},\quad l = 1..L,\qquad f_l = 1/L,

normalised so that :math:`(1/N)\,\mathrm{tr}\,\Sigma = \sum_l f_l\lambda_l = 1`, i.e.
:math:`\lambda_+ = L / H_L^{(1+\beta)}` with the generalised harmonic number
:math:`H_L^{(s)} = \sum_{l\le L} l^{-s}`.  (This normalisation is our reconstruction; see the
book's sources appendix, ``chapters/sources_worschech_rosenow.md``.)  Groups are contiguous
blocks of coordinates.

Every other power-law parametrisation of the book lives here too, one function per paper's notation
(chapter 6 maps them onto each other):

* :func:`power_law_task` -- (A) Kramp, Lindner & Helias: eigenvalues :math:`\lambda_k = k^{-b}`,
  task power :math:`\lambda_k w_k^{*2} = k^{-a}`;
* :func:`source_task` -- (B) Bordelon, Atanasov & Pehlevan: :math:`\lambda_k = k^{-\alpha}`,
  :math:`\lambda_k w_k^{*2} = k^{-(\alpha\beta + 1)}` (the same family with b = α, a = αβ + 1);
* :func:`power_law_amplitudes` -- (C) Ren, Nichani, Wu & Lee: teacher amplitudes
  :math:`a_p \propto p^{-\beta}` with :math:`\sum_p a_p^2 = 1`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalinglaws.errors import check_array, check_choice, check_int, check_real, require

__all__ = ["Spectrum", "MAX_GROUPS", "power_law_task", "source_task", "power_law_amplitudes"]

#: Largest number of eigen-groups :meth:`Spectrum.power_law` builds (its arrays are O(L); the
#: book uses L = N <= 65536).
MAX_GROUPS = 10 ** 7


@dataclass(frozen=True, eq=False)
class Spectrum:
    """Distinct eigenvalues and the fraction of coordinates carrying each.

    Parameters
    ----------
    eigenvalues : array (L,)
        Distinct eigenvalues, all > 0 and finite.
    fractions : array (L,), optional
        Fractions f_l > 0 of the N coordinates in each group; default 1/L each.
    """

    eigenvalues: np.ndarray
    fractions: np.ndarray | None = None

    def __post_init__(self) -> None:
        lam = np.atleast_1d(check_array("eigenvalues", self.eigenvalues))
        require(lam.ndim == 1 and lam.size >= 1, "eigenvalues", f"shape {lam.shape}",
                "a non-empty 1-d array")
        require(bool(np.all(lam > 0)), "eigenvalues", f"min {lam.min():.3g}", "all must be > 0")
        if self.fractions is None:
            f = np.full(lam.size, 1.0 / lam.size)
        else:
            f = np.atleast_1d(check_array("fractions", self.fractions, finite=False))
            require(f.shape == lam.shape, "fractions", f"shape {f.shape}",
                    f"same shape as eigenvalues {lam.shape}")
            require(bool(np.all(np.isfinite(f)) and np.all(f > 0)), "fractions", f,
                    "finite values > 0")
            require(abs(f.sum() - 1.0) < 1e-10, "fractions", f"sum {f.sum()}", "must sum to 1")
        lam.setflags(write=False)
        f.setflags(write=False)
        object.__setattr__(self, "eigenvalues", lam)
        object.__setattr__(self, "fractions", f)

    # --- constructors -------------------------------------------------------------------------
    @classmethod
    def isotropic(cls) -> "Spectrum":
        """Sigma = identity (L = 1): the classic Saad--Solla setting."""
        return cls(np.array([1.0]))

    @classmethod
    def power_law(cls, L: int, beta: float, normalisation: str = "mean-one") -> "Spectrum":
        r"""Power law :math:`\lambda_l \propto l^{-(1+\beta)}`, L groups of equal size.

        ``normalisation="mean-one"``: :math:`(1/N)\mathrm{tr}\Sigma = 1` (default);
        ``"top-one"``: :math:`\lambda_1 = 1`.
        """
        L = check_int("L", L, 1, MAX_GROUPS)
        beta = check_real("beta", beta, -1.0, lo_open=True)
        check_choice("normalisation", normalisation, ("mean-one", "top-one"))
        lam = np.arange(1, L + 1, dtype=float) ** (-(1.0 + beta))
        if normalisation == "mean-one":
            lam = lam / lam.mean()
        return cls(lam)

    @classmethod
    def from_diagonal(cls, variances) -> tuple["Spectrum", np.ndarray]:
        """Group the per-coordinate variances of a diagonal covariance into distinct eigenvalues.

        Returns the spectrum and the group index of each coordinate.
        """
        v = check_array("variances", variances, ndim=1, min_size=1)
        require(bool(np.all(v > 0)), "variances", f"min {v.min():.3g}", "all must be > 0")
        lam, inv, counts = np.unique(v, return_inverse=True, return_counts=True)
        order = np.argsort(-lam)
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        return cls(lam[order], counts[order] / v.size), rank[inv]

    # --- properties ---------------------------------------------------------------------------
    @property
    def L(self) -> int:
        return int(self.eigenvalues.size)

    def moment(self, p: int) -> float:
        r""":math:`(1/N)\mathrm{tr}\Sigma^p = \sum_l f_l \lambda_l^p`."""
        p = check_real("p", p)
        return float(np.sum(self.fractions * self.eigenvalues ** p))

    def group_sizes(self, N: int) -> np.ndarray:
        """Number of coordinates per group; raises ValueError unless every f_l N is an integer."""
        N = check_int("N", N, 1)
        sizes = self.fractions * N
        r = np.rint(sizes)
        require(bool(np.all(np.abs(sizes - r) < 1e-9) and np.all(r >= 1)), "N", N,
                f"N * fraction must be a positive integer for every group (L={self.L} groups; "
                "for equal groups L must divide N)")
        return r.astype(int)

    def diagonal(self, N: int) -> np.ndarray:
        """Per-coordinate variances (length N), groups as contiguous blocks, largest first."""
        return np.repeat(self.eigenvalues, self.group_sizes(N))

    def group_index(self, N: int) -> np.ndarray:
        """Group label of each of the N coordinates."""
        return np.repeat(np.arange(self.L), self.group_sizes(N))

    def __repr__(self) -> str:
        return (f"Spectrum(L={self.L}, lambda_1={self.eigenvalues[0]:.4g}, "
                f"lambda_L={self.eigenvalues[-1]:.4g}, mean={self.moment(1):.4g})")


def power_law_task(M: int, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Power-law spectrum λ_k = k^−b and task power λ_k w*_k² = k^−a, k = 1..M (paper (B) notation).

    Returns ``(lam, w2)`` with ``w2 = w*_k² = k^(b−a)``. In the notation of the feature-learning
    paper (A), α = b and β = (a − 1)/b.
    """
    check_int("M", M, 1)
    b = check_real("b", b, 0.0, lo_open=True)
    a = check_real("a", a)
    require(a > 1, "a", a, "a > 1 (finite total task power)")
    k = np.arange(1, M + 1, dtype=float)
    return k ** (-b), k ** (b - a)


def source_task(M: int, alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """λ_k = k^−α and w*_k² with per-mode task power λ_k w*_k² = k^−(αβ+1) (paper (A) notation).

    Equivalent to :func:`power_law_task` with b = α, a = αβ + 1.
    """
    check_int("M", M, 1)
    alpha = check_real("alpha", alpha, 0.0, lo_open=True)
    beta = check_real("beta", beta, 0.0, lo_open=True)
    k = np.arange(1, M + 1, dtype=float)
    lam = k ** (-alpha)
    return lam, k ** (-alpha * beta - 1) / lam


def power_law_amplitudes(P: int, beta: float) -> np.ndarray:
    """Teacher amplitudes of the emergence model (notation (C), Ren et al.):
    ``a_p = p^{-beta} / Z`` for ``p = 1..P`` with ``Z = (sum_p p^{-2 beta})^{1/2}`` so that
    ``sum_p a_p^2 = 1`` (Ren et al. 2025, Prop. 2.2; the printed ``Z`` lacks the square root)."""
    check_int("P", P, 1)
    check_real("beta", beta)
    require(0 <= beta <= 10, "beta", beta, "a number in [0, 10]")
    a = np.arange(1, P + 1, dtype=float) ** (-float(beta))
    return a / np.sqrt(np.sum(a * a))
