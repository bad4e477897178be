"""Map a function over a parameter grid, cached on disk, on local processes or a Dask cluster.

* **Grid**: a dict ``{name: [values, ...]}`` (Cartesian product, last key fastest) or a list of
  parameter dicts; the function is called as ``func(**params)`` and must be importable
  (a module-level function) so worker processes can unpickle it.
* **Executors**: local processes (``concurrent.futures.ProcessPoolExecutor``) by default;
  a ``dask.distributed`` ``Client`` when one is passed or when the standard
  environment variable ``DASK_SCHEDULER_ADDRESS`` names a scheduler.  ``max_workers=0`` runs
  serially in this process (debugging).  No home-made scheduling.
* **Cache**: one pickle file per grid point in ``cache_dir``, named by the SHA-256 of
  (function module + qualified name, the function's compiled code, canonical JSON of the
  parameters, :func:`dependency_hash` of the function).  Each file is written by the driver as
  soon as its task finishes, to a temporary file in the same directory and moved into place with
  ``os.replace`` (atomic), so an interrupted sweep resumes without recomputing anything that
  finished, and a partly written file is never read.  An unreadable entry (corrupt pickle,
  unsupported protocol, a class that no longer exists) counts as missing and is recomputed.
* **Code hash**: :func:`dependency_hash` hashes the library code *loaded in this process* (the
  compiled code objects of the modules the function can reach: bytecode, constants, names --
  so comment-only edits and moved lines do not count) plus the Python, NumPy, SciPy and Numba
  versions.  A kernel that imported the library and computes after the source was edited on disk
  therefore keys its results on the code that actually ran (the old one), never stores old-code
  values under the new code's key; a re-import (restart, ``importlib.reload``) changes the key
  and recomputes.  Stale entries stay on disk until :func:`clear_stale` removes them.
* **Interrupts and failures**: on Ctrl-C (``KeyboardInterrupt``) or a failing task, every result
  that finished is written to the cache before the exception propagates; worker processes are
  stopped with the driver (they ignore SIGINT, are terminated by the driver, and exit on their
  own when the driver dies, even by SIGKILL: ``PR_SET_PDEATHSIG`` on Linux plus a watchdog thread
  that notices the re-parenting).  Every exception raised by a task names the failing grid point
  (its parameters) in its message.
"""

from __future__ import annotations

import ast
import dataclasses
import gzip
import hashlib
import importlib
import inspect
import itertools
import json
import os
import pickle
import signal
import sys
import tempfile
import threading
import types
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable

import numpy as np

from scalinglaws.errors import require
from scalinglaws.progress import progress

__all__ = ["sweep", "StoreMissError", "read_entry", "grid_points", "library_hash", "dependency_hash", "module_dependencies", "cache_key",
           "clear_stale", "loaded_code_hash"]

_LIB_DIR = Path(__file__).resolve().parents[1]   # the scalinglaws package folder
_PKG = _LIB_DIR.name


def _is_installed_root(root) -> bool:
    return root is None or Path(root).resolve() == _LIB_DIR


def library_hash(root: str | Path | None = None) -> str:
    """Hash of a whole package.

    Default (``root=None``, the installed ``scalinglaws``): :func:`loaded_code_hash` of every
    module of the package (modules not imported yet are imported first) plus the library
    versions.  With an explicit ``root`` (another package folder): SHA-256 of every ``*.py`` file
    under it, over sorted relative paths and file contents.
    """
    if _is_installed_root(root):
        names = sorted({_module_name(p) for p in _LIB_DIR.rglob("*.py")
                        if "__pycache__" not in p.parts})
        return _loaded_modules_hash(names, b"library")
    root = Path(root)
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


def _module_name(path: Path) -> str:
    rel = path.relative_to(_LIB_DIR).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([_PKG, *parts])


