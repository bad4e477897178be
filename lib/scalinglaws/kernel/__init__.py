"""The kernel family (chapter 4): random-feature regression and its DMFT (Kramp, Lindner & Helias),
the solvable feature-learning model (Bordelon, Atanasov & Pehlevan) and ReLU MLPs on the circle.

Setups :class:`~scalinglaws.kernel.setup.RandomFeatures` and
:class:`~scalinglaws.kernel.setup.FeatureLearning`, verbs ``theory(setup, t)`` and
``simulate(setup, t, ...)`` (:mod:`scalinglaws.kernel.setup`); every function returns a
:class:`~scalinglaws.result.Curve` in gradient-flow time with loss ``E[(f - y)^2]`` (no ½).

Modules: :mod:`~scalinglaws.kernel.dmft`, :mod:`~scalinglaws.kernel.randomfeatures`,
:mod:`~scalinglaws.kernel.featurelearning`, :mod:`~scalinglaws.kernel.mlp`.
"""

from scalinglaws.kernel import dmft, featurelearning, mlp, randomfeatures  # noqa: F401
from scalinglaws.kernel.setup import FeatureLearning, RandomFeatures, simulate, theory

__all__ = ["RandomFeatures", "FeatureLearning", "theory", "simulate", "dmft", "randomfeatures",
           "featurelearning", "mlp"]
