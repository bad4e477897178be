"""Tests of scalinglaws.book.sweep: caching, resume after a kill, hash invalidation, Dask == local."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from scalinglaws.book import sweep as sw
HERE = Path(__file__).resolve().parent


def work(x, y=0.0, marker_dir=None, delay=0.0):
    """Test task: leaves one marker file per call (to count evaluations) and returns numbers
    drawn from a seeded generator (so equality across executors is a real check)."""
    if marker_dir is not None:
        Path(marker_dir, f"{x}_{y}_{uuid.uuid4().hex}").touch()
    if delay:
        time.sleep(delay)
    rng = np.random.default_rng([int(x), int(10 * y)])
    return {"x": x, "y": y, "v": float(x) ** 2 + y, "draw": rng.standard_normal(3)}


def calls(marker_dir) -> dict:
    out: dict = {}
    for p in Path(marker_dir).iterdir():
        k = "_".join(p.name.split("_")[:2])
        out[k] = out.get(k, 0) + 1
    return out


def test_grid_points_and_bad_input():
    pts = sw.grid_points({"x": [1, 2], "y": [0.0, 0.5, 1.0]})
    assert len(pts) == 6 and pts[1] == {"x": 1, "y": 0.5}
    with pytest.raises(ValueError, match="grid"):
        sw.grid_points({"x": []})
    with pytest.raises(ValueError, match="canonical"):
        sw.cache_key(work, {"x": object()}, "h")
    with pytest.raises(ValueError, match="max_workers"):
        sw.sweep(work, {"x": [1]}, max_workers=-1)


def test_cache_reuse_and_hash_invalidation(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    grid = {"x": [1, 2, 3], "y": [0.0, 1.0], "marker_dir": [str(marks)]}
    r1 = sw.sweep(work, grid, cache_dir=tmp_path / "c", max_workers=0, code_hash="A")
    assert [r["v"] for r in r1] == [1, 2, 4, 5, 9, 10]
    assert sum(calls(marks).values()) == 6
    r2 = sw.sweep(work, grid, cache_dir=tmp_path / "c", max_workers=0, code_hash="A")
    assert sum(calls(marks).values()) == 6, "cached results must be reused"
    assert all(np.array_equal(a["draw"], b["draw"]) for a, b in zip(r1, r2))
    # library change -> recompute everything
    sw.sweep(work, grid, cache_dir=tmp_path / "c", max_workers=0, code_hash="B")
    assert sum(calls(marks).values()) == 12
    assert sw.clear_stale(tmp_path / "c", code_hash="B") == 6
    assert len(list((tmp_path / "c").glob("*.pkl"))) == 6
    # parameter change -> only the new points run
    sw.sweep(work, {"x": [1, 4], "y": [0.0], "marker_dir": [str(marks)]},
             cache_dir=tmp_path / "c", max_workers=0, code_hash="B")
    assert sum(calls(marks).values()) == 13


def test_library_hash_tracks_source(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.py").write_text("x = 1\n")
    h1 = sw.library_hash(pkg)
    assert sw.library_hash(pkg) == h1
    (pkg / "a.py").write_text("x = 2\n")
    assert sw.library_hash(pkg) != h1
    assert len(sw.library_hash()) == 64  # the installed package


def test_local_processes_equal_serial(tmp_path):
    grid = {"x": [1, 2, 3], "y": [0.0, 1.0]}
    a = sw.sweep(work, grid, max_workers=0)
    b = sw.sweep(work, grid, max_workers=2)
    assert all(np.array_equal(u["draw"], v["draw"]) and u["v"] == v["v"] for u, v in zip(a, b))


def blas_threads(x):
    """Test task: the BLAS thread counts this worker runs with."""
    from threadpoolctl import threadpool_info
    return [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]


def test_local_workers_share_the_cores_between_their_blas_threads():
    """workers x BLAS threads <= cores: oversubscribed BLAS threads spin against each other."""
    cores = os.cpu_count() or 1
    for workers in (1, 2):
        for counts in sw.sweep(blas_threads, {"x": list(range(workers))}, max_workers=workers):
            assert counts and max(counts) <= max(1, cores // workers)


def test_killed_sweep_resumes(tmp_path):
    """Run a slow sweep in a subprocess, SIGKILL it after some points are cached, resume here:
    every point cached before the kill is not recomputed, and results are complete."""
    marks = tmp_path / "marks"
    marks.mkdir()
    cache = tmp_path / "cache"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(HERE)!r})
        from test_sweep import work
        from scalinglaws.book.sweep import sweep
        sweep(work, {{"x": list(range(8)), "marker_dir": [{str(marks)!r}], "delay": [0.3]}},
              cache_dir={str(cache)!r}, max_workers=0, code_hash="K", show_progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 60
        while time.time() < deadline and len(list(cache.glob("*.pkl"))) < 3:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    done_before = len(list(cache.glob("*.pkl")))
    assert 3 <= done_before < 8, "the kill should interrupt the sweep midway"
    before = calls(marks)
    res = sw.sweep(work, {"x": list(range(8)), "marker_dir": [str(marks)], "delay": [0.3]},
                   cache_dir=cache, max_workers=0, code_hash="K")
    assert [r["v"] for r in res] == [float(x) ** 2 for x in range(8)]
    after = calls(marks)
    n_new = sum(after.values()) - sum(before.values())
    # the point in flight at the kill may have left a marker but no cache file: it is redone
    assert n_new == 8 - done_before
    assert len(list(cache.glob("*.pkl"))) == 8


def test_dask_matches_local(tmp_path):
    distributed = pytest.importorskip("distributed")
    grid = {"x": [1, 2, 3], "y": [0.0, 0.5]}
    local = sw.sweep(work, grid, max_workers=0)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = sw.sweep(work, grid, client=client, cache_dir=tmp_path / "c", code_hash="D")
        # and through the standard environment variable
        os.environ["DASK_SCHEDULER_ADDRESS"] = cluster.scheduler_address
        try:
            env = sw.sweep(work, grid, code_hash="D")
        finally:
            del os.environ["DASK_SCHEDULER_ADDRESS"]
    for a, b, c in zip(local, remote, env):
        assert a["v"] == b["v"] == c["v"]
        assert np.array_equal(a["draw"], b["draw"]) and np.array_equal(a["draw"], c["draw"])


def _toy_package(tmp_path):
    pkg = tmp_path / "toypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .base import K\n")
    (pkg / "base.py").write_text("K = 1\n")
    (pkg / "a.py").write_text("def f():\n    from .b import g\n    return g()\n")
    (pkg / "b.py").write_text("import toypkg.base\nfrom . import c\n\ndef g():\n    return 2\n")
    (pkg / "c.py").write_text("X = 3\n")
    (pkg / "unrelated.py").write_text("Y = 4\n")
    return pkg


def test_module_dependencies_follow_imports(tmp_path):
    pkg = _toy_package(tmp_path)
    # relative, in-function, `from . import`, and absolute imports are all followed
    assert sw.module_dependencies("toypkg.a", pkg) == ["toypkg", "toypkg.a", "toypkg.b",
                                                       "toypkg.base", "toypkg.c"]
    assert sw.module_dependencies("toypkg.unrelated", pkg) == ["toypkg", "toypkg.base",
                                                               "toypkg.unrelated"]
    with pytest.raises(ValueError, match="module"):
        sw.module_dependencies("otherpkg.a", pkg)
    with pytest.raises(ValueError, match="module"):
        sw.module_dependencies("toypkg.missing", pkg)


def test_dependency_hash_ignores_unrelated_modules(tmp_path):
    pkg = _toy_package(tmp_path)
    h = sw._module_hash("toypkg.a", pkg)
    (pkg / "unrelated.py").write_text("Y = 5\n")           # not imported by a: same hash
    assert sw._module_hash("toypkg.a", pkg) == h
    (pkg / "c.py").write_text("X = 30\n")                  # imported through b: new hash
    h2 = sw._module_hash("toypkg.a", pkg)
    assert h2 != h
    (pkg / "__init__.py").write_text("from .base import K\nZ = 0\n")   # the package init counts
    assert sw._module_hash("toypkg.a", pkg) != h2
    # a function outside the package depends on all of it
    assert sw._module_hash("__main__", pkg) == sw.library_hash(pkg)
    assert sw.dependency_hash(work) == sw.library_hash()   # test module: whole installed package
    from scalinglaws.committee import plateau
    deps = sw.module_dependencies("scalinglaws.committee.plateau")
    assert "scalinglaws.committee.ode" in deps and "scalinglaws.emergence" not in deps
    assert sw.dependency_hash(plateau.escape_time_from_ode) != sw.library_hash()


def test_clear_stale_uses_each_entry_module(tmp_path):
    from scalinglaws.analysis import fits
    cache = tmp_path / "c"
    sw.sweep(work, {"x": [1], "y": [0.0]}, cache_dir=cache, max_workers=0)
    sw.sweep(fits.fit_power_law, [{"x": [1.0, 2.0, 4.0], "y": [1.0, 0.5, 0.25]}], cache_dir=cache,
             max_workers=0)
    assert len(list(cache.glob("*.pkl"))) == 2
    assert sw.clear_stale(cache) == 0          # both entries current under their own hashes
    assert sw.clear_stale(cache, code_hash="other") == 2