def module_dependencies(module: str, root: str | Path | None = None) -> list[str]:
    """Modules of the package at ``root`` (default: ``scalinglaws``) that ``module`` imports,
    transitively, including itself and the package ``__init__``; sorted dotted names.

    Read from the ``import`` statements of the source (anywhere in a file, so imports inside
    functions count); both relative (``from .ode import rhs``, ``from . import ode``) and absolute
    (``scalinglaws.committee.ode``) forms are followed, through subpackages (whose ``__init__`` files
    count as dependencies of their modules).
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
                if node.level >= 1:
                    here = name.split(".")
                    if file_of(name).name != "__init__.py":
                        here = here[:-1]
                    here = here[:len(here) - (node.level - 1)]
                    base = ".".join(here) + ("." + node.module if node.module else "")
                elif node.level == 0 and node.module and (node.module == pkg
                                                           or node.module.startswith(pkg + ".")):
                    base = node.module
                else:
                    continue
                targets.append(base)
                targets += [f"{base}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets += [a.name for a in node.names if a.name.startswith(pkg + ".")]
            # a module of a subpackage also runs the subpackages' __init__ files above it
            targets += [".".join(t.split(".")[:i]) for t in list(targets) for i in range(2, t.count(".") + 1)]
            todo += [t for t in targets if t not in seen and file_of(t) is not None]
    return sorted(seen)


def dependency_hash(func: Callable, root: str | Path | None = None) -> str:
    """Cache hash of the library code ``func`` can reach: :func:`loaded_code_hash` of the
    :func:`module_dependencies` of its module when that module belongs to the package (plus the
    library versions), otherwise :func:`library_hash` of the whole package."""
    return _module_hash(getattr(func, "__module__", None) or "", root)


def _file_of(root: Path, name: str) -> Path | None:
    """Source file of the dotted module ``name`` in the package at ``root`` (None if absent)."""
    pkg = root.name
    if name == pkg:
        return root / "__init__.py"
    if not name.startswith(pkg + "."):
        return None
    rel = name[len(pkg) + 1:].replace(".", "/")
    for f in (root / (rel + ".py"), root / rel / "__init__.py"):
        if f.is_file():
            return f
    return None


def _module_hash(module: str, root: str | Path | None = None) -> str:
    installed = _is_installed_root(root)
    root = Path(root) if root is not None else _LIB_DIR
    if _file_of(root, module) is None:         # not a module of the package: hash all of it
        return library_hash(None if installed else root)
    if installed:
        return _loaded_modules_hash(module_dependencies(module, root), b"deps")
    h = hashlib.sha256(b"deps\0")
    for name in module_dependencies(module, root):
        h.update(name.encode())
        h.update(b"\0")
        h.update(_file_of(root, name).read_bytes())
        h.update(b"\0")
    return h.hexdigest()


# ----------------------------------------------------------------------------------------------
# hashing the code loaded in this process
# ----------------------------------------------------------------------------------------------
def _versions() -> bytes:
    vs = [f"python={sys.version_info[0]}.{sys.version_info[1]}", f"numpy={np.__version__}"]
    for name in ("scipy", "numba"):
        try:
            mod = sys.modules.get(name) or importlib.import_module(name)
            vs.append(f"{name}={mod.__version__}")
        except Exception:  # pragma: no cover - optional dependency missing
            vs.append(f"{name}=none")
    return ";".join(vs).encode()


def _loaded_modules_hash(names, tag: bytes) -> str:
    h = hashlib.sha256(tag + b"-loaded-v1\0" + _versions() + b"\0")
    for name in names:
        h.update(name.encode() + b"\0")
        h.update(loaded_code_hash(name).encode() + b"\0")
    return h.hexdigest()


_SIMPLE = (bool, int, float, complex, str, bytes, np.generic)


def _value_repr(v, depth: int = 0) -> str | None:
    """Deterministic text of a constant value, or None for values that are not hashed: None,
    objects such as locks or compiled dispatchers whose state changes at run time, and containers
    holding any of those (run-time caches)."""
    if depth > 6 or v is None:
        return None
    if isinstance(v, _SIMPLE):
        return f"{type(v).__name__}:{v!r}"
    if isinstance(v, (tuple, list, set, frozenset)):
        items = [_value_repr(x, depth + 1) for x in v]
        if any(x is None for x in items):
            return None
        if isinstance(v, (set, frozenset)):
            items = sorted(items)
        return type(v).__name__ + "[" + ",".join(items) + "]"
    if isinstance(v, dict):
        items = [(_value_repr(k, depth + 1), _value_repr(x, depth + 1)) for k, x in v.items()]
        if any(k is None or x is None for k, x in items):
            return None
        return "dict{" + ",".join(f"{k}:{x}" for k, x in sorted(items)) + "}"
    if isinstance(v, np.ndarray):
        return (f"ndarray:{v.dtype}:{v.shape}:"
                + hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest())
    if isinstance(v, (type, types.FunctionType, types.BuiltinFunctionType)):
        if "<locals>" in getattr(v, "__qualname__", ""):
            return None
        return f"ref:{getattr(v, '__module__', '?')}.{getattr(v, '__qualname__', '?')}"
    if isinstance(v, types.ModuleType):
        return f"module:{v.__name__}"
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        fields = [(f.name, _value_repr(getattr(v, f.name, None), depth + 1))
                  for f in dataclasses.fields(v)]
        return f"dataclass:{type(v).__qualname__}(" + ",".join(f"{k}={x}" for k, x in fields) + ")"
    return None


def _code_digest(code: types.CodeType, h, doc=None) -> None:
    """Bytecode, names, signature and constants (nested code objects recursively) of ``code``;
    line numbers and the docstring ``doc`` are left out."""
    h.update(code.co_code)
    h.update(repr((code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars,
                   code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount,
                   code.co_flags)).encode())
    consts = code.co_consts
    if doc is not None and consts and consts[0] == doc:
        consts = consts[1:]
    for c in consts:
        if isinstance(c, types.CodeType):
            h.update(b"<code:" + c.co_name.encode() + b">")
            _code_digest(c, h)
        else:
            h.update(repr(_const_text(c)).encode())


def _const_text(c):
    if isinstance(c, frozenset):
        return ("frozenset", sorted(repr(_const_text(x)) for x in c))
    if isinstance(c, tuple):
        return tuple(_const_text(x) for x in c)
    return repr(c)


def _function_text(f: types.FunctionType) -> str:
    h = hashlib.sha256()
    _code_digest(f.__code__, h, f.__doc__)
    h.update(str(_value_repr(f.__defaults__)).encode())
    h.update(str(_value_repr(f.__kwdefaults__)).encode())
    return "function:" + h.hexdigest()


def _object_text(obj, modname: str, seen: set) -> str | None:
    """Text that identifies a module attribute: functions and classes of the module by their code,
    other functions/classes by reference, constants by value; None (not hashed) for anything else
    (objects with run-time state, caches, functions made at run time)."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if not isinstance(obj, type):
        wrapped = getattr(obj, "__wrapped__", None) if not isinstance(obj, types.ModuleType) \
            else None
        if wrapped is None and not isinstance(obj, types.ModuleType):
            wrapped = getattr(obj, "py_func", None)          # numba dispatchers
        if isinstance(wrapped, types.FunctionType):
            obj = wrapped                                     # lru_cache, wraps, numba
    if isinstance(obj, types.FunctionType):
        if "<locals>" in obj.__qualname__:
            return None                 # made at run time (its code is in the enclosing function)
        if getattr(obj, "__module__", None) != modname:
            return f"ref:{obj.__module__}.{obj.__qualname__}"
        return _function_text(obj)
    if isinstance(obj, property):
        return "property:" + ",".join(str(_object_text(f, modname, seen))
                                      for f in (obj.fget, obj.fset, obj.fdel))
    if isinstance(obj, type):
        if obj.__module__ != modname or "<locals>" in obj.__qualname__:
            return None if "<locals>" in obj.__qualname__ else \
                f"ref:{obj.__module__}.{obj.__qualname__}"
        if id(obj) in seen:
            return f"class-ref:{obj.__qualname__}"
        seen.add(id(obj))
        h = hashlib.sha256(f"<class {obj.__qualname__}>".encode())
        h.update(repr([f"{b.__module__}.{b.__qualname__}" for b in obj.__bases__]).encode())
        for k, v in sorted(vars(obj).items()):
            if k in ("__dict__", "__weakref__", "__doc__", "__module__", "__annotations__",
                     "__dataclass_fields__", "__match_args__", "__slotnames__",
                     "__abstractmethods__", "_abc_impl"):     # (run-time caches of pickle / abc)
                continue
            t = _object_text(v, modname, seen)
            if t is not None:
                h.update(f"\0{k}={t}".encode())
        return "class:" + h.hexdigest()
    return _value_repr(obj)


