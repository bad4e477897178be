"""One house style for every figure of the book.

Theory is drawn as lines, simulations as markers with error bars, log-log axes where scaling is
the point, and colours from a colour-blind-safe palette (Okabe & Ito 2008).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["PALETTE", "use_style", "color", "theory", "simulation", "loglog", "figure", "panel",
           "plot_curve"]

#: Okabe--Ito colour-blind-safe palette (black last).
PALETTE: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
                            "#F0E442", "#000000")


def use_style() -> None:
    """Apply the house rcParams (call once per chapter)."""
    mpl.rcParams.update({
        "figure.figsize": (6.4, 4.2),
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "axes.prop_cycle": mpl.cycler(color=PALETTE),
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
        "legend.fontsize": 11,
        "font.size": 13,
        "axes.titlesize": 13,
        "axes.labelsize": 13,
        "xtick.labelsize": 11.5,
        "ytick.labelsize": 11.5,
        "lines.linewidth": 1.8,
        "lines.markersize": 5,
    })


def color(i: int) -> str:
    """The i-th palette colour (cycling)."""
    return PALETTE[i % len(PALETTE)]


#: Widest figure (inches) the book shows without shrinking its fonts much: the text column is
#: about 7.5 in at the book's page width, and a wider figure is scaled down to fit it.
MAX_WIDTH = 10.0


def figure(ncols: int = 1, nrows: int = 1, width: float = 6.4, height: float = 4.2, **kw):
    """A figure with ``nrows x ncols`` axes of the house size per panel.

    Side-by-side panels are narrowed (keeping their aspect ratio) so that the whole figure is at
    most ``MAX_WIDTH`` inches wide: a wider figure would be shrunk to the page width and its
    labels would become hard to read.  Panels that need more room should be stacked (``nrows``).
    """
    if ncols * width > MAX_WIDTH:
        scale = MAX_WIDTH / (ncols * width)
        width, height = width * scale, max(height * scale, 0.62 * height)
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False,
                        constrained_layout=True, **kw)


def panel(width: float = 6.4, height: float = 4.2, **kw):
    """One-panel figure in the house size: returns ``(fig, ax)`` with a single Axes."""
    fig, axs = figure(1, 1, width, height, **kw)
    return fig, axs[0, 0]


def _next_index(ax) -> int:
    """Index of the next palette colour on ``ax``: one per theory line / simulation series drawn."""
    owned = set()
    for c in ax.containers:
        for part in getattr(c, "lines", ()) or ():
            owned.update(part if isinstance(part, (tuple, list)) else (part,))
    return len(ax.containers) + sum(1 for line in ax.lines if line not in owned)


def theory(ax, x, y, label: str | None = None, i: int | None = None, **kw):
    """Draw a theory curve (solid line).  ``i``: palette index (default: the next unused one)."""
    kw.setdefault("color", color(_next_index(ax) if i is None else i))
    kw.setdefault("lw", 1.8)
    if "ls" not in kw and "linestyle" not in kw:
        kw["ls"] = "-"
    return ax.plot(np.asarray(x), np.asarray(y), label=label, **kw)


def simulation(ax, x, y, yerr=None, label: str | None = None, i: int | None = None, **kw):
    """Draw simulation points (open markers with error bars, e.g. standard errors over seeds).

    ``i``: palette index (default: the next unused one).  A line style (``ls=``) joins the
    markers without matplotlib's "redundantly defined" warning."""
    kw.setdefault("color", color(_next_index(ax) if i is None else i))
    if "ls" in kw or "linestyle" in kw:
        kw.setdefault("marker", "o")
    else:
        kw.setdefault("fmt", "o")
    kw.setdefault("ms", 4.5)
    kw.setdefault("mfc", "white")
    kw.setdefault("capsize", 2)
    kw.setdefault("elinewidth", 1)
    return ax.errorbar(np.asarray(x), np.asarray(y), yerr=None if yerr is None else np.asarray(yerr),
                       label=label, **kw)


def loglog(ax, xlabel: str | None = None, ylabel: str | None = None,
           title: str | None = None) -> None:
    """Log-log axes with labels."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)


def plot_curve(ax, curve, kind: str | None = None, label: str | None = None, i: int | None = None,
               **kw):
    """Draw a :class:`~scalinglaws.result.Curve`: a theory as a line, a simulation as markers with
    its standard errors.  ``kind`` defaults to ``"simulation"`` when the curve has a standard
    error and ``"theory"`` otherwise; points with t <= 0 are left out (log axes)."""
    from scalinglaws.result import Curve
    if not isinstance(curve, Curve):
        raise TypeError(f"curve must be a scalinglaws Curve, got {type(curve).__name__}")
    if kind is None:
        kind = "simulation" if curve.sem is not None else "theory"
    if kind not in ("theory", "simulation"):
        raise ValueError(f"kind={kind!r} is invalid: 'theory' or 'simulation'")
    m = curve.t > 0
    label = curve.label or None if label is None else label
    if kind == "theory":
        return theory(ax, curve.t[m], curve.loss[m], label=label, i=i, **kw)
    yerr = None if curve.sem is None else curve.sem[m]
    return simulation(ax, curve.t[m], curve.loss[m], yerr=yerr, label=label, i=i, **kw)
