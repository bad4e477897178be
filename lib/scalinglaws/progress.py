"""Progress bars that show in a terminal and in Jupyter, and switch themselves off in tests and
executed (rendered) notebooks.

A bar is shown in an interactive Jupyter kernel and when stderr is a terminal;
``SCALINGLAWS_PROGRESS=0`` turns bars off and ``=1`` on whatever the context.  The book's builds
(``tasks.py book``, the chapter runner) set ``0`` so that no page carries a bar.
"""

from __future__ import annotations

import os
import sys

from tqdm import tqdm  # plain text bars: tqdm.auto warns when ipywidgets is absent

__all__ = ["progress", "progress_enabled"]


def progress_enabled() -> bool:
    """Whether progress bars are shown: ``SCALINGLAWS_PROGRESS`` (``0``/``false`` off, anything else
    on) if set; off under pytest; on in a Jupyter kernel; otherwise on when stderr is a terminal."""
    env = os.environ.get("SCALINGLAWS_PROGRESS")
    if env is not None:
        return env not in ("0", "", "false", "False")
    if "PYTEST_CURRENT_TEST" in os.environ:
        return False
    shell = sys.modules.get("IPython")
    if shell is not None and "ipykernel" in sys.modules:
        try:
            ip = shell.get_ipython()
            if ip is not None and type(ip).__name__ == "ZMQInteractiveShell":
                return True                      # a Jupyter kernel: bars print to the cell's stderr
        except Exception:  # pragma: no cover
            pass
    try:
        return sys.stderr.isatty()
    except Exception:  # pragma: no cover
        return False


def progress(iterable=None, **kw):
    """``tqdm`` with ``disable`` set from :func:`~scalinglaws.progress.progress_enabled` unless given explicitly."""
    kw.setdefault("disable", not progress_enabled())
    kw.setdefault("leave", False)
    return tqdm(iterable, **kw)