def loaded_code_hash(module: str) -> str:
    """SHA-256 of the code of the module ``module`` as loaded in this process (imported first if
    it is not loaded yet): every function and class defined in it by its compiled code
    (bytecode, constants, names, defaults; not line numbers, comments or docstrings), other
    objects by reference, module-level constants by value; run-time state (None placeholders,
    compiled kernels, caches) is left out so that using the library does not change the hash."""
    mod = sys.modules.get(module)
    if mod is None:
        mod = importlib.import_module(module)
    h = hashlib.sha256()
    seen: set = set()
    for k, v in sorted(vars(mod).items()):
        if k.startswith("__") and k.endswith("__"):
            continue
        if isinstance(v, types.ModuleType) and v.__name__.startswith(module + "."):
            continue                    # submodules appear on the package as they are imported
        t = _object_text(v, module, seen)
        if t is not None:
            h.update(f"\0{k}={t}".encode())
    return h.hexdigest()


# ----------------------------------------------------------------------------------------------
# grid and cache keys
# ----------------------------------------------------------------------------------------------
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
    for p in grid:
        for k in p:
            require(isinstance(k, str), "grid", f"key {k!r}", "string parameter names")
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
    """Identity of ``func`` for the cache key: module, qualified name and a hash of its code as
    loaded (not of the source on disk, which may have changed since the import)."""
    h = hashlib.sha256()
    target = getattr(func, "__wrapped__", None) or getattr(func, "py_func", None) or func
    if isinstance(target, types.FunctionType):
        h.update(_function_text(target).encode())
    else:
        try:
            h.update(inspect.getsource(func).encode())
        except (OSError, TypeError):
            h.update(repr(getattr(func, "__qualname__", type(func).__qualname__)).encode())
    return {"module": getattr(func, "__module__", "?"),
            "name": getattr(func, "__qualname__", repr(func)),
            "source": h.hexdigest()}


