"""The chapters' computations as library functions, cached in the results store.

Every expensive figure of the book is an *experiment*: a module-level function of the chapter's
parameters (keyword arguments: numbers, strings, lists) that returns Curves, arrays and scalars.
A chapter cell only calls it, plots and checks.  Experiments run through :func:`run` (a grid of
parameter sets, on local processes or a Dask cluster) or :func:`call` (one parameter set), both
backed by :func:`scalinglaws.book.sweep.sweep`, whose cache is the **results store**:

* location: ``results/store/`` of the book (``$SCALINGLAWS_STORE`` overrides; ``off`` disables
  caching).  One file per grid point, keyed by the SHA-256 of the function, its parameters and the
  compiled code of every library module the function can reach plus the Python/NumPy/SciPy/Numba
  versions -- a change in one module re-runs only the experiments that import it.  Each entry
  keeps its parameters, key, code hash, versions, machine, creation time and run time
  (:func:`entries` lists them);
* ``python3 tasks.py book`` fills it while it builds the book at its defaults (paper size) and
  ``python3 tasks.py store`` prunes the entries that build did not use; the store is committed;
* store-only mode (``$SCALINGLAWS_STORE_ONLY=1``, set by the test suite when it builds the book at
  its defaults): a missing or stale entry raises :class:`StoreMissError` naming the experiment,
  the parameters and the command that refreshes the store, instead of computing;
* a cold run (``$SCALINGLAWS_STORE`` pointing to an empty folder) recomputes everything.

Progress: :func:`run` shows one bar per experiment over its grid points (with the time left) in a
terminal and in Jupyter; set ``DASK_SCHEDULER_ADDRESS`` (or pass ``client=``) to send the grid to
a Dask cluster.

Per-chapter experiments live in the modules of this package (``ch01_linear``, ...).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from scalinglaws.book.sweep import StoreMissError, read_entry, sweep

__all__ = ["run", "call", "store_dir", "store_only", "entries", "StoreMissError", "USED_LOG_ENV"]

#: Environment variable naming a file to which every store key a build uses is appended
#: (``tasks.py store`` prunes the others).
USED_LOG_ENV = "SCALINGLAWS_STORE_USED"


def _book_root() -> Path | None:
    for start in (Path.cwd(), Path(__file__).resolve()):
        for q in (start, *start.parents):
            if (q / "_toc.yml").exists():
                return q
    return None


def store_dir() -> Path | None:
    """The results store: ``$SCALINGLAWS_STORE`` (``off``/``0``: no caching) or
    ``<book>/results/store``; None when caching is off or no book is found."""
    env = os.environ.get("SCALINGLAWS_STORE")
    if env is not None:
        return None if env.strip().lower() in ("", "0", "off", "none", "false") else Path(env)
    root = _book_root()
    return None if root is None else root / "results" / "store"


def store_only() -> bool:
    """Whether a missing stored result raises instead of being computed
    (``$SCALINGLAWS_STORE_ONLY`` = 1/true)."""
    return os.environ.get("SCALINGLAWS_STORE_ONLY", "").strip().lower() in ("1", "true", "yes")


def _log_key(key: str) -> None:
    log = os.environ.get(USED_LOG_ENV)
    if log:
        with open(log, "a") as f:
            f.write(key + "\n")


def run(func: Callable, grid, *, desc: str | None = None, max_workers: int | None = None,
        client=None, **kw) -> list:
    """Evaluate the experiment ``func`` on every point of ``grid`` (dict of lists or list of
    dicts, :func:`scalinglaws.book.sweep.grid_points`) through the results store; results in grid
    order.  ``max_workers``: local processes (default: all cores; 0 = in this process);
    ``client``: a ``dask.distributed.Client``."""
    d = store_dir()
    return sweep(func, grid, cache_dir=d, client=client, max_workers=max_workers,
                 desc=desc or f"experiment {getattr(func, '__qualname__', func)}",
                 missing="raise" if (store_only() and d is not None) else "compute",
                 on_key=_log_key, **kw)


def call(func: Callable, **params: Any):
    """One evaluation ``func(**params)`` through the results store (in this process)."""
    return run(func, [params], max_workers=0)[0]


def entries(directory: str | Path | None = None) -> list[dict]:
    """Metadata of every entry of the store (without the results): key, function, module,
    parameters, code hash, seconds, created, machine, versions, file size."""
    d = Path(directory) if directory is not None else store_dir()
    out = []
    if d is None or not d.is_dir():
        return out
    for p in sorted(d.glob("*.pkl")):
        e = read_entry(p)
        if e is None:
            continue
        meta = {k: v for k, v in e.items() if k != "result"}
        meta["bytes"] = p.stat().st_size
        out.append(meta)
    return out
