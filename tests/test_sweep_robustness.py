"""Robustness of scalinglaws.book.sweep (issue 22): no orphaned workers when the driver is killed,
no finished result lost on Ctrl-C, unreadable cache entries recomputed, failing tasks named by
their grid point, and cache keys that follow the code loaded in the process."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from scalinglaws.book import sweep as sw
HERE = Path(__file__).resolve().parent


# ---- task functions (module level: picklable, importable by the driver subprocesses) ---------
def napper(x, marker_dir, delay=0.0):
    """Writes ``pid_<x>_<pid>`` when it starts and ``done_<x>`` when it finishes."""
    Path(marker_dir, f"pid_{x}_{os.getpid()}").touch()
    if delay:
        time.sleep(delay)
    Path(marker_dir, f"done_{x}_{time.time_ns()}").touch()
    return {"x": x, "pid": os.getpid()}


def fails_at_two(x, marker_dir=None):
    if marker_dir is not None:
        Path(marker_dir, f"done_{x}_{time.time_ns()}").touch()
    if x == 2:
        raise ValueError("bad value inside the task")
    return x * 10


def omp_task(x):
    """Runs a parallel numba kernel (OpenMP threads) in the worker."""
    import numpy as np
    from scalinglaws.numerics import committee_exp as kx
    return {"x": x, "pid": os.getpid(), "v": float(kx.i4_weighted(np.eye(8), 4, np.ones(4)).sum())}


def _count(marker_dir, prefix: str) -> int:
    return sum(1 for p in Path(marker_dir).iterdir() if p.name.startswith(prefix))


def _pids(marker_dir) -> set[int]:
    return {int(p.name.split("_")[2]) for p in Path(marker_dir).iterdir()
            if p.name.startswith("pid_")}


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan re-parented to a PID 1 that does not reap stays Z)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except OSError:
        return False


def _wait(cond, timeout: float) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


_START_OPENMP = """
    import numpy as np
    from scalinglaws.numerics import committee_exp as kx
    from scalinglaws.book.sweep import _openmp_started
    kx.i4_weighted(np.eye(8), 4, np.ones(4))      # a parallel numba kernel: OpenMP threads start
    assert _openmp_started()
