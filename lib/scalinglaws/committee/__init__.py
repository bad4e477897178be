"""The committee-machine family (chapters 1-3): Saad & Solla (1995), Worschech & Rosenow (2024).

One setup, two verbs, one result type:

- :class:`~scalinglaws.committee.setup.Setup` (and the presets
  :meth:`~scalinglaws.committee.setup.Setup.saad_solla`,
  :meth:`~scalinglaws.committee.setup.Overlaps.saad_solla`) and the initial condition
  :class:`~scalinglaws.committee.setup.Overlaps` (:meth:`~scalinglaws.committee.setup.Overlaps.random`
  works at every L);
- ``theory(setup, init, ...)`` -- the order-parameter ODE (:func:`scalinglaws.committee.ode.integrate`);
- ``simulate(setup, N, ...)`` -- online SGD batched over seeds (:func:`scalinglaws.committee.sgd.simulate`);
- both return the committee :class:`~scalinglaws.result.Curve` (:func:`~scalinglaws.committee.setup.trajectory`): ε_g against α
  with the overlaps ``Q``, ``R``, ``T`` as extras.

Modules: :mod:`~scalinglaws.committee.setup`, :mod:`~scalinglaws.committee.ode`,
:mod:`~scalinglaws.committee.sgd`, :mod:`~scalinglaws.committee.linear` (closed-form linear theory,
chapter 1), :mod:`~scalinglaws.committee.plateau` (chapter 2),
:mod:`~scalinglaws.committee.specialisation` (chapter 3).
"""

from scalinglaws.committee import linear, ode, plateau, sgd, specialisation  # noqa: F401
from scalinglaws.committee.ode import integrate as theory, log_times
from scalinglaws.committee.setup import (Overlaps, Setup, draw_weights, trajectory, trajectory_csv)
from scalinglaws.committee.sgd import simulate

__all__ = ["Setup", "Overlaps", "draw_weights", "theory", "simulate", "log_times", "trajectory",
           "trajectory_csv", "ode", "sgd", "linear", "plateau", "specialisation"]
