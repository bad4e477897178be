"""The emergence family's setup object and its two verbs, ``simulate`` and ``theory``.

``Setup`` fixes the problem (width ``m``, input dimension ``d``, teacher amplitudes ``a`` over ``P``
directions, information exponent ``k``, step ``eta``, initial scale ``sigma0``); ``simulate`` trains
the network (population GD or online SGD) and ``theory`` predicts the same run from its initial
overlaps alone (greedy pairing + transition times + the universal one-direction curve).  Both return
:class:`~scalinglaws.result.Curve` in steps with the loss ``E[(f - f*)^2]`` (no ½), so they overlay
directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scalinglaws.emergence.gd import population_gd
from scalinglaws.emergence.model import _check_k, _check_teacher, spherical_init
from scalinglaws.emergence.sgd import online_sgd
from scalinglaws.emergence.transitions import greedy_pairing, greedy_toy_loss, toy_curve, transition_time
from scalinglaws.errors import ParameterTypeError, check_array, check_choice, check_int, check_real, require
from scalinglaws.result import Curve
from scalinglaws.spectra import power_law_amplitudes

__all__ = ["Setup", "simulate", "theory"]

#: Relative tolerance of the normalisation ``sum_p a_p^2 = 1`` that ``Setup`` checks.
_NORM_RTOL = 1e-6


def _check_setup(setup) -> None:
    if not isinstance(setup, Setup):
        raise ParameterTypeError(f"setup={setup!r} is invalid: a scalinglaws.emergence.Setup "
                                 f"(got {type(setup).__name__})")


@dataclass(frozen=True, eq=False)
class Setup:
    """An emergence problem (Ren, Nichani, Wu & Lee): ``m`` neurons in ``d`` dimensions learning the
    teacher ``sum_p a_p h_k(<e_p, x>)``.  ``a`` must be positive with ``sum a_p^2 = 1`` (checked
    to a relative tolerance of 1e-6; :meth:`power_law` builds ``a_p ∝ p^-beta``).  ``k``: an even
    information exponent (``k = 2`` only for :func:`simulate`, as a contrast; :func:`theory` needs
    ``k >= 4``).  ``eta``: GD/SGD step; ``sigma0``: radius of the spherical initialisation."""

    m: int
    d: int
    a: np.ndarray = field(repr=False)
    k: int = 4
    eta: float = 0.1
    sigma0: float = 1e-3

    def __post_init__(self) -> None:
        check_int("m", self.m, 1)
        check_int("d", self.d, 2)
        object.__setattr__(self, "a", _check_teacher(self.a, self.d))
        norm2 = float(np.sum(self.a * self.a))
        require(abs(norm2 - 1.0) <= _NORM_RTOL, "a", f"sum_p a_p^2 = {norm2:.10g}",
                "teacher coefficients normalised to sum_p a_p^2 = 1 (relative tolerance 1e-6), "
                "as the theory assumes; build a normalised power law with "
                "scalinglaws.spectra.power_law_amplitudes(P, beta) (or Setup.power_law(m, d, P, "
                "beta)), or pass a / numpy.linalg.norm(a)")
        _check_k(self.k)
        check_real("eta", self.eta, 0.0, lo_open=True)
        check_real("sigma0", self.sigma0, 0.0, 1.0, lo_open=True)

    @classmethod
    def power_law(cls, m: int, d: int, P: int, beta: float, **kw) -> "Setup":
        """Teacher amplitudes ``a_p ∝ p^-beta``, ``p = 1..P``, normalised
        (:func:`scalinglaws.spectra.power_law_amplitudes`)."""
        return cls(m=m, d=d, a=power_law_amplitudes(P, beta), **kw)

    @property
    def P(self) -> int:
        """Number of teacher directions."""
        return int(self.a.size)

    def __repr__(self) -> str:
        return (f"Setup(m={self.m}, d={self.d}, P={self.P}, k={self.k}, eta={self.eta:g}, "
                f"sigma0={self.sigma0:g})")


def simulate(setup: Setup, steps: int, *, method: str = "gd", seed: int = 0, seeds=None,
             n_record: int = 200, **kw):
    """Train the network of ``setup`` for ``steps`` steps: ``method="gd"`` population gradient descent
    (:func:`~scalinglaws.emergence.gd.population_gd`, reduced exact representation) or ``"sgd"``
    online SGD with batch 1 (:func:`~scalinglaws.emergence.sgd.online_sgd`; ``seeds`` not
    supported, use ``n_init=``).  Returns a Curve (one ``seed``) or a list of Curves (``seeds``);
    ``kw`` go to the simulator."""
    _check_setup(setup)
    check_choice("method", method, ("gd", "sgd"))
    common = dict(k=setup.k, eta=setup.eta, steps=steps, sigma0=setup.sigma0, n_record=n_record)
    if method == "gd":
        if seeds is not None:
            return population_gd(setup.m, setup.d, setup.a, seeds=seeds, **common, **kw)
        return population_gd(setup.m, setup.d, setup.a, seed=seed, **common, **kw)
    require(seeds is None, "seeds", seeds, "None for method='sgd' (use n_init=)")
    return online_sgd(setup.m, setup.d, setup.a, seed=seed, **common, **kw)


def theory(setup: Setup, t, *, seed: int = 0) -> Curve:
    """Prediction of Theorem 2.1's decoupled picture for the initialisation that
    ``simulate(setup, ..., seed=seed)`` (population GD) starts from: the greedy pairing of the
    initial overlaps, each pair's transition time ``T_p`` and the universal one-direction curve,
    ``L(t) = sum_i a_{pi(i)}^2 ell(t / T_i) + sum_unpaired a_p^2``
    (:func:`~scalinglaws.emergence.transitions.greedy_toy_loss`).  ``t`` in steps.  Nothing is fitted.

    Extras: ``teachers`` (the paired directions, in emergence order), ``T_pred`` (their predicted
    transition times, steps), ``u0`` (initial squared cosines).

    Needs ``k >= 4`` (for ``k = 2`` there is no finite-time escape and no transition time),
    ``d >= 3`` (the universal curve starts at ``u0 = 1/d < 1/2``) and ``sigma0^2 < max_p a_p``
    (small initialisation, ``rho0 = sigma0^2 / max_p a_p < 1``); checked before anything is drawn."""
    _check_setup(setup)
    require(setup.k >= 4, "k", setup.k, "an even integer >= 4 for theory() (the transition times "
            "need k > 2; for k = 2 there is no finite-time escape, simulate() still runs it)")
    require(setup.d >= 3, "d", setup.d, "an integer >= 3 for theory() (the universal curve starts "
            "at u0 = 1/d, which must be < 1/2)")
    a_max = float(setup.a.max())
    require(setup.sigma0 ** 2 < a_max, "sigma0", setup.sigma0, f"a number with sigma0^2 < max_p "
            f"a_p = {a_max:.6g} for theory() (small initialisation: rho0 = sigma0^2 / max_p a_p "
            "< 1)")
    t = check_array("t", t, ndim=1, min_size=1)
    require(t.ndim == 1 and t.size >= 1 and bool(np.all(np.isfinite(t))) and bool(np.all(t >= 0)),
            "t", t, "a 1-d array of times >= 0 (steps)")
    check_int("seed", seed, 0)
    V = spherical_init(setup.m, setup.d, setup.sigma0, np.random.default_rng(int(seed)))
    _, te, u0 = greedy_pairing(V, setup.a, setup.k)
    T = transition_time(setup.a[te], u0, setup.k, setup.eta)
    curve = toy_curve(setup.k, u0=1.0 / setup.d, rho0=setup.sigma0 ** 2 / float(setup.a.max()))
    loss = greedy_toy_loss(t, setup.a, te, T, curve)
    meta = dict(family="emergence", method="greedy-toy theory", m=setup.m, d=setup.d, P=setup.P,
                k=setup.k, eta=setup.eta, sigma0=setup.sigma0, seed=int(seed))
    return Curve(t=t, loss=loss, t_unit="steps", loss_factor=1.0, meta=meta,
                 extras=dict(teachers=te, T_pred=T, u0=u0))
