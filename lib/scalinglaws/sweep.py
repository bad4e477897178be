"""Map a function over a parameter grid, cached on disk, on local processes or a Dask cluster.

* **Grid**: a dict ``{name: [values, ...]}`` (Cartesian product, last key fastest) or a list of
  parameter dicts; the function is called as ``func(**params)`` and must be importable
  (a module-level function) so worker processes can unpickle it.
* **Executors**: local processes (``concurrent.futures.ProcessPoolExecutor``) by default;
  a ``dask.distributed`` ``Client`` when one is passed or when the standard
  environment variable ``DASK_SCHEDULER_ADDRESS`` names a scheduler.  ``max_workers=0`` runs
  serially in this process (debugging).  No home-made scheduling.
* **Cache**: one pickle file per grid point in ``cache_dir``, named by the SHA-256 of
  (function module + qualified name, the function's source, canonical JSON of the parameters,
  :func:`dependency_hash` of the function).  Each file is written by the driver as soon as its task finishes, to a
  temporary file in the same directory and moved into place with ``os.replace`` (atomic), so
  an interrupted sweep resumes without recomputing anything that finished, and a partly written
  file is never read.  Any change to the library's source changes the hash, so stale entries are
  ignored (they stay on disk until :func:`clear_stale` removes them).
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import inspect
import itertools
import json
import os
import pickle
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import require
from .progress import progress

__all__ = ["sweep", "grid_points", "library_hash", "dependency_hash", "module_dependencies", "cache_key",
           "clear_stale"]

_LIB_DIR = Path(__file__).resolve().parent


def library_hash(root: str | Path | None = None) -> str:
    """SHA-256 of every ``*.py`` file under ``root`` (default: the installed ``scalinglaws``
    package), over sorted relative paths and file contents."""
    root = Path(root) if root is not None else _LIB_DIR
    require(root.is_dir(), "root", str(root), "an existing directory")
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        if "__pycache__" in p.parts:
            continue
        h.update(p.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def module_dependencies(module: str, root: str | Path | None = None) -> list[str]:
    """Modules of the package at ``root`` (default: ``scalinglaws``) that ``module`` imports,
    transitively, including itself and the package ``__init__``; sorted dotted names.

    Read from the ``import`` statements of the source (anywhere in a file, so imports inside
    functions count); both relative (``from .ode import rhs``, ``from . import ode``) and absolute
    (``scalinglaws.ode``) forms are followed.  Only single-level packages (the layout of
    ``scalinglaws``) are resolved.
    """
    root = Path(root) if root is not None else _LIB_DIR
    pkg = root.name
    require(module == pkg or module.startswith(pkg + "."), "module", module,
            f"a module of the package {pkg!r}")

    file_of = lambda name: _file_of(root, name)  # noqa: E731

    require(file_of(module) is not None, "module", module, f"a module file under {root}")
    seen: set[str] = set()
    todo = [module, pkg]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        tree = ast.parse(file_of(name).read_text())
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level == 1:
                    base = pkg + ("." + node.module if node.module else "")
                elif node.level == 0 and node.module and (node.module == pkg
                                                           or node.module.startswith(pkg + ".")):
                    base = node.module
                else:
                    continue
                targets.append(base)
                targets += [f"{base}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets += [a.name for a in node.names if a.name.startswith(pkg + ".")]
            todo += [t for t in targets if t not in seen and file_of(t) is not None]
    return sorted(seen)


def dependency_hash(func: Callable, root: str | Path | None = None) -> str:
    """Cache hash of the library code ``func`` can reach: SHA-256 of the files of
    :func:`module_dependencies` of its module when that module belongs to the package, otherwise
    :func:`library_hash` of the whole package."""
    return _module_hash(getattr(func, "__module__", None) or "", root)


def _file_of(root: Path, name: str) -> Path | None:
    """Source file of the dotted module ``name`` in the package at ``root`` (None if absent)."""
    pkg = root.name
    if name == pkg:
        return root / "__init__.py"
    if not name.startswith(pkg + "."):
        return None
    f = root / (name[len(pkg) + 1:].replace(".", "/") + ".py")
    return f if f.is_file() else None


def _module_hash(module: str, root: str | Path | None = None) -> str:
    root = Path(root) if root is not None else _LIB_DIR
    if _file_of(root, module) is None:         # not a module of the package: hash all of it
        return library_hash(root)
    h = hashlib.sha256(b"deps\0")
    for name in module_dependencies(module, root):
        h.update(name.encode())
        h.update(b"\0")
        h.update(_file_of(root, name).read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def grid_points(grid) -> list[dict]:
    """Expand a grid (dict of lists -> Cartesian product, or list of dicts) into a list of dicts."""
    if isinstance(grid, dict):
        require(len(grid) > 0, "grid", grid, "a non-empty dict of lists or a list of dicts")
        for k, v in grid.items():
            require(isinstance(k, str), "grid", f"key {k!r}", "string parameter names")
            require(isinstance(v, (list, tuple, range, np.ndarray)) and len(v) > 0, f"grid[{k!r}]",
                    v, "a non-empty list of values")
        keys = list(grid)
        return [dict(zip(keys, vals)) for vals in itertools.product(*(list(grid[k]) for k in keys))]
    require(isinstance(grid, (list, tuple)) and len(grid) > 0 and
            all(isinstance(p, dict) for p in grid), "grid", type(grid).__name__,
            "a non-empty dict of lists or a list of dicts")
    return [dict(p) for p in grid]


def _canonical(obj: Any):
    """JSON-able canonical form of a parameter value (raises ValueError if none is known)."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return repr(obj)  # exact round-trip representation
    if isinstance(obj, np.generic):
        return _canonical(obj.item())
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": [str(obj.dtype), list(obj.shape),
                                hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest()]}
    if isinstance(obj, (list, tuple)):
        return [type(obj).__name__, [_canonical(x) for x in obj]]
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"__type__": type(obj).__qualname__,
                **{f.name: _canonical(getattr(obj, f.name)) for f in dataclasses.fields(obj)}}
    if hasattr(obj, "name") and type(obj).__module__.startswith("scalinglaws"):
        return {"__type__": type(obj).__qualname__, "name": obj.name}  # e.g. activations
    raise ValueError(f"sweep parameter value {obj!r} of type {type(obj).__name__} has no canonical "
                     "form for the cache key: use numbers, strings, lists, dicts, arrays or "
                     "dataclasses")


