"""Emergence in the additive Hermite multi-index model (Ren, Nichani, Wu & Lee 2025).

Model
-----
Teacher ``f*(x) = sum_p a_p h_k(<x, e_p>)`` with ``x ~ N(0, I_d)``, orthonormal directions taken
as the first ``P`` basis vectors (rotation invariance), the normalised Hermite polynomial
``h_k = He_k / sqrt(k!)`` (information exponent ``k``; the paper needs even ``k >= 4``) and
``a_p ∝ p^{-beta}`` normalised to ``sum_p a_p^2 = 1``.  Student (2-homogeneous, tied second layer)
``f(x; V) = sum_j ||v_j||^2 h_k(<v_j / ||v_j||, x>)`` with ``V`` of shape ``(m, d)``.

Conventions
-----------
* Reported loss: the population MSE ``L = E[(f - f*)^2]`` (no 1/2; it starts at ``sum a_p^2 = 1``).
* Dynamics: gradient steps on ``L/2`` (the per-sample loss of the paper, eq. 3, has the 1/2).
* Time: ``steps`` of GD / SGD; gradient-flow (GF) time is ``eta * steps``.

Results
-------
:func:`~scalinglaws.emergence.gd.population_gd` (one ``seed`` or a list of ``seeds``) and :func:`~scalinglaws.emergence.sgd.online_sgd` return
:class:`scalinglaws.result.Curve` (one, or a list with one per seed / initialisation):
``t`` the recorded steps (``t_unit="steps"``), ``loss`` the population MSE above
(``loss_factor=1``), so ``curve.to(t_unit="time")`` gives GF time ``eta * steps``.  ``meta``:
``family="emergence"``, ``method`` (``"population-gd"`` or ``"online-sgd"``), ``eta``,
``level``, ``m``, ``d``, ``P``, ``k``, ``sigma0``, ``seed`` and the run's other settings.
Extras (also attributes, ``curve.pair_overlap``):

* ``pair_overlap`` ``(len(t), npairs)``: squared cosine of student ``students[i]`` with teacher
  direction ``teachers[i]`` at the recorded steps;
* ``norms`` ``(len(t), m)``: squared norms ``||v_j||^2`` at the recorded steps;
* ``students``, ``teachers`` ``(npairs,)``: the greedy pairing at initialisation (emergence
  order); ``u0`` their initial squared cosines; ``T_pred`` their predicted transition times
  (steps; NaN for ``k = 2``);
* ``t_emerge`` ``(npairs,)``: first (interpolated) step at which the pair's squared cosine reaches
  ``level`` (NaN: not within the run); ``t_emerge_dir``: the same for *some* neuron with the
  pair's teacher direction;
* ``final_best_teacher``, ``final_best_overlap`` ``(m,)``: at the end of the run, the direction
  each neuron is best aligned with and its squared cosine.

Closed-form population loss (Ren et al. 2025, eq. 4, for a single Hermite component), with
``c_jp = <v_j, e_p>``, ``n_j = ||v_j||^2``, ``G = V V^T`` and ``q = k/2 - 1``::

    L(V) = sum_p a_p^2 - 2 sum_{j,p} a_p c_jp^k / n_j^q + sum_{j,l} G_jl^k / (n_j n_l)^q .

Reduced exact dynamics (derived here; verified against full-``d`` GD in the tests).  Write
``V = [C | V_perp]`` with ``C = V[:, :P]``.  The gradient of ``L/2`` is::

    grad_C    = -k D + diag(gamma) C + k H C ,     grad_perp = diag(gamma) V_perp + k H V_perp ,
    D_jp = a_p c_jp^{k-1} w_j ,   w_j = n_j^{-q} ,   H_jl = G_jl^{k-1} w_j w_l ,
    gamma_j = 2 q w_j / n_j ( sum_p a_p c_jp^k - sum_l G_jl^k w_l ) .

The orthogonal part is only ever multiplied from the left by an ``m x m`` matrix, so
``V_perp(t) = B(t) Q^T`` with ``Q`` the orthonormal factor of ``V_perp(0)^T`` fixed at
initialisation; only ``B`` (``m x min(m, d - P)``) needs to be evolved.  A step costs
``O(m^2 (P + m))`` instead of ``O(m^2 d + m P d)``.

Transition times (Ren et al. 2025, Thm 2.1, in ``k`` notation; the book's sources appendix,
chapters/sources_ren_nichani_wu_lee.md)::

    T_p = 1 / (k (k - 2) sigma_hat^2 a_{pi(p)} eta s_p(0)^{k-2})      [steps],

with the greedy maximum-selection pairing ``pi`` at initialisation (paper eq. 5).

Toy reduction (our derivation; the book's sources appendix, chapters/sources_ren_nichani_wu_lee.md),
one neuron per direction, with ``u = s^2`` and ``rho = ||v||^2/a``::

    du/dt = 2 k a u^{k/2} (1 - u),   drho/dt = 4 a rho (u^{k/2} - rho),
    ell = 1 - 2 rho u^{k/2} + rho^2   (loss of that direction divided by a^2),

which in ``tau = t / T`` no longer depends on ``a``; hence ``L(t) = sum_p a_p^2 ell(t / T_p)``.

Submodules: :mod:`~scalinglaws.emergence.model` (the model, loss, gradient),
:mod:`~scalinglaws.emergence.gd` (population GD), :mod:`~scalinglaws.emergence.sgd` (online SGD),
:mod:`~scalinglaws.emergence.transitions` (pairing, transition times, toy reduction),
:mod:`~scalinglaws.emergence.setup` (``Setup`` and the verbs ``simulate``, ``theory``) and
:mod:`~scalinglaws.emergence.analysis` (emergence times and the theorem's decisions).
"""

from scalinglaws.emergence import analysis, gd, model, sgd, transitions
from scalinglaws.emergence.model import *  # noqa: F401,F403
from scalinglaws.emergence.transitions import *  # noqa: F401,F403
from scalinglaws.emergence.gd import *  # noqa: F401,F403
from scalinglaws.emergence.sgd import *  # noqa: F401,F403
from scalinglaws.emergence.analysis import *  # noqa: F401,F403
from scalinglaws.emergence.setup import Setup, simulate, theory

__all__ = ["Setup", "simulate", "theory", *model.__all__, *transitions.__all__, *gd.__all__,
           *sgd.__all__, *analysis.__all__]
