r"""Activations and their Gaussian integrals, as broadcast array expressions.

For jointly Gaussian :math:`u` with covariance :math:`C` (indices a, b, c, d in argument order):

.. math::

   I_2(a,b) &= \langle g(u_a) g(u_b)\rangle, \qquad I_2'(a,b) = \langle g'(u_a) g'(u_b)\rangle,\\
   I_3(a,b,c) &= \langle g'(u_a)\, u_b\, g(u_c)\rangle, \qquad
   I_4(a,b,c,d) = \langle g'(u_a) g'(u_b) g(u_c) g(u_d)\rangle .

Closed forms for :math:`g(x) = \mathrm{erf}(x/\sqrt2)` (Saad & Solla 1995; Biehl & Schwarze 1995;
see the book's sources appendix, ``chapters/sources_saad_solla.md``), and for
:math:`g(x) = x`.

:math:`I_3` is linear in :math:`C_{ab}` and :math:`C_{bc}`:
:math:`I_3 = \mathcal A_{ac}\, C_{bc} - \mathcal B_{ac}\, C_{ab}` with coefficients depending only on
:math:`(C_{aa}, C_{ac}, C_{cc})` -- :meth:`Activation.i3_coefficients` returns them for all pairs
at once; this is what makes the eigen-group ODE hierarchy close.

All functions act on a full covariance matrix ``C`` of shape (n, n) and return the integral for
every index combination at once (no Python loops over index tuples).
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["Activation", "Erf", "Linear", "get_activation", "ACTIVATIONS"]

_2PI = 2.0 / np.pi


class Activation:
    """Base class.  Subclasses implement ``g``, ``dg`` and the Gaussian integrals."""

    name = "base"

    def g(self, x):
        raise NotImplementedError

    def dg(self, x):
        raise NotImplementedError

    def i2(self, C):
        """:math:`I_2(a,b)` for all pairs: array (n, n)."""
        raise NotImplementedError

    def i2p(self, C):
        """:math:`I_2'(a,b)` for all pairs: array (n, n)."""
        raise NotImplementedError

    def i3_coefficients(self, C, a_idx=None):
        r"""Coefficients :math:`(\mathcal A_{ac}, \mathcal B_{ac})` for ``a`` in ``a_idx`` and all c."""
        raise NotImplementedError

    def i3(self, C):
        """:math:`I_3(a,b,c)` for all triples: array (n, n, n) (reference implementation)."""
        A, B = self.i3_coefficients(C)
        return A[:, None, :] * C[None, :, :] - B[:, None, :] * C[:, :, None]

    def i4(self, C, a_idx=None, b_idx=None):
        """:math:`I_4(a,b,c,d)` for a in a_idx, b in b_idx, all c, d: array (na, nb, n, n)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Erf(Activation):
    r""":math:`g(x) = \mathrm{erf}(x/\sqrt 2)`, :math:`g'(x) = \sqrt{2/\pi}\,e^{-x^2/2}`."""

    name = "erf"

    def g(self, x):
        return special.erf(np.asarray(x) / np.sqrt(2.0))

    def dg(self, x):
        x = np.asarray(x)
        return np.sqrt(2.0 / np.pi) * np.exp(-0.5 * x * x)

    def i2(self, C):
        d = 1.0 + np.diagonal(C)
        arg = C / np.sqrt(d[:, None] * d[None, :])
        return _2PI * np.arcsin(np.clip(arg, -1.0, 1.0))

    def i2p(self, C):
        d = 1.0 + np.diagonal(C)
        return _2PI / np.sqrt(d[:, None] * d[None, :] - C * C)

    def i3_coefficients(self, C, a_idx=None):
        n = C.shape[0]
        a = np.arange(n) if a_idx is None else np.asarray(a_idx)
        d = 1.0 + np.diagonal(C)
        Cac = C[a, :]
        lam3 = d[a][:, None] * d[None, :] - Cac * Cac
        s = _2PI / np.sqrt(lam3)
        return s, s * Cac / d[a][:, None]

    def i4(self, C, a_idx=None, b_idx=None):
        n = C.shape[0]
        a = np.arange(n) if a_idx is None else np.asarray(a_idx)
        b = np.arange(n) if b_idx is None else np.asarray(b_idx)
        d = 1.0 + np.diagonal(C)
        daa = d[a][:, None, None, None]
        dbb = d[b][None, :, None, None]
        Cab = C[np.ix_(a, b)][:, :, None, None]
        Cac = C[a, :][:, None, :, None]
        Cad = C[a, :][:, None, None, :]
        Cbc = C[b, :][None, :, :, None]
        Cbd = C[b, :][None, :, None, :]
        Ccd = C[None, None, :, :]
        dcc = d[None, None, :, None]
        ddd = d[None, None, None, :]
        lam4 = daa * dbb - Cab * Cab
        lam0 = (lam4 * Ccd - Cbc * Cbd * daa - Cac * Cad * dbb + Cab * Cac * Cbd + Cab * Cad * Cbc)
        lam1 = lam4 * dcc - Cbc * Cbc * daa - Cac * Cac * dbb + 2.0 * Cab * Cac * Cbc
        lam2 = lam4 * ddd - Cbd * Cbd * daa - Cad * Cad * dbb + 2.0 * Cab * Cad * Cbd
        arg = np.clip(lam0 / np.sqrt(lam1 * lam2), -1.0, 1.0)
        return (4.0 / np.pi ** 2) / np.sqrt(lam4) * np.arcsin(arg)


class Linear(Activation):
    """:math:`g(x) = x`: :math:`I_2 = C_{ab}`, :math:`I_2' = 1`, :math:`I_3 = C_{bc}`, :math:`I_4 = C_{cd}`."""

    name = "linear"

    def g(self, x):
        return np.asarray(x, dtype=float)

    def dg(self, x):
        return np.ones_like(np.asarray(x, dtype=float))

    def i2(self, C):
        return np.array(C, dtype=float)

    def i2p(self, C):
        return np.ones_like(C, dtype=float)

    def i3_coefficients(self, C, a_idx=None):
        n = C.shape[0]
        na = n if a_idx is None else len(np.atleast_1d(a_idx))
        return np.ones((na, n)), np.zeros((na, n))

    def i4(self, C, a_idx=None, b_idx=None):
        n = C.shape[0]
        na = n if a_idx is None else len(np.atleast_1d(a_idx))
        nb = n if b_idx is None else len(np.atleast_1d(b_idx))
        return np.broadcast_to(C, (na, nb, n, n)).copy()


ACTIVATIONS = {"erf": Erf, "linear": Linear}


def get_activation(act: str | Activation) -> Activation:
    """Activation instance from a name (``"erf"``, ``"linear"``) or an instance."""
    if isinstance(act, Activation):
        return act
    if not isinstance(act, str):
        from scalinglaws.errors import ParameterTypeError
        raise ParameterTypeError(f"activation={act!r} is invalid: use one of {sorted(ACTIVATIONS)} "
                                 f"or an Activation instance (got {type(act).__name__})")
    if act in ACTIVATIONS:
        return ACTIVATIONS[act]()
    raise ValueError(f"activation={act!r} is invalid: use one of {sorted(ACTIVATIONS)} "
                     "(ReLU has no closed-form I4 and is not provided)")
