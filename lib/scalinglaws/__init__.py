"""scalinglaws: the library behind the executable book on neural scaling laws in two-layer networks.

Modules (one job each):

- :mod:`scalinglaws.conventions` -- normalisations of every paper in one place, and converters.
- :mod:`scalinglaws.spectra`     -- data-covariance spectra (power laws with L distinct eigenvalues).
- :mod:`scalinglaws.activations` -- erf / linear activations and the Gaussian integrals I2, I3, I4.
- :mod:`scalinglaws.ode`         -- order-parameter ODEs of online SGD (Saad--Solla, Worschech--Rosenow).
- :mod:`scalinglaws.linear`      -- closed-form linear theory.
- :mod:`scalinglaws.sgd`         -- online-SGD simulators for the same setups, batched over seeds.
- :mod:`scalinglaws.dmft`        -- DMFT of random-feature regression and feature learning.
- :mod:`scalinglaws.emergence`   -- additive Hermite multi-index model (Ren et al. 2025).
- :mod:`scalinglaws.fits`        -- power-law fits, plateau and transition detection.
- :mod:`scalinglaws.sweep`       -- cached parameter sweeps (local processes or Dask).
- :mod:`scalinglaws.plotting`    -- the house figure style.
- :mod:`scalinglaws.checks`      -- the book's reproduction checks (assert + record).
"""

__version__ = "0.1.0"
