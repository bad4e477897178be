"""scalinglaws: the library behind the executable book on neural scaling laws in two-layer networks.

The science is in the folder names.  Three model families over one core:

==========================  ===================================================================
``conventions``             output scaling, learning-rate scaling, time units, the ½ in the loss;
                            converters between papers
``spectra``                 every power-law spectrum / task / amplitude parametrisation
``result``                  :class:`Curve`, the one result type (loss against time + extras)
``errors``, ``progress``    input validation, cost limits, the divergence rule; progress bars
``analysis/``               power-law fits, local slopes, crossings, compute frontiers
``numerics/``               Gaussian integrals of the activations, fixed-Talbot inversion
``committee/``              two-layer committee machines: ``Setup``, ODE (``theory``), online SGD
                            (``simulate``), linear theory, plateaus, specialisation (chapters 1-3)
``kernel/``                 random-feature DMFT and simulations, the feature-learning model,
                            ReLU MLPs on the circle (chapter 4)
``emergence/``              the additive Hermite multi-index model: population GD, online SGD,
                            greedy pairing, transition times, toy reduction (chapter 5)
``exponents``               the exponent dictionary across the four papers (chapter 6)
``book/``                   the book's machinery: checks, claim ledger, papermill runner,
                            plotting, cached sweeps, command line
==========================  ===================================================================

Every family has a setup and the verbs ``theory`` and ``simulate``; every verb returns
:class:`Curve` (or a list/dict of them), so any theory overlays any simulation after
:meth:`Curve.to` has put both in one convention.  The package root exports the core (this
facade); the families are imported explicitly (``from scalinglaws import committee``) so that
importing one family never loads another.
"""

__version__ = "0.2.0"

from scalinglaws.analysis.fits import PowerLawFit, first_crossing, fit_power_law, local_slope
from scalinglaws.analysis.frontier import FrontierFit, compute_frontier, compute_optimal_exponent
from scalinglaws.conventions import (FAMILIES, MEAN_FIELD, SAAD_SOLLA, TIME_UNITS, WORSCHECH_ROSENOW,
                                     Conventions, convert_loss, convert_time)
from scalinglaws.errors import CostLimitError, DivergenceError, ParameterTypeError
from scalinglaws.result import Curve
from scalinglaws.spectra import Spectrum, power_law_amplitudes, power_law_task, source_task

__all__ = [
    # conventions
    "Conventions", "SAAD_SOLLA", "WORSCHECH_ROSENOW", "MEAN_FIELD", "FAMILIES", "TIME_UNITS",
    "convert_time", "convert_loss",
    # the result type
    "Curve",
    # spectra and tasks
    "Spectrum", "power_law_task", "source_task", "power_law_amplitudes",
    # analysis
    "PowerLawFit", "fit_power_law", "local_slope", "first_crossing", "FrontierFit", "compute_frontier",
    "compute_optimal_exponent",
    # errors
    "DivergenceError", "ParameterTypeError", "CostLimitError",
    # families (subpackages)
    "committee", "kernel", "emergence",
]


def __dir__():
    return sorted(set(globals()) | {"committee", "kernel", "emergence"})
