"""scalinglaws: the library behind the executable book on neural scaling laws in two-layer networks.

Modules (one job each; the book's "Library reference" page documents them all):

- :mod:`scalinglaws.conventions`     -- normalisations of every paper in one place, and converters.
- :mod:`scalinglaws.spectra`         -- data-covariance spectra (power laws with L distinct eigenvalues).
- :mod:`scalinglaws.numerics.gaussian`     -- erf / linear activations and the Gaussian integrals I2, I3, I4.
- :mod:`scalinglaws.committee.setup`          -- Setup, group-resolved Overlaps, Trajectory, weight draws.
- :mod:`scalinglaws.committee.ode`             -- order-parameter ODEs of online SGD (Saad--Solla, Worschech--Rosenow).
- :mod:`scalinglaws.committee.sgd`             -- online-SGD simulators for the same setups, batched over seeds.
- :mod:`scalinglaws.book.sweep`           -- cached parameter sweeps (local processes or Dask).
- :mod:`scalinglaws.book.cli`             -- the ``scalinglaws ode|sgd`` command line.
- :mod:`scalinglaws.committee.linear`          -- closed-form linear theory (chapter 1).
- :mod:`scalinglaws.committee.plateau`         -- plateau heights, escape rates and lengths (chapter 2).
- :mod:`scalinglaws.committee.specialisation`  -- the specialisation transition (chapter 3).
- :mod:`scalinglaws.kernel.dmft`            -- DMFT of random-feature regression (chapter 4).
- :mod:`scalinglaws.kernel.randomfeatures`  -- exact random-feature simulations, Langevin, GP posterior (chapter 4).
- :mod:`scalinglaws.kernel.featurelearning` -- the solvable feature-learning model (chapter 4).
- :mod:`scalinglaws.kernel.mlp`             -- ReLU MLPs on the circle, lazy vs rich (chapter 4).
- :mod:`scalinglaws.emergence`       -- additive Hermite multi-index model (Ren et al. 2025, chapter 5).
- :mod:`scalinglaws.analysis.fits`            -- power-law fits, plateau and transition detection.
- :mod:`scalinglaws.book.plotting`        -- the house figure style.
- :mod:`scalinglaws.book.checks`          -- the book's reproduction checks (assert + record).
- :mod:`scalinglaws.errors`, :mod:`scalinglaws.progress`, :mod:`scalinglaws.book.notebooks` -- input
  validation, progress bars, the papermill runner.
"""

__version__ = "0.1.0"

# Convenience facade: the objects most users need, importable from the package root.
from scalinglaws.conventions import SAAD_SOLLA, WORSCHECH_ROSENOW, Conventions  # noqa: E402
from scalinglaws.errors import DivergenceError  # noqa: E402
from scalinglaws.committee.setup import Overlaps, Setup, Trajectory  # noqa: E402
from scalinglaws.spectra import Spectrum  # noqa: E402


def __getattr__(name):  # lazy: keep `import scalinglaws` light
    if name in ("integrate", "log_times"):
        from scalinglaws.committee import ode
        return getattr(ode, name)
    if name == "simulate":
        from scalinglaws.committee.sgd import simulate
        return simulate
    raise AttributeError(f"module 'scalinglaws' has no attribute {name!r}")


__all__ = ["Conventions", "SAAD_SOLLA", "WORSCHECH_ROSENOW", "DivergenceError", "Overlaps", "Setup",
           "Trajectory", "Spectrum", "integrate", "log_times", "simulate"]
