r"""Fixed-Talbot numerical inversion of Laplace transforms (Abate & Valkó 2004).

One implementation for the whole library: the random-feature DMFT (:mod:`scalinglaws.kernel.dmft`)
and the closed-form linear theory (:mod:`scalinglaws.committee.linear`) both invert through it.
"""

from __future__ import annotations

import numpy as np

from scalinglaws.errors import check_array, check_int, require

__all__ = ["talbot_contour", "invert_laplace"]


def talbot_contour(t: np.ndarray, n: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """Upper-half fixed-Talbot nodes and weights (Abate & Valkó 2004).

    For each time t the nodes are s_j = r θ_j (cot θ_j + i), θ_j = jπ/n, j = 0..n−1, r = 2n/(5t),
    and the weights d_j = ω_j (r/(2n)) e^{s_j t} (1 + i σ_j), σ(θ) = θ + (θ cot θ − 1) cot θ,
    ω_0 = 1/2, ω_{j>0} = 1, so that f(t) ≈ Re Σ_j 2 d_j F(s_j) for a real-analytic transform F
    (F(s̄) = conj F(s)).

    Returns ``(s, d)`` of shape ``(len(t), n)``.
    """
    t = np.atleast_1d(check_array("t", t, ndim=(0, 1)))
    require(t.size >= 1 and bool(np.all(t > 0)), "t", float(t.min()) if t.size else t,
            "a non-empty array of finite times > 0")
    check_int("n", n, 2, 200)
    theta = np.arange(n) * np.pi / n
    cot = np.ones_like(theta)
    cot[1:] = 1.0 / np.tan(theta[1:])
    tc = np.ones_like(theta)          # θ cot θ with its limit 1 at θ = 0
    tc[1:] = theta[1:] * cot[1:]
    z = (2 * n / 5) * (tc + 1j * theta)          # s·t on the contour
    sig = np.zeros_like(theta)
    sig[1:] = theta[1:] + (tc[1:] - 1.0) * cot[1:]
    w = np.ones(n)
    w[0] = 0.5
    r = (2 * n / 5) / t
    s = z[None, :] / t[:, None]
    d = (w * (1 + 1j * sig) * np.exp(z))[None, :] * (r / (2 * n))[:, None]
    return s, d


def invert_laplace(F, t, n: int = 24) -> np.ndarray:
    """Fixed-Talbot inverse Laplace transform of a vectorised real-analytic ``F(s)``.

    ``F`` receives a complex array of shape ``(len(t), n)`` and must return the same shape (or
    that shape plus trailing axes, which are kept). Returns f(t) (real).
    """
    s, d = talbot_contour(t, n)
    Fs = np.asarray(F(s))
    extra = Fs.ndim - 2
    dd = d.reshape(d.shape + (1,) * extra)
    return 2.0 * np.real(np.sum(dd * Fs, axis=1))
