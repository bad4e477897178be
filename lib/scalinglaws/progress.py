"""Progress bars that switch themselves off in tests and non-interactive runs.

A bar is shown only when stderr is a terminal and ``SCALINGLAWS_PROGRESS`` is not ``0``; setting
``SCALINGLAWS_PROGRESS=1`` forces it on (e.g. in Jupyter).
"""

from __future__ import annotations

import os
import sys

from tqdm import tqdm  # plain text bars: tqdm.auto warns when ipywidgets is absent

__all__ = ["progress", "progress_enabled"]


def progress_enabled() -> bool:
    """Whether progress bars are shown: ``SCALINGLAWS_PROGRESS`` (``0``/``false`` off, anything else
    on) if set; off under pytest; otherwise on when stderr is a terminal (so executed notebooks and
    the built book carry no progress-bar output)."""
    env = os.environ.get("SCALINGLAWS_PROGRESS")
    if env is not None:
        return env not in ("0", "", "false", "False")
    if "PYTEST_CURRENT_TEST" in os.environ:
        return False
    try:
        return sys.stderr.isatty()
    except Exception:  # pragma: no cover
        return False


def progress(iterable=None, **kw):
    """``tqdm`` with ``disable`` set from :func:`~scalinglaws.progress.progress_enabled` unless given explicitly."""
    kw.setdefault("disable", not progress_enabled())
    kw.setdefault("leave", False)
    return tqdm(iterable, **kw)
