"""scalinglaws: the library behind the executable book on neural scaling laws in two-layer networks.

Modules (one job each; the book's "Library reference" page documents them all):

- :mod:`scalinglaws.conventions`     -- normalisations of every paper in one place, and converters.
- :mod:`scalinglaws.spectra`         -- data-covariance spectra (power laws with L distinct eigenvalues).
- :mod:`scalinglaws.activations`     -- erf / linear activations and the Gaussian integrals I2, I3, I4.
- :mod:`scalinglaws.models`          -- Setup, group-resolved Overlaps, Trajectory, weight draws.
- :mod:`scalinglaws.ode`             -- order-parameter ODEs of online SGD (Saad--Solla, Worschech--Rosenow).
- :mod:`scalinglaws.sgd`             -- online-SGD simulators for the same setups, batched over seeds.
- :mod:`scalinglaws.sweep`           -- cached parameter sweeps (local processes or Dask).
- :mod:`scalinglaws.cli`             -- the ``scalinglaws ode|sgd`` command line.
- :mod:`scalinglaws.linear`          -- closed-form linear theory (chapter 1).
- :mod:`scalinglaws.plateau`         -- plateau heights, escape rates and lengths (chapter 2).
- :mod:`scalinglaws.specialisation`  -- the specialisation transition (chapter 3).
- :mod:`scalinglaws.dmft`            -- DMFT of random-feature regression (chapter 4).
- :mod:`scalinglaws.randomfeatures`  -- exact random-feature simulations, Langevin, GP posterior (chapter 4).
- :mod:`scalinglaws.featurelearning` -- the solvable feature-learning model (chapter 4).
- :mod:`scalinglaws.mlp`             -- ReLU MLPs on the circle, lazy vs rich (chapter 4).
- :mod:`scalinglaws.emergence`       -- additive Hermite multi-index model (Ren et al. 2025, chapter 5).
- :mod:`scalinglaws.fits`            -- power-law fits, plateau and transition detection.
- :mod:`scalinglaws.plotting`        -- the house figure style.
- :mod:`scalinglaws.checks`          -- the book's reproduction checks (assert + record).
- :mod:`scalinglaws.errors`, :mod:`scalinglaws.progress`, :mod:`scalinglaws.notebooks` -- input
  validation, progress bars, the papermill runner.
"""

__version__ = "0.1.0"

# Convenience facade: the objects most users need, importable from the package root.
from .conventions import SAAD_SOLLA, WORSCHECH_ROSENOW, Conventions  # noqa: E402
from .errors import DivergenceError  # noqa: E402
from .models import Overlaps, Setup, Trajectory  # noqa: E402
from .spectra import Spectrum  # noqa: E402


def __getattr__(name):  # lazy: keep `import scalinglaws` light
    if name in ("integrate", "log_times"):
        from . import ode
        return getattr(ode, name)
    if name == "simulate":
        from .sgd import simulate
        return simulate
    raise AttributeError(f"module 'scalinglaws' has no attribute {name!r}")


__all__ = ["Conventions", "SAAD_SOLLA", "WORSCHECH_ROSENOW", "DivergenceError", "Overlaps", "Setup",
           "Trajectory", "Spectrum", "integrate", "log_times", "simulate"]
