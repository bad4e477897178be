r"""One spectrum, four theories: the scaling exponents of every mechanism in a common notation.

The four papers of the book state their scaling laws in their own notation.  All of them are laws
for a *spectrum of modes*: mode k is learned on a time scale set by a power of k, and it carries a
power-law share of the loss.  The common language (Bordelon, Atanasov & Pehlevan's kernel-limit
notation, also used by Kramp, Lindner & Helias) is

.. math:: \lambda_k \propto k^{-b}\quad\text{(spectral decay: the rate at which mode } k
          \text{ is learned)},\qquad \text{loss weight of mode } k \propto k^{-a},

with a > 1 (finite total loss) and b > 0.  The *source exponent* :math:`s = (a-1)/b` is the time
exponent of every kernel-like mechanism: by time t the modes :math:`k < t^{1/b}` are learned and the
loss left is :math:`\sum_{k > t^{1/b}} k^{-a} \propto t^{-(a-1)/b}`.

Notation converters (each returns or takes the pair (a, b))
-----------------------------------------------------------
* :func:`from_worschech_rosenow` / :func:`to_worschech_rosenow`: data covariance
  :math:`\lambda_l \propto l^{-(1+\beta)}`, teacher entries iid N(0, 1), so the loss weight of a
  mode is :math:`\lambda_l\langle D_l^2\rangle \propto l^{-(1+\beta)}`: **a = b = 1 + β**.
* :func:`from_bordelon_atanasov_pehlevan` / :func:`to_bordelon_atanasov_pehlevan`: eigenvalues
  :math:`k^{-\alpha}` and the *tail* power :math:`\sum_{l>k}\lambda_l w_l^{*2} \propto k^{-\alpha\beta}`,
  i.e. per mode :math:`k^{-\alpha\beta - 1}`: **b = α, a = 1 + αβ** (β = s).
* :func:`from_kramp_lindner_helias` / :func:`to_kramp_lindner_helias`: already (a, b) (identity).
* :func:`from_ren_nichani_wu_lee` / :func:`to_ren_nichani_wu_lee`: teacher coefficients
  :math:`a_p \propto p^{-\beta_R}`, loss weight :math:`a_p^2 \propto p^{-2\beta_R}` (**a = 2β_R**);
  direction p emerges at :math:`T_p \propto 1/a_p \propto p^{\beta_R}` at fixed step size
  (**b = β_R**), and at :math:`T_p \propto 1/a_p^2 \propto p^{2\beta_R}` in the "unstable" step-size
  schedule of their Cor. 2.3 (**b = 2β_R = a**).

Mechanisms (each returns an :class:`Exponents`)
-----------------------------------------------
* :func:`linear_online_sgd` -- linear student, one fresh sample per step (Worschech & Rosenow's
  linear regime, generalised to any teacher power; their own teacher is the line a = b).
* :func:`random_features` -- lazy random-feature regression by gradient flow (Kramp, Lindner &
  Helias; Bordelon, Atanasov & Pehlevan's kernel limit), with the min(a − 1, 2b) saturation.
* :func:`rich_feature_learning` -- the solvable feature-learning model of Bordelon, Atanasov &
  Pehlevan: χ = 2s/(1 + s) for hard tasks s < 1.
* :func:`additive_emergence` -- Ren, Nichani, Wu & Lee: sharp per-direction transitions; exists
  only on the line b = a/2 (fixed step size) or b = a (unstable step size).

All exponents are positive decay rates: ``time = 0.5`` means L ∝ t^−0.5.  The compute-optimal
exponents come from :func:`compute_optimum`, which minimises a sum of power-law terms
:math:`\sum_i N^{-p_i} t^{-q_i}` at fixed compute C = N t exactly (a one-dimensional max-min of
linear functions).  Sources: the book's sources appendix (chapters/sources_*.md) and chapters 1, 4
and 5; which formulas are the papers' and which are our derivations is said in each docstring.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from scalinglaws.errors import check_choice, check_real

__all__ = ["Exponents", "source_exponent", "from_worschech_rosenow", "to_worschech_rosenow",
           "from_bordelon_atanasov_pehlevan", "to_bordelon_atanasov_pehlevan",
           "from_kramp_lindner_helias", "to_kramp_lindner_helias", "from_ren_nichani_wu_lee",
           "to_ren_nichani_wu_lee", "compute_optimum", "linear_online_sgd", "random_features",
           "rich_feature_learning", "additive_emergence", "MECHANISMS", "all_mechanisms",
           "tabulate", "notation_map", "decay_exponents", "spread"]

#: Relative tolerance of the "on the line" tests (b = a/2, a = b) of the inverse converters.
LINE_RTOL = 1e-9


@dataclass(frozen=True)
class Exponents:
    """Scaling exponents of one mechanism at one point (a, b), as positive decay rates.

    Attributes
    ----------
    mechanism : str
        Which mechanism (``"linear online SGD"``, ``"lazy random features"``, ...).
    a, b : float
        Loss weight per mode ∝ k^−a, learning-rate spectrum λ_k ∝ k^−b.
    time : float
        L ∝ t^−time when training time is the only bottleneck (t in steps or gradient-flow time).
    data : float
        L ∝ n^−data in the number n of distinct training samples when data is the bottleneck,
        under the mechanism's own protocol (``data_protocol``).
    width : float
        L ∝ N^−width in the width (random features, hidden units, trainable modes) at t → ∞.
    compute : float
        Compute-optimal L* ∝ C^−compute with C = N t.
    width_alloc, time_alloc : float
        Optimal allocation N* ∝ C^width_alloc, t* ∝ C^time_alloc (they add up to 1).
    data_protocol : str
        ``"one pass"`` (every sample used once: online SGD) or ``"many passes"`` (gradient flow on
        a fixed set of samples until convergence).
    notes : str
        Regime, source of each formula, and caveats.
    """

    mechanism: str
    a: float
    b: float
    time: float
    data: float
    width: float
    compute: float
    width_alloc: float
    time_alloc: float
    data_protocol: str
    notes: str

    @property
    def s(self) -> float:
        """Source exponent s = (a − 1)/b."""
        return (self.a - 1.0) / self.b

    def as_dict(self) -> dict:
        """The fields (and ``s``) as a plain dict."""
        d = asdict(self)
        d["s"] = self.s
        return d


# ----------------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------------
def _check_ab(a, b) -> tuple[float, float]:
    a = check_real("a", a, 1.0, None, lo_open=True)
    b = check_real("b", b, 0.0, None, lo_open=True)
    return a, b


def source_exponent(a, b) -> float:
    """Source exponent s = (a − 1)/b: the time exponent of kernel-like learning.

    Parameters
    ----------
    a : float
        Loss-weight exponent, a > 1.
    b : float
        Spectral exponent, b > 0.

    Examples
    --------
    >>> source_exponent(2.0, 2.0)
    0.5
    """
    a, b = _check_ab(a, b)
    return (a - 1.0) / b


# ----------------------------------------------------------------------------------------------
# notation converters
# ----------------------------------------------------------------------------------------------
def from_worschech_rosenow(beta) -> tuple[float, float]:
    r"""(a, b) of Worschech & Rosenow's linear model: a = b = 1 + β.

    Their data covariance has eigenvalues :math:`\lambda_l \propto l^{-(1+\beta)}` (b = 1 + β) and
    the teacher entries are iid N(0, 1), so the initial error per coordinate is O(1) and mode l
    carries loss :math:`\tfrac12\lambda_l\langle D_l^2\rangle \propto l^{-(1+\beta)}` (a = 1 + β).
    The time exponent (a − 1)/b = β/(1 + β) is their linear-regime law (chapter 1).

    Parameters
    ----------
    beta : float
        The paper's spectral exponent, β > 0.

    Examples
    --------
    >>> from_worschech_rosenow(1.0)
    (2.0, 2.0)
    """
    beta = check_real("beta", beta, 0.0, None, lo_open=True)
    return 1.0 + beta, 1.0 + beta


def to_worschech_rosenow(a, b) -> float:
    """β of Worschech & Rosenow for a point on their line a = b (β = b − 1); ``ValueError`` off it.

    Examples
    --------
    >>> to_worschech_rosenow(2.0, 2.0)
    1.0
    """
    a, b = _check_ab(a, b)
    if not math.isclose(a, b, rel_tol=LINE_RTOL):
        raise ValueError(f"a={a!r} is invalid: Worschech & Rosenow's iid teacher lies on the line "
                         f"a = b (got b={b!r}); a general teacher power is not in their notation")
    return b - 1.0


def from_bordelon_atanasov_pehlevan(alpha, beta) -> tuple[float, float]:
    r"""(a, b) from the capacity and source exponents (α, β) of Bordelon, Atanasov & Pehlevan:
    b = α, a = 1 + αβ.

    Their eigenvalues are :math:`\lambda_k \propto k^{-\alpha}` and the source condition puts the
    *tail* power :math:`\sum_{l>k}\lambda_l w_l^{*2} \propto k^{-\alpha\beta}`, so the power per mode
    is :math:`k^{-\alpha\beta-1}`.  Their lazy time exponent χ = β is s = (a − 1)/b.  (The model of
    the feature-learning paper needs α > 1, a trace-class kernel; the converter accepts α > 0.)

    Examples
    --------
    >>> from_bordelon_atanasov_pehlevan(2.0, 0.5)
    (2.0, 2.0)
    """
    alpha = check_real("alpha", alpha, 0.0, None, lo_open=True)
    beta = check_real("beta", beta, 0.0, None, lo_open=True)
    return 1.0 + alpha * beta, alpha


def to_bordelon_atanasov_pehlevan(a, b) -> tuple[float, float]:
    """(α, β) = (b, (a − 1)/b).

    Examples
    --------
    >>> to_bordelon_atanasov_pehlevan(2.0, 2.0)
    (2.0, 0.5)
    """
    a, b = _check_ab(a, b)
    return b, (a - 1.0) / b


def from_kramp_lindner_helias(a, b) -> tuple[float, float]:
    r"""Kramp, Lindner & Helias write the kernel spectrum as :math:`k^{-b}` and the task power
    per mode as :math:`k^{-a}` already: the identity (with validation).

    Examples
    --------
    >>> from_kramp_lindner_helias(1.5, 1.25)
    (1.5, 1.25)
    """
    return _check_ab(a, b)


def to_kramp_lindner_helias(a, b) -> tuple[float, float]:
    """The identity (with validation); see :func:`from_kramp_lindner_helias`."""
    return _check_ab(a, b)


_ETAS = ("fixed", "unstable")


def from_ren_nichani_wu_lee(beta, eta: str = "fixed") -> tuple[float, float]:
    r"""(a, b) of Ren, Nichani, Wu & Lee's additive teacher :math:`a_p \propto p^{-\beta}`.

    The loss weight of direction p is :math:`a_p^2 \propto p^{-2\beta}` (a = 2β).  At a fixed step
    size direction p emerges at :math:`T_p \propto 1/a_p \propto p^{\beta}` (their Thm 2.1; b = β,
    "mode p is learned at time p^b").  With the step size of their Cor. 2.3 ("unstable", η
    scaled with the weakest direction to be learned) :math:`T_p \propto 1/a_p^2 \propto p^{2\beta}`
    (b = 2β = a).  Their laws need β > 1/2 (a > 1).

    Parameters
    ----------
    beta : float
        Teacher-coefficient exponent β_R > 1/2.
    eta : {"fixed", "unstable"}
        Step-size schedule.

    Examples
    --------
    >>> from_ren_nichani_wu_lee(0.8)
    (1.6, 0.8)
    >>> from_ren_nichani_wu_lee(0.8, "unstable")
    (1.6, 1.6)
    """
    beta = check_real("beta", beta, 0.5, None, lo_open=True)
    check_choice("eta", eta, _ETAS)
    return (2.0 * beta, beta) if eta == "fixed" else (2.0 * beta, 2.0 * beta)


def to_ren_nichani_wu_lee(a, b, eta: str = "fixed") -> float:
    """β_R = a/2 for a point on the emergence line (b = a/2 fixed η, b = a unstable η).

    Raises ``ValueError`` off the line: additive emergence ties the learning order to the loss
    weights, so it cannot reach a general (a, b).

    Examples
    --------
    >>> to_ren_nichani_wu_lee(1.6, 0.8)
    0.8
    """
    a, b = _check_ab(a, b)
    check_choice("eta", eta, _ETAS)
    want = a / 2.0 if eta == "fixed" else a
    if not math.isclose(b, want, rel_tol=LINE_RTOL):
        raise ValueError(f"b={b!r} is invalid: additive emergence with {eta} step size needs "
                         f"b = {'a/2' if eta == 'fixed' else 'a'} = {want!r} (a={a!r})")
    return a / 2.0


# ----------------------------------------------------------------------------------------------
# compute-optimal allocation of a sum of power laws
# ----------------------------------------------------------------------------------------------
def compute_optimum(terms) -> tuple[float, float]:
    r"""Compute-optimal exponent of :math:`L(N, t) = \sum_i c_i N^{-p_i} t^{-q_i}` at C = N t.

    With :math:`N = C^x`, :math:`t = C^{1-x}` each term is :math:`C^{-[p_i x + q_i (1-x)]}`; the
    largest term sets the loss, so the optimal exponent is
    :math:`\max_{x\in[0,1]}\min_i [p_i x + q_i(1-x)]`, the maximum of a concave piecewise-linear
    function (attained at an end point or where two terms cross).  Constants :math:`c_i` do not
    enter the exponents.

    Parameters
    ----------
    terms : iterable of (p, q)
        Width and time exponents of each term, p, q >= 0 finite, not both zero.

    Returns
    -------
    (exponent, x) : L* ∝ C^−exponent, N* ∝ C^x (t* ∝ C^(1−x)).

    Examples
    --------
    >>> e, x = compute_optimum([(0.0, 0.5), (1.0, 0.0)])    # t^-1/2 + N^-1
    >>> round(e, 6), round(x, 6)
    (0.333333, 0.333333)
    """
    ts = [(check_real("p", p, 0.0), check_real("q", q, 0.0)) for p, q in terms]
    if not ts:
        raise ValueError("terms=[] is invalid: at least one (p, q) term")
    for p, q in ts:
        if p == 0 and q == 0:
            raise ValueError("terms contains (0, 0), which is invalid: a term must decay in N or t")
    cand = {0.0, 1.0}
    for i in range(len(ts)):
        for j in range(i + 1, len(ts)):
            (p1, q1), (p2, q2) = ts[i], ts[j]
            den = (p1 - q1) - (p2 - q2)
            if den != 0:
                x = (q2 - q1) / den
                if 0 < x < 1:
                    cand.add(x)

    def value(x):
        return min(p * x + q * (1 - x) for p, q in ts)

    best = max(sorted(cand), key=value)
    return float(value(best)), float(best)


# ----------------------------------------------------------------------------------------------
# mechanisms
# ----------------------------------------------------------------------------------------------
def _sgd_noise_exponent(b: float) -> float | None:
    """Decay 2 − 1/b of the online-SGD noise term (b > 1), None for b <= 1."""
    return 2.0 - 1.0 / b if b > 1 else None


def linear_online_sgd(a, b) -> Exponents:
    r"""Linear student trained by online SGD, one fresh sample per step (Worschech & Rosenow's
    linear regime).

    Time α = steps/N: :math:`\varepsilon_g \propto \alpha^{-\min(s,\,2-1/b)}`.  The first branch is
    the mode sum :math:`\sum_k k^{-a}e^{-2\eta\lambda_k\alpha}` (W&R's β/(1 + β) at a = b = 1 + β;
    chapter 1); the second is the online-SGD noise term :math:`\alpha^{-(2-1/b)}` that takes over
    for very easy tasks s > 2 − 1/b (the η² term of the error ODE feeding unlearned modes; the
    "super-easy" class of Bordelon, Atanasov & Pehlevan; our derivation, not simulated).  W&R's own
    teacher (a = b) has s = 1 − 1/b < 2 − 1/b and never reaches it.  Data: one sample per step, so
    the sample exponent is the time exponent.  Width: training only the N leading eigen-modes
    (W&R Sec. 4.3, "trainable parameters") leaves the tail :math:`\sum_{k>N}k^{-a}\propto N^{-(a-1)}`
    (exact projections: no 2b saturation).  Compute C = N α from :func:`compute_optimum`:
    :math:`C^{-(a-1)/(1+b)}`, N* ∝ C^{1/(1+b)} while the first branch holds.

    Parameters
    ----------
    a : float
        Loss-weight exponent, a > 1.
    b : float
        Spectral exponent, b > 0 (for b <= 1 the trace of the spectrum grows with the number of
        modes and a fixed step size is stable only for finitely many modes; the noise branch is
        then left out).

    Examples
    --------
    >>> e = linear_online_sgd(2.0, 2.0)                      # W&R beta = 1
    >>> e.time, e.width, round(e.compute, 4)
    (0.5, 1.0, 0.3333)
    """
    a, b = _check_ab(a, b)
    s = (a - 1.0) / b
    noise = _sgd_noise_exponent(b)
    time = s if noise is None else min(s, noise)
    width = a - 1.0
    comp, x = compute_optimum([(0.0, time), (width, 0.0)])
    notes = ("time: mode sum, s=(a-1)/b (Worschech & Rosenow linear regime, beta/(1+beta) at a=b=1+beta)"
             + ("" if noise is None or s <= noise else f"; SGD-noise branch 2-1/b={noise:.4g} binds "
                "(super-easy, our derivation, not simulated)")
             + ("; b<=1: spectrum not trace class, noise branch omitted" if noise is None else "")
             + "; width: N trainable leading modes (W&R Sec. 4.3), tail a-1")
    return Exponents("linear online SGD", a, b, time, time, width, comp, x, 1.0 - x, "one pass",
                     notes)


def random_features(a, b) -> Exponents:
    r"""Lazy random-feature regression trained by gradient flow (Kramp, Lindner & Helias;
    Bordelon, Atanasov & Pehlevan's kernel limit).

    :math:`L \approx t^{-s} + N^{-m} + P^{-m} + N^{-1}t^{-(1-1/b)}`, s = (a − 1)/b,
    m = min(a − 1, 2b).  The first three terms are the kernel-limit law (time, width and data
    bottlenecks; the saturation at 2b: random projections cannot resolve a mode better than its
    own eigenvalue squared).  The last term is the finite-width transient of the four-term law
    (Bordelon, Atanasov & Pehlevan; Paquette et al.), present for b > 1; it binds at the compute
    optimum for easy tasks s > 1 and turns :math:`C^{-(a-1)/(1+b)}` into :math:`C^{-(a-1)/a}`
    (with N* ∝ C^{(a-b)/a}).  Data: gradient flow to convergence on P samples (many passes), the
    :math:`P^{-m}` bottleneck.

    Parameters
    ----------
    a : float
        a > 1.
    b : float
        b > 0.  For b <= 1 the kernel is not trace class: the random-feature dynamics needs a
        finite number of features, the transient term is left out and the exponents are those of
        the formal two-term law.

    Examples
    --------
    >>> e = random_features(2.0, 2.0)
    >>> e.time, e.width, round(e.compute, 4), round(e.width_alloc, 4)
    (0.5, 1.0, 0.3333, 0.3333)
    >>> random_features(6.0, 2.0).width        # saturated: min(a - 1, 2b) = 4
    4.0
    """
    a, b = _check_ab(a, b)
    s = (a - 1.0) / b
    m = min(a - 1.0, 2.0 * b)
    terms = [(0.0, s), (m, 0.0)]
    if b > 1:
        terms.append((1.0, 1.0 - 1.0 / b))
    comp, x = compute_optimum(terms)
    notes = ("kernel-limit law t^-s + N^-m + P^-m, m=min(a-1,2b) (Bordelon-Atanasov-Pehlevan (B), "
             "Kramp-Lindner-Helias)" + ("; width/data saturated at 2b" if a - 1 > 2 * b else "")
             + ("; easy task s>1: finite-width transient N^-1 t^-(1-1/b) sets the compute optimum "
                "(four-term law)" if b > 1 and s > 1 else "")
             + ("; b<=1: kernel not trace class, formal two-term law" if b <= 1 else ""))
    return Exponents("lazy random features", a, b, s, m, m, comp, x, 1.0 - x, "many passes", notes)


def rich_feature_learning(a, b) -> Exponents:
    r"""Rich (feature-learning) regime of Bordelon, Atanasov & Pehlevan's two-layer linear model.

    Time: χ = 2s/(1 + s) for hard tasks s < 1 (outside the RKHS of the initial kernel), χ = s
    otherwise (their Eq. 10, :math:`\chi(\beta) = \beta\max\{1, 2/(1+\beta)\}` with β = s).  Width:
    unchanged, :math:`N^{-\min(a-1,2b)}` (the projected update keeps A(t) in the row space of
    A(0); chapter 4).  Data: online training, one sample per step at fixed batch, so n^−χ.
    Compute: :math:`t^{-\chi} + N^{-m}` (+ the transient :math:`N^{-1}t^{-(1-1/b)\chi/s}` for
    b > 1, which never binds for s < 1) gives their hard-task row
    :math:`C^{-2(a-1)/(a+b+1)} = C^{-2\alpha\beta/(\alpha(1+\beta)+2)}`,
    N* ∝ C^{2/(a+b+1)}.  For s >= 1 the exponents are the lazy ones (:func:`random_features`).

    Examples
    --------
    >>> e = rich_feature_learning(2.0, 2.0)                  # alpha = 2, beta = 0.5
    >>> round(e.time, 4), round(e.compute, 4)
    (0.6667, 0.4)
    """
    a, b = _check_ab(a, b)
    s = (a - 1.0) / b
    if s >= 1:
        lazy = random_features(a, b)
        return Exponents("rich feature learning", a, b, lazy.time, lazy.time, lazy.width,
                         lazy.compute, lazy.width_alloc, lazy.time_alloc, "one pass",
                         "s>=1 (easy task, target inside the RKHS): feature learning leaves the "
                         "exponents lazy (Bordelon-Atanasov-Pehlevan (A) Eq. 10); " + lazy.notes)
    chi = 2.0 * s / (1.0 + s)
    m = min(a - 1.0, 2.0 * b)
    terms = [(0.0, chi), (m, 0.0)]
    if b > 1:
        terms.append((1.0, (1.0 - 1.0 / b) * chi / s))
    comp, x = compute_optimum(terms)
    return Exponents("rich feature learning", a, b, chi, chi, m, comp, x, 1.0 - x, "one pass",
                     "hard task s<1: chi=2s/(1+s) (Bordelon-Atanasov-Pehlevan (A) Eq. 10); width "
                     "bottleneck unchanged; compute 2(a-1)/(a+b+1) (their hard rich row)")


def additive_emergence(a, b, eta: str = "fixed") -> Exponents:
    r"""Additive emergence (Ren, Nichani, Wu & Lee): each teacher direction is learned in a sharp
    transition at its own time, and the sum of the steps is a power law.

    Exists only on the line b = a/2 (fixed step size: :math:`T_p \propto 1/a_p`) or b = a
    ("unstable" step size of their Cor. 2.3: :math:`T_p \propto 1/a_p^2`); a = 2β_R > 1.  With
    s = (a − 1)/b: time s (fixed η: :math:`(2\beta_R-1)/\beta_R`; unstable:
    :math:`(2\beta_R-1)/(2\beta_R)`), width (student neurons) a − 1 = 2β_R − 1 (each neuron learns
    one direction; no saturation), compute :math:`C^{-(a-1)/(1+b)}` with
    :math:`m^* \propto C^{1/(1+b)}` (fixed η: their p. 8, :math:`C^{-(2\beta_R-1)/(1+\beta_R)}`;
    unstable η: our derivation).  Data: online SGD, one sample per step, so the sample exponent is
    the time exponent in steps (the unstable one is their Cor. 2.3).  No finite-width transient:
    unused neurons stay tiny (their Thm 2.1 (a)).

    Raises
    ------
    ValueError
        Off the line, or a <= 1 (β_R <= 1/2: no scaling law, the loss stays O(1) until a fixed
        fraction of all directions is learned).

    Examples
    --------
    >>> e = additive_emergence(*from_ren_nichani_wu_lee(0.8))
    >>> round(e.time, 4), round(e.width, 4), round(e.compute, 4)
    (0.75, 0.6, 0.3333)
    """
    check_choice("eta", eta, _ETAS)
    a = check_real("a", a, 1.0, None, lo_open=True)
    b = check_real("b", b, 0.0, None, lo_open=True)
    beta_r = to_ren_nichani_wu_lee(a, b, eta)
    s = (a - 1.0) / b
    comp, x = compute_optimum([(0.0, s), (a - 1.0, 0.0)])
    src = ("Ren et al. Prop. 2.2 / p. 8 (time, width, compute)" if eta == "fixed"
           else "Ren et al. Cor. 2.3 (sample exponent); width as Prop. 2.2; compute our derivation")
    return Exponents(f"additive emergence ({eta} eta)", a, b, s, s, a - 1.0, comp, x, 1.0 - x,
                     "one pass", f"beta_R={beta_r:.4g}; on the line b={'a/2' if eta == 'fixed' else 'a'}; "
                     + src)


#: The mechanisms by short name (for :func:`tabulate`).
MECHANISMS = {
    "linear": linear_online_sgd,
    "lazy": random_features,
    "rich": rich_feature_learning,
    "emergence": lambda a, b: additive_emergence(a, b, "fixed"),
    "emergence-unstable": lambda a, b: additive_emergence(a, b, "unstable"),
}


def all_mechanisms(a, b) -> list[Exponents]:
    """Every mechanism defined at (a, b) (the emergence variants only on their lines).

    Examples
    --------
    >>> [e.mechanism for e in all_mechanisms(2.0, 2.0)]      # doctest: +NORMALIZE_WHITESPACE
    ['linear online SGD', 'lazy random features', 'rich feature learning',
     'additive emergence (unstable eta)']
    """
    a, b = _check_ab(a, b)
    out = []
    for f in MECHANISMS.values():
        try:
            out.append(f(a, b))
        except ValueError:
            continue
    return out


def tabulate(points, mechanisms=None) -> list[dict]:
    """Exponents of the mechanisms over a grid of points (a, b), one dict per (point, mechanism).

    Parameters
    ----------
    points : iterable of (a, b)
    mechanisms : list of str, optional
        Keys of :data:`MECHANISMS` (default all).  A mechanism not defined at a point (emergence
        off its line) is skipped.

    Returns
    -------
    list of dict with the fields of :class:`Exponents` plus ``s``.

    Examples
    --------
    >>> rows = tabulate([(2.0, 2.0), (4.0, 2.0)], ["lazy", "emergence"])
    >>> [(r["mechanism"], r["a"], round(r["compute"], 3)) for r in rows]
    [('lazy random features', 2.0, 0.333), ('lazy random features', 4.0, 0.75), ('additive emergence (fixed eta)', 4.0, 1.0)]
    """
    names = list(MECHANISMS) if mechanisms is None else list(mechanisms)
    for n in names:
        check_choice("mechanisms", n, tuple(MECHANISMS))
    rows = []
    for a, b in points:
        a, b = _check_ab(a, b)
        for n in names:
            try:
                e = MECHANISMS[n](a, b)
            except ValueError:
                if n.startswith("emergence"):
                    continue
                raise
            rows.append(e.as_dict())
    return rows


def notation_map() -> list[dict]:
    """The notation of each paper and its (a, b): one dict per paper (for the chapter's table).

    Examples
    --------
    >>> [r["paper"] for r in notation_map()][:2]
    ['Worschech & Rosenow', 'Bordelon, Atanasov & Pehlevan']
    """
    return [
        dict(paper="Worschech & Rosenow", key="worschech2025analyzing",
             notation="λ_l ∝ l^−(1+β), teacher entries iid N(0,1)", a="1 + β", b="1 + β",
             domain="β > 0 (on the line a = b)", example=from_worschech_rosenow(1.0),
             example_params="β = 1"),
        dict(paper="Bordelon, Atanasov & Pehlevan", key="bordelon2025feature",
             notation="λ_k ∝ k^−α, tail power Σ_{l>k} λ_l w_l² ∝ k^−αβ", a="1 + αβ", b="α",
             domain="α > 0 (α > 1 for a trace-class kernel), β > 0",
             example=from_bordelon_atanasov_pehlevan(2.0, 0.5), example_params="α = 2, β = 0.5"),
        dict(paper="Kramp, Lindner & Helias", key="kramp2026dynamics",
             notation="λ_k ∝ k^−b, task power per mode ∝ k^−a", a="a", b="b",
             domain="a > 1, b > 0", example=from_kramp_lindner_helias(2.0, 2.0),
             example_params="a = 2, b = 2"),
        dict(paper="Ren, Nichani, Wu & Lee (fixed η)", key="ren2025emergence",
             notation="a_p ∝ p^−β, T_p ∝ 1/a_p", a="2β", b="β", domain="β > 1/2 (on the line b = a/2)",
             example=from_ren_nichani_wu_lee(2.0), example_params="β = 2"),
        dict(paper="Ren, Nichani, Wu & Lee (unstable η)", key="ren2025emergence",
             notation="a_p ∝ p^−β, T_p ∝ 1/a_p²", a="2β", b="2β", domain="β > 1/2 (on the line b = a)",
             example=from_ren_nichani_wu_lee(1.0, "unstable"), example_params="β = 1"),
    ]


# ----------------------------------------------------------------------------------------------
# measured exponents (the chapter's simulations)
# ----------------------------------------------------------------------------------------------
def decay_exponents(t, losses, window=None) -> "np.ndarray":
    r"""Measured decay exponent of each loss curve: minus the slope of a straight-line fit of
    :math:`\ln L` against :math:`\ln t` (:func:`scalinglaws.analysis.fits.fit_power_law`) inside
    ``window`` = (lo, hi) (default: all points), one per row of ``losses`` (per seed, draw or
    initialisation).  Positive for a decaying loss, in the convention of :class:`Exponents`.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.geomspace(1.0, 100.0, 9)
    >>> decay_exponents(t, [t ** -0.5, 2 * t ** -0.75]).round(6).tolist()
    [0.5, 0.75]
    """
    import numpy as np

    from scalinglaws.analysis.fits import fit_power_law
    losses = np.asarray(losses, dtype=float)
    if losses.ndim != 2:
        raise ValueError(f"losses has shape {losses.shape}, which is invalid: (n_curves, n_times)")
    return np.array([-fit_power_law(t, L, window).slope for L in losses], dtype=float)


def spread(x) -> tuple[float, float]:
    """Mean and standard error (ddof = 1) of measured exponents over seeds; the standard error is
    NaN for a single value.

    Examples
    --------
    >>> m, se = spread([0.4, 0.5, 0.6])
    >>> round(m, 12), round(se, 6)
    (0.5, 0.057735)
    """
    import numpy as np
    x = np.asarray(x, dtype=float)
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")
