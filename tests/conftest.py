"""Shared test helpers."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest


@contextlib.contextmanager
def scratch_store(store: Path):
    """Point the results store at ``store`` (computing mode) for the duration of a ``with`` block:
    module-scoped fixtures cannot use the function-scoped ``monkeypatch``."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SCALINGLAWS_STORE", str(store))
    mp.delenv("SCALINGLAWS_STORE_ONLY", raising=False)
    try:
        yield store
    finally:
        mp.undo()
