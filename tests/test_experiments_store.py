"""The results store behind scalinglaws.experiments: cached, keyed on code and parameters, and in
store-only mode a missing or stale result is an error that names the refresh command."""

from __future__ import annotations

import numpy as np
import pytest

from scalinglaws import experiments
from scalinglaws.book import sweep as sw
from scalinglaws.result import Curve


def tiny_experiment(n: int, seed: int = 0) -> Curve:
    """A module-level (picklable) experiment: a noisy power law."""
    rng = np.random.default_rng(seed)
    t = np.arange(1.0, n + 1.0)
    return Curve(t=t, loss=t ** -0.5 * (1 + 0.01 * rng.standard_normal(n)), t_unit="steps")


@pytest.fixture
def store(tmp_path, monkeypatch):
    d = tmp_path / "store"
    monkeypatch.setenv("SCALINGLAWS_STORE", str(d))
    monkeypatch.delenv("SCALINGLAWS_STORE_ONLY", raising=False)
    log = tmp_path / "used.txt"
    monkeypatch.setenv(experiments.USED_LOG_ENV, str(log))
    return d, log


def test_call_stores_and_reuses(store):
    d, log = store
    a = experiments.call(tiny_experiment, n=8, seed=1)
    files = list(d.glob("*.pkl"))
    assert len(files) == 1 and isinstance(a, Curve)
    b = experiments.call(tiny_experiment, n=8, seed=1)
    assert np.array_equal(a.loss, b.loss)
    meta = experiments.entries(d)[0]
    assert meta["params"] == {"n": 8, "seed": 1} and meta["seconds"] >= 0
    assert {"created", "machine", "versions", "code_hash", "key"} <= set(meta)
    assert log.read_text().split() == [files[0].stem, files[0].stem]     # used twice, one entry


def test_store_only_serves_stored_results(store, monkeypatch):
    experiments.call(tiny_experiment, n=8, seed=1)
    monkeypatch.setenv("SCALINGLAWS_STORE_ONLY", "1")
    assert experiments.call(tiny_experiment, n=8, seed=1).t.size == 8


def test_store_only_fails_on_a_missing_result(store, monkeypatch):
    experiments.call(tiny_experiment, n=8, seed=1)
    monkeypatch.setenv("SCALINGLAWS_STORE_ONLY", "1")
    with pytest.raises(experiments.StoreMissError, match=r"python3 tasks.py book && python3 tasks.py store"):
        experiments.call(tiny_experiment, n=8, seed=2)          # other parameters: not stored


def test_store_only_fails_on_a_stale_result(tmp_path):
    """A result stored by other code (another code hash) is stale: store-only raises, naming the
    grid point, before any work."""
    grid = [{"n": 4, "seed": 0}]
    sw.sweep(tiny_experiment, grid, cache_dir=tmp_path, max_workers=0, code_hash="old code")
    assert sw.sweep(tiny_experiment, grid, cache_dir=tmp_path, max_workers=0, code_hash="old code",
                    missing="raise")[0].t.size == 4
    with pytest.raises(sw.StoreMissError, match=r"n=4.*tasks.py store"):
        sw.sweep(tiny_experiment, grid, cache_dir=tmp_path, max_workers=0, code_hash="new code",
                 missing="raise")


def test_store_can_be_switched_off(monkeypatch, tmp_path):
    monkeypatch.setenv("SCALINGLAWS_STORE", "off")
    assert experiments.store_dir() is None
    assert experiments.call(tiny_experiment, n=3).t.size == 3
    monkeypatch.delenv("SCALINGLAWS_STORE")
    monkeypatch.chdir(tmp_path)
    d = experiments.store_dir()
    assert d is None or d.parts[-2:] == ("results", "store")
