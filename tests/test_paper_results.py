"""The stored paper-size results (``results/paper/``) are enforced here.

``python3 tasks.py book`` executes every chapter at its defaults (the papers' settings where they
fit) and runs every check there; ``python3 tasks.py store`` then keeps that build's check records,
keyed to the library/environment fingerprint and to each chapter's code cells, and prunes the
results store (``results/store/``, the experiments' cached results) to what that build used.
``tests/test_book.py`` re-executes every chapter at its defaults from that store; this module
checks the stored records themselves:

- the stored results must belong to the current code (any change to the library, the pinned
  environment or a chapter's code cells makes them stale, and the failure names the refresh
  command);
- every chapter of the book has stored records, none of them at the fast test size, every record
  carries its evidence class, and every enforced one passed;
- the ledger and the check table execute on the stored paper-size records.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from scalinglaws.book.notebooks import execute_chapter, toc_chapters

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("book_tasks", ROOT / "tasks.py")
tasks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tasks)
STORE = tasks.RESULTS


def _records() -> dict[str, list[dict]]:
    return {f.stem: json.loads(f.read_text()) for f in sorted((STORE / "checks").glob("*.json"))}


def test_stored_results_belong_to_the_current_code():
    stale = tasks.store_staleness()
    assert not stale, ("the stored paper-size results are stale:\n  " + "\n  ".join(stale)
                       + f"\nrefresh them with: {tasks.REFRESH}  (minutes when only some experiments changed; "
                       "about 15 minutes from an empty store on 2 cores)")


def test_a_stale_store_is_detected(tmp_path):
    """The staleness test can fail: a manifest from other code, or another chapter's code."""
    shutil.copytree(STORE, tmp_path / "paper")
    m = json.loads((tmp_path / "paper" / "manifest.json").read_text())
    m["library"] = "0" * 64
    (tmp_path / "paper" / "manifest.json").write_text(json.dumps(m))
    assert any("library" in r for r in tasks.store_staleness(tmp_path / "paper"))
    m = json.loads((STORE / "manifest.json").read_text())
    m["chapters"][next(iter(m["chapters"]))] = "0" * 64
    (tmp_path / "paper" / "manifest.json").write_text(json.dumps(m))
    assert any("code cells" in r for r in tasks.store_staleness(tmp_path / "paper"))


def test_every_chapter_has_stored_paper_size_records():
    recs = _records()
    missing = [c for c in toc_chapters(ROOT) if not recs.get(c)]
    assert not missing, f"no stored paper-size records for {missing}; run {tasks.REFRESH}"
    manifest = json.loads((STORE / "manifest.json").read_text())
    for key in ("library", "chapters", "stored", "machine", "python", "numpy", "scipy", "numba"):
        assert manifest.get(key), f"results/paper/manifest.json lacks {key!r}"


def test_every_stored_enforced_check_passed():
    bad, fast, unclassed = [], [], []
    for chapter, recs in _records().items():
        for r in recs:
            if r.get("setting") == "fast":
                fast.append(f"{chapter}: {r['claim']}")
            if r.get("evidence") not in ("reproduction", "prediction", "consistency"):
                unclassed.append(f"{chapter}: {r['claim']}")
            if r.get("enforced", True) and not r["passed"]:
                bad.append(f"{chapter}: {r['claim']} (ours {r['ours']}, reference {r['paper']})")
    assert not fast, f"fast-mode records in the paper-size store: {fast}"
    assert not unclassed, f"records without an evidence class: {unclassed}"
    assert not bad, "enforced paper-size checks that failed:\n" + "\n".join(bad)


@pytest.mark.parametrize("page", ["ledger", "reproduction"])
def test_ledger_and_check_table_run_on_the_stored_records(page, tmp_path):
    out = execute_chapter(ROOT / "chapters" / f"{page}.md", tmp_path / f"{page}.ipynb", {"fast": False},
                          checks_dir=STORE / "checks")
    import nbformat
    nb = nbformat.read(out, as_version=4)
    text = "\n".join(str(o.get("data", {}).get("text/markdown", "")) for c in nb.cells
                      for o in c.get("outputs", []))
    assert text and "Fast mode (tests only)" not in text
    if page == "ledger":
        from scalinglaws.book import ledger
        assert all(c.id in text for c in ledger.load_claims())