"""


def _driver(marks, cache, grid_extra: str, workers: int = 2, openmp: bool = False) -> subprocess.Popen:
    # the default Ctrl-C handler, also when this test runs under a shell that started it in the
    # background (bash then ignores SIGINT for the job, and Python keeps an inherited SIG_IGN)
    script = textwrap.dedent(f"""
        import signal, sys
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.path.insert(0, {str(HERE)!r})
        {textwrap.dedent(_START_OPENMP).strip().replace(chr(10), chr(10) + 8 * " ") if openmp else ""}
        from test_sweep_robustness import napper
        from scalinglaws.book.sweep import sweep
        sweep(napper, [dict(x=x, marker_dir={str(marks)!r}, delay=d) for x, d in {grid_extra}],
              cache_dir={str(cache)!r}, max_workers={workers}, code_hash="R", show_progress=False)
    """)
    return subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)


# ---- workers die with the driver -------------------------------------------------------------
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
@pytest.mark.parametrize("openmp", [False, True])
def test_sigkill_of_the_driver_leaves_no_orphaned_workers(tmp_path, openmp):
    marks, cache = tmp_path / "m", tmp_path / "c"
    marks.mkdir()
    proc = _driver(marks, cache, "[(0, 60.0), (1, 60.0)]", openmp=openmp)
    try:
        assert _wait(lambda: len(_pids(marks)) >= 2, 30), "workers did not start"
        workers = _pids(marks)
        assert all(_running(p) for p in workers)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    # PR_SET_PDEATHSIG kills them at once; the watchdog thread within half a second
    assert _wait(lambda: not any(_running(p) for p in workers), 10), \
        f"orphaned workers still running: {[p for p in workers if _running(p)]}"


# ---- workers after numba's OpenMP threads have started in the driver ------------------------
def _openmp_script(body: str) -> subprocess.CompletedProcess:
    script = textwrap.dedent(_START_OPENMP) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240,
                          cwd=HERE)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="GNU OpenMP and fork")
def test_a_forked_pool_dies_once_openmp_runs():
    """The hazard the sweep avoids: the workers of a plain fork-based pool are killed by GNU
    OpenMP when their task runs a parallel kernel."""
    r = _openmp_script("""
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor
        from test_sweep_robustness import omp_task
        with ProcessPoolExecutor(2, mp_context=mp.get_context("fork")) as ex:
            print(list(ex.map(omp_task, [0, 1])))
    """)
    assert r.returncode != 0 and "BrokenProcessPool" in r.stderr, r.stderr[-2000:]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="GNU OpenMP and fork")
def test_sweep_workers_run_after_openmp_started():
    """With OpenMP threads running, the sweep starts its workers from a forkserver: tasks that run
    parallel kernels are computed (in processes other than the driver)."""
    r = _openmp_script("""
        import os
        from test_sweep_robustness import omp_task
        from scalinglaws.book.sweep import sweep
        out = sweep(omp_task, [dict(x=x) for x in range(3)], cache_dir=None,
                    max_workers=2, code_hash="R", show_progress=False)
        assert [o["x"] for o in out] == [0, 1, 2]
        assert all(o["pid"] != os.getpid() for o in out)
        print("ok")
    """)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr[-3000:]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="GNU OpenMP and fork")
def test_sweep_refuses_a_main_function_once_openmp_started():
    """A function of __main__ cannot reach forkserver workers: a ValueError naming the ways out,
    before any work."""
    r = _openmp_script("""
        from scalinglaws.book.sweep import sweep
        def task(x):
            return x
        try:
            sweep(task, [dict(x=0), dict(x=1)], cache_dir=None, max_workers=2, code_hash="R",
                  show_progress=False)
        except ValueError as e:
            print("refused:", e)
    """)
    assert r.returncode == 0 and "refused:" in r.stdout and "max_workers=0" in r.stdout, r.stdout + r.stderr[-2000:]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_sigint_stops_workers_and_keeps_finished_results(tmp_path):
    """Ctrl-C of a driver with two quick and two 60 s tasks: it exits promptly (no waiting for
    the running tasks), its workers are gone and both quick results are in the cache."""
    marks, cache = tmp_path / "m", tmp_path / "c"
    marks.mkdir()
    proc = _driver(marks, cache, "[(0, 0.0), (1, 0.0), (2, 60.0), (3, 60.0)]")
    try:
        assert _wait(lambda: len(list(cache.glob("[0-9a-f]*.pkl"))) >= 2
                     and len(_pids(marks)) >= 1 and _count(marks, "pid_2") + _count(marks, "pid_3")
                     >= 1, 30)
        workers = _pids(marks)
        t0 = time.time()
        os.kill(proc.pid, signal.SIGINT)
        proc.wait(timeout=20)
        assert time.time() - t0 < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0 and b"KeyboardInterrupt" in proc.stderr.read()
    assert _wait(lambda: not any(_running(p) for p in workers), 10)
    assert len(list(cache.glob("[0-9a-f]*.pkl"))) == 2


def test_interrupt_keeps_results_that_finished_in_flight(tmp_path, monkeypatch):
    """A KeyboardInterrupt while the driver stores the first result: the results of every task
    that finished meanwhile are written to the cache before it propagates."""
    marks, cache = tmp_path / "m", tmp_path / "c"
    marks.mkdir()
    real = sw._write_atomic
    state = {"calls": 0}

    def interrupted_write(path, obj):
        state["calls"] += 1
        if state["calls"] == 1:          # Ctrl-C during the first write, all 4 tasks done by then
            _wait(lambda: _count(marks, "done_") >= 4, 20)
            time.sleep(0.5)              # their results reach the driver
            raise KeyboardInterrupt
        real(path, obj)

    monkeypatch.setattr(sw, "_write_atomic", interrupted_write)
    grid = {"x": [0, 1, 2, 3], "marker_dir": [str(marks)], "delay": [0.1]}
    with pytest.raises(KeyboardInterrupt):
        sw.sweep(napper, grid, cache_dir=cache, max_workers=2, code_hash="I")
    assert len(list(cache.glob("[0-9a-f]*.pkl"))) == 4, "a finished result was thrown away"
    monkeypatch.setattr(sw, "_write_atomic", real)
    n = _count(marks, "done_")
    res = sw.sweep(napper, grid, cache_dir=cache, max_workers=0, code_hash="I")
    assert [r["x"] for r in res] == [0, 1, 2, 3] and _count(marks, "done_") == n


# ---- unreadable cache entries ------------------------------------------------------------------
@pytest.mark.parametrize("payload", [
    b"not a pickle at all",
    b"\x80\x63garbage",                                   # unsupported pickle protocol 99
    pickle.dumps({"key": "x", "result": 1})[:-3],         # truncated
    pickle.dumps(["not", "an", "entry"]),                 # wrong structure
    b"\x80\x04\x95\x1c\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\x07NoSuchX\x94\x93\x94.",
])
def test_unreadable_cache_entry_is_recomputed(tmp_path, payload):
    marks, cache = tmp_path / "m", tmp_path / "c"
    marks.mkdir()
    grid = {"x": [1, 2], "marker_dir": [str(marks)]}
    sw.sweep(napper, grid, cache_dir=cache, max_workers=0, code_hash="U")
    files = sorted(cache.glob("*.pkl"))
    assert len(files) == 2 and _count(marks, "done_") == 2
    files[0].write_bytes(payload)
    res = sw.sweep(napper, grid, cache_dir=cache, max_workers=0, code_hash="U")
    assert [r["x"] for r in res] == [1, 2]
    assert _count(marks, "done_") == 3, "exactly the unreadable entry is recomputed"
    sw.sweep(napper, grid, cache_dir=cache, max_workers=0, code_hash="U")
    assert _count(marks, "done_") == 3, "and rewritten readable"


# ---- failing tasks name their grid point ---------------------------------------------------------
@pytest.mark.parametrize("workers", [0, 2])
def test_task_error_names_the_grid_point_and_keeps_earlier_results(tmp_path, workers):
    cache = tmp_path / "c"
    with pytest.raises(ValueError, match=r"bad value inside the task.*x=2") as info:
        sw.sweep(fails_at_two, {"x": [0, 1, 2, 3]}, cache_dir=cache, max_workers=workers,
                 code_hash="E")
    assert "grid point 2 of 4" in str(info.value)
    if workers == 0:
        assert len(list(cache.glob("*.pkl"))) == 2       # x = 0, 1 finished before the failure


def test_dask_task_error_names_the_grid_point():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with pytest.raises(ValueError, match=r"x=2"):
            sw.sweep(fails_at_two, {"x": [2]}, client=client, code_hash="D")


# ---- cache keys follow the code loaded in this process -------------------------------------------
def test_key_ignores_source_edited_on_disk_after_import(monkeypatch):
    """The old key hashed the files on disk: a kernel that imported the library and computed after
    an edit stored old-code results under the new key.  Now the disk does not enter the key."""
    from scalinglaws.analysis import fits
    h = sw.dependency_hash(fits.fit_power_law)
    key = sw.cache_key(fits.fit_power_law, {"x": [1.0]}, h)
    real_bytes, real_text = Path.read_bytes, Path.read_text

    def edited_bytes(self):
        data = real_bytes(self)
        return data + b"\nEDITED = 1\n" if self.name == "fits.py" else data

    def edited_text(self, *a, **k):
        data = real_text(self, *a, **k)
        return data + "\nEDITED = 1\n" if self.name == "fits.py" else data

    monkeypatch.setattr(Path, "read_bytes", edited_bytes)
    monkeypatch.setattr(Path, "read_text", edited_text)
    assert sw.dependency_hash(fits.fit_power_law) == h
    assert sw.cache_key(fits.fit_power_law, {"x": [1.0]}, h) == key


def test_in_process_library_edit_recomputes(tmp_path, monkeypatch):
    from scalinglaws.analysis import fits
    cache = tmp_path / "c"
    grid = [{"x": [1.0, 2.0, 4.0], "y": [1.0, 0.5, 0.25]}]
    h = sw.dependency_hash(fits.fit_power_law)
    sw.sweep(fits.fit_power_law, grid, cache_dir=cache, max_workers=0)
    sw.sweep(fits.fit_power_law, grid, cache_dir=cache, max_workers=0)
    assert len(list(cache.glob("*.pkl"))) == 1
    # a code change of a helper in the module (what importlib.reload after an edit does)
    monkeypatch.setattr(fits.first_crossing, "__code__", (lambda t, y, level, direction="down":
                                                          0.0).__code__)
    assert sw.dependency_hash(fits.fit_power_law) != h
    sw.sweep(fits.fit_power_law, grid, cache_dir=cache, max_workers=0)
    assert len(list(cache.glob("*.pkl"))) == 2, "the edited code must not reuse the old entry"
    # a change of the function itself changes its key too
    monkeypatch.undo()
    assert sw.dependency_hash(fits.fit_power_law) == h


def test_code_hash_is_stable_under_use_and_ignores_runtime_state():
    """Using the library (compiling kernels, pickling dataclasses) must not change the hash."""
    import pickle as pk

    from scalinglaws.committee import Setup
    from scalinglaws.committee import sgd
    h = sw.library_hash()
    s = Setup(1, 1, 0.1)
    pk.dumps(sgd.simulate(s, 8, times=[0.0, 1.0], show_progress=False, n_jobs=1))
    pk.dumps(s)
    assert sw.library_hash() == h
    assert sw.dependency_hash(napper) == h        # outside the package: the whole package


def test_code_hash_is_the_same_in_a_fresh_process():
    from scalinglaws.committee import plateau
    here = (sw.library_hash(), sw.dependency_hash(plateau.escape_time_from_ode))
    out = subprocess.run([sys.executable, "-c", "from scalinglaws.book import sweep as sw; from scalinglaws.committee import plateau; "
                          "print(sw.library_hash(), sw.dependency_hash("
                          "plateau.escape_time_from_ode))"], capture_output=True, text=True,
                         check=True).stdout.split()
    assert tuple(out) == here


def omp_threads(x):
    """numba's thread count in the worker, after its first parallel kernel."""
    import numba
    omp_task(x)
    return numba.get_num_threads()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="GNU OpenMP and fork")
def test_forkserver_workers_keep_one_thread_per_core():
    """Workers x threads must not exceed the cores: a forkserver worker loads numba only with its
    task, after the initializer's threadpoolctl limit, so the limit also goes through the
    environment."""
    r = _openmp_script("""
        import os
        from test_sweep_robustness import omp_threads
        from scalinglaws.book.sweep import sweep
        out = sweep(omp_threads, [dict(x=x) for x in range(2)], cache_dir=None, max_workers=2,
                    code_hash="R", show_progress=False)
        print("threads", out, "cores", os.cpu_count())
        assert all(t <= max(1, os.cpu_count() // 2) for t in out), out
    """)
    assert r.returncode == 0 and "threads" in r.stdout, r.stdout + r.stderr[-3000:]