def cache_key(func: Callable, params: dict, code_hash: str) -> str:
    """SHA-256 hex key of (function identity and code, canonical parameters, library hash)."""
    payload = {"func": _func_id(func), "params": _canonical(params), "code": code_hash}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _write_atomic(path: Path, obj: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl")
    try:
        with os.fdopen(fd, "wb") as f:
            # gzip-compressed pickle (the results store is committed: keep it small)
            with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=6, mtime=0) as z:
                pickle.dump(obj, z, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _read(path: Path, key: str):
    """Cached result, or a sentinel when the entry is missing, unreadable (corrupt or truncated
    pickle, unsupported protocol, a class that no longer exists, ...) or written for another key:
    such an entry is simply recomputed."""
    entry = read_entry(path)
    if entry is None:                     # any unreadable entry is a cache miss
        return _MISSING
    if not isinstance(entry, dict) or entry.get("key") != key or "result" not in entry:
        return _MISSING
    return entry["result"]


_MISSING = object()


def read_entry(path: str | Path) -> dict | None:
    """The whole stored entry (key, params, code hash, function, module, result, seconds, created,
    machine, versions) of a cache file, or None if unreadable."""
    try:
        with open(path, "rb") as f:
            if f.read(2) == b"\x1f\x8b":          # gzip (current format)
                f.seek(0)
                with gzip.GzipFile(fileobj=f, mode="rb") as z:
                    entry = pickle.load(z)
            else:                                  # plain pickle (older entries)
                f.seek(0)
                entry = pickle.load(f)
    except Exception:  # noqa: BLE001
        return None
    return entry if isinstance(entry, dict) else None


def _call(func, params):
    """Run one grid point; returns ``(result, seconds)``."""
    import time
    t0 = time.perf_counter()
    res = func(**params)
    return res, time.perf_counter() - t0


class StoreMissError(LookupError):
    """A store-only run (``missing="raise"``) found a grid point without a stored result."""


def _now() -> str:
    import datetime
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _machine() -> str:
    import platform
    return f"{platform.node()} {platform.machine()} {os.cpu_count()} cores"


def _version_dict() -> dict:
    import scipy
    out = {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__}
    try:
        import numba
        out["numba"] = numba.__version__
    except Exception:  # pragma: no cover
        pass
    return out


def _describe_point(func, index: int, n: int, params: dict) -> str:
    try:
        args = ", ".join(f"{k}={v!r}" for k, v in params.items())
    except Exception:  # pragma: no cover - exotic repr
        args = "..."
    if len(args) > 300:
        args = args[:297] + "..."
    return f"sweep grid point {index} of {n}: {getattr(func, '__name__', 'func')}({args})"


def _annotate(exc: BaseException, where: str) -> BaseException:
    """Name the failing grid point in ``exc`` (its message when it has one, and a note)."""
    if getattr(exc, "_sweep_point", None):
        return exc
    try:
        if exc.args and isinstance(exc.args[0], str):
            exc.args = (f"{exc.args[0]} [{where}]",) + tuple(exc.args[1:])
        elif not exc.args:
            exc.args = (f"[{where}]",)
    except Exception:  # pragma: no cover - read-only args
        pass
    try:
        exc.add_note(where)
        exc._sweep_point = where
    except Exception:  # pragma: no cover
        pass
    return exc


# ----------------------------------------------------------------------------------------------
# worker processes that die with the driver
# ----------------------------------------------------------------------------------------------
_PR_SET_PDEATHSIG = 1


_THREAD_LIMIT = None


def _worker_init(driver_pid: int, blas_threads: int | None = None) -> None:
    """Initializer of the local worker processes: ignore SIGINT (the driver decides what happens
    on Ctrl-C), ask the kernel to SIGKILL this process when its parent dies (Linux
    ``prctl(PR_SET_PDEATHSIG)``), start a watchdog thread that exits when the process is
    re-parented (the driver died; also where prctl is unavailable), and limit the BLAS/OpenMP
    threads of the worker to ``blas_threads`` (threadpoolctl): workers x BLAS threads must not
    exceed the cores, or the BLAS threads of the workers spin against each other (measured: a
    2-worker sweep of GEMM/eigh-heavy points ran 3-4x slower on 2 cores without the limit)."""
    global _THREAD_LIMIT
    if blas_threads is not None:
        # the same limit for libraries loaded later in this worker (a forkserver worker imports
        # numba, and so GNU OpenMP, only with its first task; threadpoolctl sees loaded ones only)
        for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(int(blas_threads))
        try:
            from threadpoolctl import threadpool_limits
            _THREAD_LIMIT = threadpool_limits(limits=int(blas_threads))
        except Exception:  # pragma: no cover - threadpoolctl missing: run unlimited
            _THREAD_LIMIT = None
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except (ValueError, OSError):  # pragma: no cover
        pass
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except Exception:  # pragma: no cover - no prctl
            pass
    parent = os.getppid()
    if parent == 1 or (driver_pid != parent and not _alive(driver_pid)):
        os._exit(1)                    # the driver died before prctl took effect

    def watch():
        # re-parented (the driver died), or, for forkserver workers whose parent is the server,
        # the driver itself gone
        import time
        while True:
            time.sleep(0.5)
            if os.getppid() != parent or (driver_pid != parent and not _alive(driver_pid)):
                os._exit(1)

    threading.Thread(target=watch, name="sweep-driver-watchdog", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover
        return True
    return True


def _stop_pool(ex: ProcessPoolExecutor) -> None:
    """Stop a pool now: cancel what has not started and terminate the worker processes."""
    procs = list((getattr(ex, "_processes", None) or {}).values())
    for p in procs:
        try:
            p.terminate()
        except Exception:  # pragma: no cover
            pass
    try:
        ex.shutdown(wait=False, cancel_futures=True)
    except Exception:  # pragma: no cover
        pass
    for p in procs:
        try:
            p.join(timeout=2)
            if p.is_alive():  # pragma: no cover
                p.kill()
                p.join(timeout=1)
        except Exception:  # pragma: no cover
            pass


# ----------------------------------------------------------------------------------------------
# the sweep
# ----------------------------------------------------------------------------------------------
def sweep(func: Callable, grid, *, cache_dir: str | Path | None = None, client=None,
          max_workers: int | None = None, code_hash: str | None = None,
          show_progress: bool = True, desc: str | None = None, missing: str = "compute",
          on_key: Callable | None = None) -> list:
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
    missing : {"compute", "raise"}
        What a grid point absent from the cache does: computed (default), or ``"raise"``: a
        :class:`StoreMissError` naming the first missing point, before any work (store-only runs).
    on_key : callable, optional
        Called with every grid point's cache key (hit or computed), e.g. to record which entries
        a build used.

    Returns
    -------
    list
        ``[func(**p) for p in grid_points(grid)]``, from the cache where available.

    Raises
    ------
    Exception
        The first exception raised by a task, its message naming the grid point; results that
        finished before it (or before a ``KeyboardInterrupt``) are in the cache.
    """
    require(callable(func), "func", func, "a callable")
    points = grid_points(grid)
    require(max_workers is None or (isinstance(max_workers, int) and not isinstance(max_workers, bool)
                                    and max_workers >= 0),
            "max_workers", max_workers, "None or an integer >= 0")
    code_hash = dependency_hash(func) if code_hash is None else str(code_hash)
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir)
        cache.mkdir(parents=True, exist_ok=True)
    keys = [cache_key(func, p, code_hash) for p in points]   # validates every parameter first
    require(missing in ("compute", "raise"), "missing", missing, "'compute' or 'raise'")
    results: list = [_MISSING] * len(points)
    todo = []
    for i, k in enumerate(keys):
        if cache is not None:
            results[i] = _read(cache / f"{k}.pkl", k)
        if results[i] is _MISSING:
            todo.append(i)
    if todo and missing == "raise":
        i = todo[0]
        raise StoreMissError(
            f"{len(todo)} of {len(points)} results of {_func_id(func)['name']} are not in the store "
            f"{cache} (first: {_describe_point(func, i, len(points), points[i])}; key {keys[i][:12]}): "
            "the stored result was computed by other code or parameters. Refresh the store with "
            "'python3 tasks.py book && python3 tasks.py store'")
    if on_key is not None:
        for k in keys:
            on_key(k)

    bar = progress(total=len(points), initial=len(points) - len(todo),
                   desc=desc or f"sweep {getattr(func, '__name__', 'func')}",
                   **({} if show_progress else {"disable": True}))
    stored: set[int] = set()

    def done(i, res_time):
        res, seconds = res_time
        results[i] = res
        if cache is not None and i not in stored:
            _write_atomic(cache / f"{keys[i]}.pkl",
                          {"key": keys[i], "params": points[i], "code_hash": code_hash,
                           "func": _func_id(func)["name"],
                           "module": getattr(func, "__module__", None), "result": res,
                           "seconds": seconds, "created": _now(), "machine": _machine(),
                           "versions": _version_dict()})
        stored.add(i)
        bar.update(1)

    def where(i) -> str:
        return _describe_point(func, i, len(points), points[i])

    try:
        if todo:
            if client is None and os.environ.get("DASK_SCHEDULER_ADDRESS"):
                from distributed import Client
                with Client(os.environ["DASK_SCHEDULER_ADDRESS"]) as c:
                    _run_dask(c, func, points, todo, done, where)
            elif client is not None:
                _run_dask(client, func, points, todo, done, where)
            elif max_workers == 0:
                for i in todo:
                    try:
                        res = _call(func, points[i])
                    except Exception as e:
                        raise _annotate(e, where(i))
                    done(i, res)
            else:
                _run_local(func, points, todo, done, where, max_workers)
    finally:
        bar.close()
    return results


def _harvest(futs: dict, done, is_ok) -> None:
    """Store every finished, successful task that the loop has not stored yet (best effort)."""
    for f, i in futs.items():
        try:
            if is_ok(f):
                done(i, f.result())
        except BaseException:  # noqa: BLE001 - keep the original exception
            pass


def _openmp_started() -> bool:
    """Whether numba's OpenMP threading layer has started its threads in this process (after the
    first ``parallel=True`` kernel).  GNU OpenMP then kills every ``fork()``-ed child that runs a
    parallel kernel in turn ("fork() called from a process already using GNU OpenMP, this is
    unsafe"), which a fork-based process pool only reports as ``BrokenProcessPool`` (measured: the
    specialisation chapter's ODE draws in 2 workers)."""
    nb = sys.modules.get("numba")
    if nb is None:
        return False
    try:
        from numba.np.ufunc import parallel
        return bool(parallel._is_initialized) and nb.threading_layer() == "omp"
    except Exception:  # pragma: no cover - numba internals moved: assume the unsafe case
        return True


def _pool_context(func):
    """Start method of the local workers: the platform default (fork on Linux: cheap, and it can
    run functions defined in ``__main__``, e.g. a notebook) unless OpenMP threads are running here
    (:func:`_openmp_started`); then ``forkserver``, whose workers fork from a clean server process and
    import ``func`` by name.  A ``__main__`` function cannot be imported there: ``ValueError`` before
    any work, with the ways out."""
    import multiprocessing as mp
    if not _openmp_started() or "forkserver" not in mp.get_all_start_methods():
        return None                    # (no fork to fear where there is no forkserver: Windows spawns)
    require(getattr(func, "__module__", "__main__") != "__main__", "func", getattr(func, "__qualname__", func),
            "a function importable from a module once numba's OpenMP threads run in this process "
            "(forked workers would be killed by GNU OpenMP): define it in a module, or pass "
            "max_workers=0, a Dask client, or set NUMBA_THREADING_LAYER=workqueue before numba starts")
    return mp.get_context("forkserver")


def _run_local(func, points, todo, done, where, max_workers) -> None:
    cores = os.cpu_count() or 1
    workers = min(max_workers or cores, len(todo))
    ex = ProcessPoolExecutor(max_workers=max_workers, mp_context=_pool_context(func), initializer=_worker_init,
                             initargs=(os.getpid(), max(1, cores // max(1, workers))))
    futs: dict = {}
    try:
        for i in todo:
            futs[ex.submit(_call, func, points[i])] = i
        for f in as_completed(futs):
            i = futs[f]
            try:
                res = f.result()
            except Exception as e:
                raise _annotate(e, where(i))
            done(i, res)
    except BaseException:
        _harvest(futs, done, lambda f: f.done() and not f.cancelled() and f.exception() is None)
        _stop_pool(ex)
        raise
    ex.shutdown(wait=True)


def _run_dask(client, func, points, todo, done, where=None) -> None:
    from distributed import as_completed as dask_as_completed

    futs = [client.submit(_call, func, points[i], pure=False) for i in todo]
    index = {f.key: i for f, i in zip(futs, todo)}
    try:
        for f in dask_as_completed(futs):
            i = index[f.key]
            try:
                res = f.result()
            except Exception as e:
                raise _annotate(e, where(i)) if where is not None else e
            done(i, res)
    except BaseException:
        _harvest({f: index[f.key] for f in futs}, done,
                 lambda f: getattr(f, "status", None) == "finished")
        client.cancel(futs)
        raise


def clear_stale(cache_dir: str | Path, code_hash: str | None = None) -> int:
    """Delete cache entries written under another library hash (and unreadable entries); return
    how many were removed.

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
        entry = read_entry(p)
        try:
            stale = entry is None or entry.get("code_hash") != expected(entry)
        except Exception:  # noqa: BLE001
            stale = True
        if stale:
            p.unlink()
            n += 1
    return n
