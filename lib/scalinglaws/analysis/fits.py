"""Analysis of learning curves: power-law fits, local slopes, plateau and transition detection.

All fits state their window explicitly; an exponent is returned with its standard error from the
least-squares fit of log y against log x (the residual scatter, not a statistical error of the
underlying data, which the caller must add when the curve itself is noisy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from scalinglaws.errors import check_array, check_choice, check_real, require

__all__ = ["PowerLawFit", "fit_power_law", "local_slope", "first_crossing"]


@dataclass(frozen=True)
class PowerLawFit:
    """Result of a straight-line fit of ``log y = log A + slope * log x`` on ``[lo, hi]``."""

    slope: float
    slope_se: float
    amplitude: float
    lo: float
    hi: float
    npoints: int

    def __call__(self, x):
        return self.amplitude * np.asarray(x, dtype=float) ** self.slope


def fit_power_law(x, y, window: tuple[float, float] | None = None) -> PowerLawFit:
    """Fit ``y = A x**slope`` by least squares in log-log coordinates over ``window``.

    Parameters
    ----------
    x, y : array_like
        Positive data; points with non-positive or non-finite y are ignored.
    window : (lo, hi), optional
        Inclusive range of x used for the fit (default: all points).

    Raises
    ------
    ValueError
        If fewer than 3 usable points lie in the window.
    """
    x = check_array("x", x, finite=False)
    y = check_array("y", y, finite=False)
    if x.shape != y.shape:
        raise ValueError(f"y=shape {y.shape} is invalid: x and y must have the same shape, got "
                         f"{x.shape} and {y.shape}")
    if window is None:
        lo, hi = (float(np.min(x)), float(np.max(x))) if x.size else (0.0, 0.0)
    else:
        require(isinstance(window, (tuple, list, np.ndarray)) and len(window) == 2, "window",
                window, "a pair (lo, hi)")
        lo, hi = check_real("window[0]", window[0]), check_real("window[1]", window[1])
    if not lo < hi:
        raise ValueError(f"window={window!r} is invalid: must satisfy lo < hi")
    m = (x >= lo) & (x <= hi) & np.isfinite(y) & (y > 0) & (x > 0)
    if m.sum() < 3:
        raise ValueError(f"need at least 3 positive points in window {window!r}, got {int(m.sum())}")
    res = stats.linregress(np.log(x[m]), np.log(y[m]))
    return PowerLawFit(float(res.slope), float(res.stderr), float(np.exp(res.intercept)),
                       float(lo), float(hi), int(m.sum()))


def local_slope(x, y):
    """Local exponent ``d log y / d log x`` by centred differences on a (log-spaced) grid.

    Accepts the library's own output: points with ``x <= 0`` or ``y <= 0`` (a grid that starts at
    t = 0, a loss that reached zero) are skipped and get NaN, without warnings; the slope at the
    other points is computed from the positive points only.  Fewer than 2 positive points raise.

    >>> np.round(local_slope([0.0, 1.0, 10.0, 100.0], [1.0, 1.0, 0.1, 0.01]), 12).tolist()
    [nan, -1.0, -1.0, -1.0]
    """
    x = check_array("x", x, finite=False, min_size=2)
    y = check_array("y", y, finite=False)
    require(x.shape == y.shape, "y", f"shape {y.shape}", f"the shape of x {x.shape}")
    ok = (x > 0) & (y > 0) & np.isfinite(x) & np.isfinite(y)
    require(int(ok.sum()) >= 2, "x, y", f"{int(ok.sum())} points with x > 0 and y > 0",
            "at least 2 such points")
    out = np.full(x.shape, np.nan)
    out[ok] = np.gradient(np.log(y[ok]), np.log(x[ok]))
    return out


def first_crossing(t, y, level: float, direction: str = "down", scale: str = "log") -> float:
    """First time at which ``y`` crosses ``level``, interpolated between the two bracketing points.

    ``direction="down"`` finds the first ``y <= level``, ``"up"`` the first ``y >= level``.
    ``scale="log"`` interpolates linearly in log t (where both times are positive, else linearly
    in t); ``scale="linear"`` linearly in t.  Returns ``t[0]`` if the first point already
    crosses and ``nan`` if there is no crossing.  The one crossing routine of the library (plateau
    escapes, the toy curve's crossings, emergence times use it).

    >>> first_crossing([1.0, 2.0, 3.0], [1.0, 0.6, 0.2], 0.4, scale="linear")
    2.5
    """
    t = check_array("t", t, finite=False)
    y = check_array("y", y, finite=False)
    require(t.shape == y.shape, "y", f"shape {y.shape}", f"the shape of t {t.shape}")
    level = check_real("level", level)
    check_choice("direction", direction, ("down", "up"))
    check_choice("scale", scale, ("log", "linear"))
    hit = y <= level if direction == "down" else y >= level
    idx = np.flatnonzero(hit)
    if idx.size == 0:
        return float("nan")
    i = int(idx[0])
    if i == 0:
        return float(t[0])
    y0, y1 = y[i - 1], y[i]
    f = (level - y0) / (y1 - y0) if y1 != y0 else 1.0
    if scale == "log" and t[i - 1] > 0 and t[i] > 0:
        return float(np.exp(np.log(t[i - 1]) + f * (np.log(t[i]) - np.log(t[i - 1]))))
    return float(t[i - 1] + f * (t[i] - t[i - 1]))
