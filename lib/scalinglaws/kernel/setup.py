"""The kernel family's setup objects and its two verbs, ``theory`` and ``simulate``.

Two models share the verbs (dispatch on the setup's type):

- :class:`RandomFeatures` (Kramp, Lindner & Helias): ``N`` random features, ``P`` training
  samples, label noise ``sigma2``, weight decay ``kappa``; ``theory`` = the DMFT expected test loss
  (:func:`~scalinglaws.kernel.dmft.dmft_loss`), ``simulate`` = exact random-feature regression
  over independent draws (:func:`~scalinglaws.kernel.randomfeatures.simulate`);
- :class:`FeatureLearning` (Bordelon, Atanasov & Pehlevan): the projected two-layer linear model
  with feature-learning strength ``gamma`` (γ = 0 lazy); ``theory`` = the infinite-width
  mode-diagonal dynamics (:func:`~scalinglaws.kernel.featurelearning.infinite_width_diagonal`),
  ``simulate`` = the finite-width model trained by GD
  (:func:`~scalinglaws.kernel.featurelearning.simulate_projected`).

Both verbs return :class:`~scalinglaws.result.Curve` in gradient-flow time with the loss
``E[(f - y)^2]`` (no ½), excess over label noise.  The spectrum and task come from
:mod:`scalinglaws.spectra` (``power_law_task`` or ``source_task``).  (The ReLU MLPs of chapter 4's
section 4.5 are trained with :func:`~scalinglaws.kernel.mlp.train_gd`.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scalinglaws.errors import ParameterTypeError, check_array, check_real, require
from scalinglaws.kernel import dmft, featurelearning, randomfeatures
from scalinglaws.result import Curve

__all__ = ["RandomFeatures", "FeatureLearning", "theory", "simulate"]


def _spectrum(lam, w2):
    lam = check_array("lam", lam, ndim=1, min_size=1)
    w2 = check_array("w2", w2, shape=(lam.size,))
    require(bool(np.all(lam > 0)), "lam", float(lam.min()), "eigenvalues > 0")
    require(bool(np.all(w2 >= 0)), "w2", float(w2.min()), "target weights >= 0")
    return lam, w2


@dataclass(frozen=True, eq=False)
class RandomFeatures:
    """Random-feature regression: eigenvalues ``lam`` and target weights ``w2`` (``lam·w2`` the
    task power per mode), ``N`` features and ``P`` samples (``inf`` allowed), label-noise variance
    ``sigma2``, weight decay ``kappa``."""

    lam: np.ndarray = field(repr=False)
    w2: np.ndarray = field(repr=False)
    N: float = np.inf
    P: float = np.inf
    sigma2: float = 0.0
    kappa: float = 0.0

    def __post_init__(self) -> None:
        lam, w2 = _spectrum(self.lam, self.w2)
        object.__setattr__(self, "lam", lam)
        object.__setattr__(self, "w2", w2)
        for name in ("N", "P"):
            check_real(name, getattr(self, name), 0.0, lo_open=True, finite=False)
        check_real("sigma2", self.sigma2, 0.0)
        check_real("kappa", self.kappa, 0.0)

    def __repr__(self) -> str:
        return (f"RandomFeatures(modes={self.lam.size}, N={self.N:g}, P={self.P:g}, "
                f"sigma2={self.sigma2:g}, kappa={self.kappa:g})")


@dataclass(frozen=True, eq=False)
class FeatureLearning:
    """The projected two-layer linear model of width ``N`` on the modes ``lam``, ``w2`` with
    feature-learning strength ``gamma`` (0 = lazy) and GD step ``eta`` for simulations."""

    lam: np.ndarray = field(repr=False)
    w2: np.ndarray = field(repr=False)
    N: int = 64
    gamma: float = 0.0
    eta: float = 0.05

    def __post_init__(self) -> None:
        lam, w2 = _spectrum(self.lam, self.w2)
        object.__setattr__(self, "lam", lam)
        object.__setattr__(self, "w2", w2)
        check_real("gamma", self.gamma, 0.0)
        check_real("eta", self.eta, 0.0, lo_open=True)

    def __repr__(self) -> str:
        return (f"FeatureLearning(modes={self.lam.size}, N={self.N}, gamma={self.gamma:g}, "
                f"eta={self.eta:g})")


def _wrong(setup):
    return ParameterTypeError(f"setup={setup!r} is invalid: a kernel.RandomFeatures or "
                              f"kernel.FeatureLearning (got {type(setup).__name__})")


def theory(setup, t, **kw) -> Curve:
    """Theory curve of ``setup`` at gradient-flow times ``t`` (> 0): the DMFT expected loss for
    :class:`RandomFeatures`, the infinite-width dynamics for :class:`FeatureLearning` (its width
    ``N`` does not enter).  ``kw`` go to the underlying function."""
    if isinstance(setup, RandomFeatures):
        return dmft.dmft_loss(t, setup.lam, setup.w2, setup.N, setup.P, sigma2=setup.sigma2,
                              kappa=setup.kappa, **kw)
    if isinstance(setup, FeatureLearning):
        return featurelearning.infinite_width_diagonal(setup.lam, setup.w2, setup.gamma, t, **kw)
    raise _wrong(setup)


def simulate(setup, t, *, seed: int = 0, draws: int = 8, **kw) -> Curve:
    """Simulation of ``setup`` recorded at times ``t``: ``draws`` independent random-feature
    draws (:class:`RandomFeatures`, finite ``N`` and ``P``) or ``draws`` seeds of the finite-width
    model trained by GD (:class:`FeatureLearning`).  Per-draw losses in the Curve's ``seeds``."""
    if isinstance(setup, RandomFeatures):
        return randomfeatures.simulate(setup.lam, setup.w2, setup.N, setup.P, t, draws=draws, seed=seed,
                                       sigma2=setup.sigma2, kappa=setup.kappa, **kw)
    if isinstance(setup, FeatureLearning):
        return featurelearning.simulate_projected(setup.lam, setup.w2, setup.N, setup.gamma, t,
                                                  eta=setup.eta, seeds=draws, seed=seed, **kw)
    raise _wrong(setup)