def _func_id(func: Callable) -> dict:
    try:
        src = inspect.getsource(func)
    except (OSError, TypeError):
        src = ""
    return {"module": getattr(func, "__module__", "?"),
            "name": getattr(func, "__qualname__", repr(func)),
            "source": hashlib.sha256(src.encode()).hexdigest()}


def cache_key(func: Callable, params: dict, code_hash: str) -> str:
    """SHA-256 hex key of (function identity and source, canonical parameters, library hash)."""
    payload = {"func": _func_id(func), "params": _canonical(params), "code": code_hash}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _write_atomic(path: Path, obj: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _read(path: Path, key: str):
    """Cached result or a sentinel when missing/unreadable/mismatched."""
    try:
        with open(path, "rb") as f:
            entry = pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        return _MISSING
    if not isinstance(entry, dict) or entry.get("key") != key:
        return _MISSING
    return entry["result"]


_MISSING = object()


def _call(func, params):
    return func(**params)


def sweep(func: Callable, grid, *, cache_dir: str | Path | None = None, client=None,
          max_workers: int | None = None, code_hash: str | None = None,
          show_progress: bool = True, desc: str | None = None) -> list:
    """Evaluate ``func(**params)`` for every point of ``grid``; return results in grid order.

    Parameters
    ----------
    func : callable
        A module-level (picklable) function of keyword arguments.
    grid : dict of lists or list of dicts
        See :func:`grid_points`.
    cache_dir : path, optional
        Directory of the on-disk cache (created if needed); ``None`` disables caching.
    client : distributed.Client, optional
        Run on this Dask cluster.  If ``None`` and ``DASK_SCHEDULER_ADDRESS`` is set, a client
        connected to that scheduler is used; otherwise local processes.
    max_workers : int, optional
        Local processes (default: number of CPUs); ``0`` = serial, in this process.
    code_hash : str, optional
        Library hash used in the cache key (default :func:`dependency_hash` of ``func``).
    show_progress : bool
        tqdm bar over grid points (off in tests / non-interactive runs).

    Returns
    -------
    list
        ``[func(**p) for p in grid_points(grid)]``, from the cache where available.
    """
    require(callable(func), "func", func, "a callable")
    points = grid_points(grid)
    require(max_workers is None or (isinstance(max_workers, int) and max_workers >= 0),
            "max_workers", max_workers, "None or an integer >= 0")
    code_hash = dependency_hash(func) if code_hash is None else str(code_hash)
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir)
        cache.mkdir(parents=True, exist_ok=True)
    keys = [cache_key(func, p, code_hash) for p in points]   # validates every parameter first
    results: list = [_MISSING] * len(points)
    todo = []
    for i, k in enumerate(keys):
        if cache is not None:
            results[i] = _read(cache / f"{k}.pkl", k)
        if results[i] is _MISSING:
            todo.append(i)

    bar = progress(total=len(points), initial=len(points) - len(todo),
                   desc=desc or f"sweep {getattr(func, '__name__', 'func')}",
                   **({} if show_progress else {"disable": True}))

    def done(i, res):
        results[i] = res
        if cache is not None:
            _write_atomic(cache / f"{keys[i]}.pkl",
                          {"key": keys[i], "params": points[i], "code_hash": code_hash,
                           "func": _func_id(func)["name"],
                           "module": getattr(func, "__module__", None), "result": res})
        bar.update(1)

    try:
        if todo:
            if client is None and os.environ.get("DASK_SCHEDULER_ADDRESS"):
                from distributed import Client
                with Client(os.environ["DASK_SCHEDULER_ADDRESS"]) as c:
                    _run_dask(c, func, points, todo, done)
            elif client is not None:
                _run_dask(client, func, points, todo, done)
            elif max_workers == 0:
                for i in todo:
                    done(i, func(**points[i]))
            else:
                with ProcessPoolExecutor(max_workers=max_workers) as ex:
                    futs = {ex.submit(_call, func, points[i]): i for i in todo}
                    try:
                        for f in as_completed(futs):
                            done(futs[f], f.result())
                    except BaseException:
                        for f in futs:
                            f.cancel()
                        raise
    finally:
        bar.close()
    return results


def _run_dask(client, func, points, todo, done) -> None:
    from distributed import as_completed as dask_as_completed

    futs = [client.submit(_call, func, points[i], pure=False) for i in todo]
    index = {f.key: i for f, i in zip(futs, todo)}
    try:
        for f in dask_as_completed(futs):
            done(index[f.key], f.result())
    except BaseException:
        client.cancel(futs)
        raise


def clear_stale(cache_dir: str | Path, code_hash: str | None = None) -> int:
    """Delete cache entries written under another library hash; return how many were removed.

    With ``code_hash=None`` each entry is compared with the current :func:`dependency_hash` of the
    module of the function that wrote it (entries without that record: the whole-package hash).
    """
    current: dict = {}

    def expected(entry) -> str:
        if code_hash is not None:
            return code_hash
        mod = entry.get("module") or ""
        if mod not in current:
            current[mod] = _module_hash(mod)
        return current[mod]

    n = 0
    for p in Path(cache_dir).glob("*.pkl"):
        try:
            with open(p, "rb") as f:
                entry = pickle.load(f)
            stale = entry.get("code_hash") != expected(entry)
        except Exception:
            stale = True
        if stale:
            p.unlink()
            n += 1
    return n
