r"""Normalisation conventions of the two-layer student--teacher literature, in one place.

Every module of the library takes its normalisations from here.  The model is

.. math::

    \hat y(\xi) = c_s \sum_{i=1}^{K} g(x_i),\qquad y(\xi) = c_t \sum_{n=1}^{M} g(y_n) + \sigma\,\epsilon,
    \qquad x_i = \frac{J_i\cdot\xi}{\sqrt N},\quad y_n = \frac{B_n\cdot\xi}{\sqrt N},

with inputs :math:`\xi\sim\mathcal N(0,\Sigma)`, second layers fixed, and the output factors
:math:`c_s, c_t` set by ``Conventions.output_norm``:

==============  ==================  ==================  =====================================
output_norm     :math:`c_s`          :math:`c_t`          used by
==============  ==================  ==================  =====================================
``"none"``      1                   1                   Saad & Solla 1995, Biehl & Schwarze 1995
``"sqrtK"``     :math:`1/\sqrt K`   :math:`1/\sqrt M`   Worschech & Rosenow 2024, Goldt et al.
``"K"``         :math:`1/K`         :math:`1/M`         mean-field / "normalise" option of pyscm
==============  ==================  ==================  =====================================

Fixed across all presets (the library's single convention set):

* preactivations carry :math:`1/\sqrt N`;
* one online-SGD step on a fresh sample, gradient of :math:`\tfrac12(y-\hat y)^2`:
  :math:`J_i \leftarrow J_i + \frac{\eta}{\sqrt N}\, c_s\, g'(x_i)\,(y-\hat y)\,\xi
  - \frac{\eta\kappa}{N} J_i` (:math:`\kappa` = weight decay);
* generalisation error **with** the ½: :math:`\varepsilon_g = \tfrac12\,\mathbb E[(y_0-\hat y)^2]`
  (:math:`y_0` the noiseless teacher output);
* time :math:`\alpha = \text{steps}/N`.

Time units and the loss factor of every family
----------------------------------------------
Every result is a :class:`scalinglaws.result.Curve` that carries its time unit and loss factor, so
curves of different families go on one axis with :meth:`Curve.to <scalinglaws.result.Curve.to>`
(never by hand):

=================  ===========================================  ==========================
time unit          meaning                                      converted with
=================  ===========================================  ==========================
``"alpha"``        online steps per input dimension, steps/N    ``N``
``"steps"``        number of (S)GD updates                      --
``"time"``         gradient-flow time, η·steps                  ``eta`` (the family's η)
=================  ===========================================  ==========================

The loss is ``loss_factor · E[(f − y)²]`` (excess over label noise where there is noise):

==========================================  ==========  ============
family                                      time unit   loss_factor
==========================================  ==========  ============
committee (ODE, SGD, linear; chapters 1-3)  ``alpha``   ½ (ε_g)
kernel: DMFT, random features, feature      ``time``    1
learning, MLP (chapter 4)
emergence (chapter 5)                       ``steps``   1 (GD on L/2)
==========================================  ==========  ============

:data:`FAMILIES` holds this table; :func:`convert_time` and :func:`convert_loss` do the
conversions.

Symbols that mean different things in different papers
-------------------------------------------------------
The library keeps each paper's letters inside its family (so that code reads like the paper) and
says here what each one counts:

==========  ===============================  ============================  ==========================
symbol      committee (W&R, Saad & Solla)    kernel (KLH, BAP)             emergence (RNWL)
==========  ===============================  ============================  ==========================
``N``       input dimension                  width: features / hidden      -- (``d`` is the input
                                             units                         dimension, ``m`` the width)
``M``       teacher hidden units             number of modes (spectra)     --
``P``       --                               training samples (KLH)        teacher directions
``L``       distinct eigenvalues (groups)    --                            --
``beta``    spectrum exponent,               source exponent (BAP)         amplitude exponent,
            λ_l ∝ l^-(1+β)                                                 a_p ∝ p^-β
``K``       student hidden units             --                            --
==========  ===============================  ============================  ==========================

Chapter 6 (:mod:`scalinglaws.exponents`) maps the three exponent notations onto one pair (a, b).

Converting between presets is exact only when :math:`c_s = c_t` (e.g. ``K == M``): then the
``"sqrtK"`` dynamics at rate :math:`\eta` equal the ``"none"`` dynamics at :math:`\eta/K` with
:math:`\varepsilon_g^{\rm none} = K\varepsilon_g^{\rm sqrtK}` (see :func:`convert`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scalinglaws.errors import ParameterTypeError, check_choice, check_int, check_real, require

__all__ = ["Conventions", "SAAD_SOLLA", "WORSCHECH_ROSENOW", "MEAN_FIELD", "PRESETS", "get",
           "convert", "TIME_UNITS", "FAMILIES", "convert_time", "convert_loss"]

#: The time units of :class:`scalinglaws.result.Curve` (module docstring).
TIME_UNITS = ("alpha", "steps", "time")

#: Native time unit and loss factor of each family's curves (module docstring).
FAMILIES = {
    "committee": {"t_unit": "alpha", "loss_factor": 0.5},
    "kernel": {"t_unit": "time", "loss_factor": 1.0},
    "emergence": {"t_unit": "steps", "loss_factor": 1.0},
}


def convert_time(t, source: str, target: str, *, N: float | None = None,
                 time_per_step: float | None = None, time_per_alpha: float | None = None):
    """Convert times between the units of :data:`TIME_UNITS`.

    steps = α·N; gradient-flow time = ``time_per_step`` · steps, the gradient-flow time one update
    advances (the learning rate η of a GD step on the loss, as in the kernel and emergence
    families).  In the committee family's convention (1/√N preactivations, step η/√N on the
    weights) the gradient-flow time is η·α, so its curves carry ``time_per_alpha`` = η instead
    (``time_per_step`` = η/N).  The constants a conversion needs are required; a ``ValueError``
    names a missing one.

    >>> convert_time([0.0, 2.0], "alpha", "steps", N=100).tolist()
    [0.0, 200.0]
    >>> convert_time([10.0], "steps", "time", time_per_step=0.1).tolist()
    [1.0]
    >>> convert_time([3.0], "alpha", "time", time_per_alpha=0.5).tolist()
    [1.5]
    """
    import numpy as np
    check_choice("source", source, TIME_UNITS)
    check_choice("target", target, TIME_UNITS)
    t = np.asarray(t, dtype=float)
    if source == target:
        return t.copy()
    pair = {source, target}

    def need(name, value):
        require(value is not None, name, value, f"a number > 0, needed to convert {source} -> {target}")
        return check_real(name, value, 0.0, lo_open=True)

    if pair == {"alpha", "steps"}:
        n = need("N", N)
        return t * n if source == "alpha" else t / n
    if pair == {"alpha", "time"}:
        if time_per_alpha is None and time_per_step is not None and N is not None:
            time_per_alpha = time_per_step * N
        c = need("time_per_alpha", time_per_alpha)
        return t * c if source == "alpha" else t / c
    if time_per_step is None and time_per_alpha is not None and N is not None:
        time_per_step = time_per_alpha / N
    c = need("time_per_step", time_per_step)
    return t * c if source == "steps" else t / c


def convert_loss(loss, source_factor: float, target_factor: float):
    """Rescale a loss ``source_factor · E[(f−y)²]`` to ``target_factor · E[(f−y)²]``."""
    a = check_real("source_factor", source_factor, 0.0, lo_open=True)
    b = check_real("target_factor", target_factor, 0.0, lo_open=True)
    return loss * (b / a)

_NORMS = ("none", "sqrtK", "K")


@dataclass(frozen=True)
class Conventions:
    """A normalisation convention (see module docstring).

    Parameters
    ----------
    output_norm : {"none", "sqrtK", "K"}
        Second-layer factor of student and teacher outputs.
    name : str
        Label used in output metadata.
    """

    output_norm: str = "sqrtK"
    name: str = "custom"

    def __post_init__(self) -> None:
        check_choice("output_norm", self.output_norm, _NORMS)
        require(isinstance(self.name, str), "name", self.name, "a str label")

    def c_student(self, K: int) -> float:
        """Student output factor :math:`c_s`."""
        return {"none": 1.0, "sqrtK": 1.0 / math.sqrt(K), "K": 1.0 / K}[self.output_norm]

    def c_teacher(self, M: int) -> float:
        """Teacher output factor :math:`c_t`."""
        return {"none": 1.0, "sqrtK": 1.0 / math.sqrt(M), "K": 1.0 / M}[self.output_norm]


#: Preset of Saad & Solla (1995) -- summed outputs, no normalisation.
SAAD_SOLLA = Conventions("none", "saad-solla-1995")
#: Preset of Worschech & Rosenow (2024) -- outputs (1/sqrt K) sum g.
WORSCHECH_ROSENOW = Conventions("sqrtK", "worschech-rosenow-2024")
#: Mean-field style 1/K outputs.
MEAN_FIELD = Conventions("K", "mean-field-1/K")

PRESETS = {"saad-solla": SAAD_SOLLA, "saad-solla-1995": SAAD_SOLLA,
           "worschech-rosenow": WORSCHECH_ROSENOW, "worschech-rosenow-2024": WORSCHECH_ROSENOW,
           "mean-field": MEAN_FIELD}


def get(conv: str | Conventions) -> Conventions:
    """Return a :class:`Conventions` from a preset name, an ``output_norm`` value or an instance."""
    if isinstance(conv, Conventions):
        return conv
    if not isinstance(conv, str):
        raise ParameterTypeError(f"conventions={conv!r} is invalid: use a Conventions instance, "
                                 f"one of {sorted(PRESETS)} or an output_norm in {_NORMS} "
                                 f"(got {type(conv).__name__})")
    if conv in PRESETS:
        return PRESETS[conv]
    if conv in _NORMS:
        return Conventions(conv, conv)
    raise ValueError(f"conventions={conv!r} is invalid: use a Conventions instance, one of "
                     f"{sorted(PRESETS)} or an output_norm in {_NORMS}")


def convert(eta: float, eps_g: float | None, K: int, M: int, source: str | Conventions,
            target: str | Conventions) -> tuple[float, float | None]:
    """Map a learning rate (and optionally an error value) between two conventions.

    With output factors :math:`c` (student = teacher, required), the SGD step in convention ``a``
    at rate :math:`\\eta_a` equals the step in ``b`` at :math:`\\eta_b = \\eta_a c_a^2 / c_b^2`, and
    :math:`\\varepsilon_b = \\varepsilon_a c_b^2 / c_a^2`.

    Returns
    -------
    (eta_target, eps_target)
    """
    a, b = get(source), get(target)
    K, M = check_int("K", K, 1), check_int("M", M, 1)
    eta = check_real("eta", eta, 0.0, lo_open=True)
    eps_g = check_real("eps_g", eps_g, allow_none=True)
    ca_s, ca_t = a.c_student(K), a.c_teacher(M)
    cb_s, cb_t = b.c_student(K), b.c_teacher(M)
    if not (math.isclose(ca_s, ca_t) and math.isclose(cb_s, cb_t)):
        raise ValueError(f"conversion {a.name} -> {b.name} is exact only when the student and "
                         f"teacher output factors agree (K == M for 'sqrtK' and 'K'); got K={K}, M={M}")
    r = (ca_s / cb_s) ** 2
    return eta * r, (None if eps_g is None else eps_g / r)
