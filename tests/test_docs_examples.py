"""The library's documentation runs: the API page's quick start and every docstring example.

- ``api.md``'s "Quick start" holds one fenced ``python`` block per standard task; each is executed
  here (matplotlib on the Agg backend, in a temporary directory) exactly as printed;
- every module of ``scalinglaws`` is run through :mod:`doctest` (its ``>>>`` examples).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import matplotlib
import pytest

import scalinglaws

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]


def _quickstart_blocks() -> list[tuple[str, str]]:
    text = (ROOT / "api.md").read_text()
    start = text.index("## Quick start")
    end = text.index("\n## ", start + 5)
    section = text[start:end]
    blocks = []
    for m in re.finditer(r"^### (.+?)\n(.*?)^```python\n(.*?)^```", section, re.S | re.M):
        blocks.append((m.group(1).strip(), m.group(3)))
    return blocks


BLOCKS = _quickstart_blocks()


def test_quickstart_has_the_five_tasks():
    assert len(BLOCKS) >= 5, [t for t, _ in BLOCKS]
    for title, code in BLOCKS:
        lines = [ln for ln in code.splitlines() if ln.strip() and not ln.strip().startswith("#")]
        assert len(lines) <= 14, f"quick-start task {title!r} has {len(lines)} code lines (about ten)"


@pytest.mark.parametrize("title,code", BLOCKS, ids=[t for t, _ in BLOCKS])
def test_quickstart_task_runs(title, code, tmp_path, monkeypatch):
    import matplotlib.pyplot as plt
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(code, f"api.md quick start: {title}", "exec"), ns)
    plt.close("all")


MODULES = sorted(m.name for m in pkgutil.walk_packages(scalinglaws.__path__, "scalinglaws."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert res.failed == 0, f"{name}: {res.failed} of {res.attempted} docstring examples failed"
