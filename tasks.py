#!/usr/bin/env python3
"""The book's commands, with nothing but Python >= 3.11 (standard library only).

    python3 tasks.py book    build the whole rendered book (executes every chapter at paper size;
                             unchanged chapters come from the execution cache, see book())
                             -> _build/html/index.html   (--fresh: re-execute everything)
    python3 tasks.py test    run the whole test suite (unit tests, chapters in fast mode, nbval,
                             book build checks); extra arguments go to pytest
    python3 tasks.py run CHAPTER [papermill options]
                             re-run one chapter with new parameters -> _build/run/CHAPTER/
                             e.g. python3 tasks.py run 02_plateaus -p N_fig 1024
    python3 tasks.py store   after a successful `book`: store its paper-size check records in
                             results/paper/ (keyed to the library and each chapter's code cells)
                             and prune results/store/ (the experiments' cached results, filled by
                             `book`) to the entries that build used; the test suite rebuilds the
                             book at its defaults from the store and fails when either is stale
    python3 tasks.py env     create/update the pinned environment only
    python3 tasks.py lock    regenerate requirements.lock from .venv
    python3 tasks.py clean | distclean

Every command first creates or updates ``.venv`` with the pinned versions of ``requirements.lock``
plus the editable ``scalinglaws`` package; this happens only when ``requirements.lock`` or
``pyproject.toml`` is newer than the stamp ``.venv/.stamp``.  ``make book`` / ``make test`` /
``make run`` are shortcuts for the same commands.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".stamp"
JB_FLAGS = ["-W", "-n", "--keep-going"]
ENV = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_ROOT_USER_ACTION": "ignore",
       "PYTHONDONTWRITEBYTECODE": "1"}
# pip freeze output that stays out of the lock: the 'jupyter' metapackage family (see TOOLCHAIN notes)
UNLOCKED = ("jupyter==", "jupyterlab==", "notebook==")


def _run(cmd: list, env: dict | None = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    rc = subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)
    if rc:
        sys.exit(rc)


def env() -> None:
    """Create/update .venv from requirements.lock (+ editable package) when the inputs changed."""
    if sys.version_info < (3, 11):
        sys.exit(f"Python >= 3.11 is required, found {sys.version.split()[0]} "
                 "(run this script with python3.11 or newer)")
    inputs = [ROOT / "requirements.lock", ROOT / "pyproject.toml"]
    if STAMP.exists() and all(f.stat().st_mtime <= STAMP.stat().st_mtime for f in inputs):
        return
    if not PY.exists():
        print(f"creating {VENV.name} with Python {sys.version.split()[0]}", flush=True)
        try:
            venv.create(VENV, with_pip=True)
        except Exception as exc:  # e.g. Debian/Ubuntu without the python3-venv package
            shutil.rmtree(VENV, ignore_errors=True)
            sys.exit(f"could not create {VENV}: {exc}\n(on Debian/Ubuntu: apt install python3-venv)")
    _run([PY, "-m", "pip", "install", "-q", "-r", "requirements.lock"])
    _run([PY, "-m", "pip", "install", "-q", "--no-deps", "-e", "."])
    STAMP.touch()


def _code_fingerprint() -> str:
    """SHA-256 of everything a chapter's results depend on besides its own code cells: the library
    sources, the pinned environment and the package metadata.  jupyter-cache keys a chapter on its
    code cells only, so a change here must invalidate every cached execution."""
    import hashlib
    h = hashlib.sha256()
    files = sorted((ROOT / "lib").rglob("*.py")) + [ROOT / "requirements.lock", ROOT / "pyproject.toml"]
    for f in files:
        if "__pycache__" in f.parts:
            continue
        h.update(f.relative_to(ROOT).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def book(args: list[str]) -> None:
    """Execute every chapter at its paper-size defaults and build _build/html (warnings are errors).

    Chapters are executed through jupyter-cache (``execute_notebooks: cache``): a chapter whose code
    cells are unchanged since its last successful execution is taken from the cache, so a prose-only
    edit rebuilds in about a minute.  Any change to the library, ``requirements.lock`` or
    ``pyproject.toml`` (:func:`_code_fingerprint`) clears the cache and the check records first, so
    a cached result can never come from other code.  The ledger and the check table are always
    re-executed (file-level ``execution_mode: force``).  ``--fresh`` clears the cache regardless.
    The checks of the executed chapters go to _build/checks, read by the ledger and the check table.
    """
    env()
    build = ROOT / "_build"
    stamp, cache, checks = build / ".book_fingerprint", build / ".jupyter_cache", build / "checks"
    fresh = "--fresh" in args
    args = [a for a in args if a != "--fresh"]
    fp = _code_fingerprint()
    old = stamp.read_text().strip() if stamp.exists() else ""
    used = build / "store_used.txt"
    if fresh or fp != old or not checks.is_dir():
        why = ("--fresh" if fresh else "first build" if not old else
               "no check records" if not checks.is_dir() else "library or environment changed")
        print(f"book: executing every chapter ({why}); cached executions cleared (experiments still "
              "come from results/store/ when their code and parameters are unchanged)", flush=True)
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(checks, ignore_errors=True)
        stamp.unlink(missing_ok=True)
        used.unlink(missing_ok=True)
    else:
        print("book: library unchanged; chapters whose code cells are unchanged come from the cache",
              flush=True)
    e = dict(os.environ)
    e.pop("SCALINGLAWS_CHECKS_DIR", None)
    e.setdefault("SCALINGLAWS_PROGRESS", "0")     # no progress bars in the executed pages
    build.mkdir(exist_ok=True)
    e["SCALINGLAWS_STORE_USED"] = str(used)        # the store keys this build reads or writes
    _run([BIN / "jupyter-book", "build", ".", "--all", *JB_FLAGS, *args], env=e)
    build.mkdir(exist_ok=True)
    stamp.write_text(fp + "\n")
    print(f"book: {ROOT / '_build' / 'html' / 'index.html'}")


RESULTS = ROOT / "results" / "paper"
STORE = ROOT / "results" / "store"
REFRESH = "python3 tasks.py book && python3 tasks.py store"


def _code_cells_hash(md: Path) -> str:
    """SHA-256 of a MyST chapter's code cells (sources and tags, in order), the part of a chapter
    its results depend on: a prose edit leaves it unchanged."""
    import hashlib
    import re
    cells = re.findall(r"```\{code-cell\}[^\n]*\n(.*?)\n```", md.read_text(encoding="utf-8"), flags=re.S)
    return hashlib.sha256("\0".join(cells).encode()).hexdigest()


def store_staleness(results: Path = RESULTS) -> list[str]:
    """Why the stored paper-size results in ``results`` do not belong to the current code (empty
    list: they do).  Compares the library/environment fingerprint and each chapter's code cells."""
    import json
    manifest = results / "manifest.json"
    if not manifest.is_file():
        return [f"no stored results ({manifest.relative_to(ROOT)} missing)"]
    m = json.loads(manifest.read_text())
    out = []
    if m.get("library") != _code_fingerprint():
        out.append("the library, requirements.lock or pyproject.toml changed since the results were stored")
    for stem, h in sorted(m.get("chapters", {}).items()):
        md = ROOT / "chapters" / f"{stem}.md"
        if not md.is_file():
            out.append(f"chapter {stem} no longer exists")
        elif _code_cells_hash(md) != h:
            out.append(f"the code cells of chapter {stem} changed since the results were stored")
    return out


def store(args: list[str]) -> None:
    """Copy the check records of the last complete `book` build into results/paper/ with a manifest
    (fingerprints, date, machine, versions, run times).  Refuses unless that build ran on the
    current code."""
    import datetime
    import json
    import platform
    build = ROOT / "_build"
    stamp, checks = build / ".book_fingerprint", build / "checks"
    fp = _code_fingerprint()
    if not stamp.is_file() or stamp.read_text().strip() != fp or not checks.is_dir():
        sys.exit("store: no complete book build of the current code; run 'python3 tasks.py book' first")
    records = sorted(checks.glob("*.json"))
    if not records:
        sys.exit("store: _build/checks holds no check records")
    if any(r.get("setting") == "fast" for f in records for r in json.loads(f.read_text())):
        sys.exit("store: _build/checks holds fast-mode records; run 'python3 tasks.py book'")
    env()
    versions = subprocess.run([str(PY), "-c", "import numpy, scipy, numba; print(numpy.__version__, "
                               "scipy.__version__, numba.__version__)"], capture_output=True, text=True,
                              check=True).stdout.split()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    pruned, kept, size = _prune_store(build / "store_used.txt")
    shutil.rmtree(RESULTS, ignore_errors=True)
    (RESULTS / "checks").mkdir(parents=True)
    chapters = {}
    for f in records:
        shutil.copy2(f, RESULTS / "checks" / f.name)
        chapters[f.stem] = _code_cells_hash(ROOT / "chapters" / f"{f.stem}.md")
    manifest = {"library": fp, "chapters": chapters, "command": "python3 tasks.py book",
                "refresh": REFRESH, "stored": datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec="seconds"), "built_from_commit": commit,
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
                "python": platform.python_version(),
                "numpy": versions[0], "scipy": versions[1], "numba": versions[2],
                "store": {"entries": kept, "bytes": size}}
    (RESULTS / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"store: {len(records)} chapters' check records -> {RESULTS.relative_to(ROOT)}; "
          f"{STORE.relative_to(ROOT)}: {kept} experiment results ({size / 1e6:.1f} MB), {pruned} pruned")


def _prune_store(used_log: Path) -> tuple[int, int, int]:
    """Delete the entries of results/store/ that the last book build did not use (old code or
    parameters); returns (pruned, kept, bytes kept)."""
    if not STORE.is_dir():
        return 0, 0, 0
    if not used_log.is_file():
        sys.exit("store: the book build recorded no experiment results (_build/store_used.txt "
                 "missing); run 'python3 tasks.py book --fresh' first")
    used = set(used_log.read_text().split())
    pruned = kept = size = 0
    for f in STORE.glob("*.pkl"):
        if f.stem in used:
            kept += 1
            size += f.stat().st_size
        else:
            f.unlink()
            pruned += 1
    return pruned, kept, size


def test(args: list[str]) -> None:
    """The whole test suite (see tests/test_book.py for the chapter and book tests)."""
    env()
    _run([PY, "-m", "pytest", "-ra", "--durations=10", *args])


def run(args: list[str]) -> None:
    """Re-run one chapter with papermill: run CHAPTER [-p NAME VALUE ...]."""
    if not args:
        sys.exit("usage: python3 tasks.py run CHAPTER [-p NAME VALUE ...]   (e.g. run 02_plateaus -p N_fig 1024)")
    env()
    _run([PY, "-m", "scalinglaws.book.notebooks", "run", *args])


def lock(args: list[str]) -> None:
    """Regenerate requirements.lock from the current .venv."""
    if not PY.exists():
        sys.exit(f"no {VENV.name}; run 'python3 tasks.py env' first")
    frozen = subprocess.run([str(PY), "-m", "pip", "freeze", "--exclude-editable"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout.splitlines()
    keep = [line for line in frozen if not line.startswith("-e")
            and not line.lower().startswith(UNLOCKED)]
    head = ["# Pinned environment for the book and its tests (generated by 'python3 tasks.py lock' from .venv:",
            "#   pip freeze --exclude-editable, without the 'jupyter' metapackage; see TOOLCHAIN notes).",
            "# Install: python3 -m venv .venv && .venv/bin/pip install -r requirements.lock "
            "&& .venv/bin/pip install --no-deps -e ."]
    tmp = ROOT / "requirements.lock.tmp"
    tmp.write_text("\n".join(head + keep) + "\n")
    tmp.replace(ROOT / "requirements.lock")
    print(f"requirements.lock: {len(keep)} pinned packages")


def clean(args: list[str]) -> None:
    shutil.rmtree(ROOT / "_build", ignore_errors=True)
    for p in (ROOT / "lib").glob("*.egg-info"):
        shutil.rmtree(p, ignore_errors=True)


def distclean(args: list[str]) -> None:
    clean(args)
    shutil.rmtree(VENV, ignore_errors=True)


COMMANDS = {"env": lambda a: env(), "book": book, "store": store, "test": test, "run": run, "lock": lock,
            "clean": clean, "distclean": distclean}


def main(argv: list[str]) -> None:
    if not argv or argv[0] in ("-h", "--help", "help") or argv[0] not in COMMANDS:
        print(__doc__)
        sys.exit(0 if argv and argv[0] in ("-h", "--help", "help") else 2)
    os.environ.update(ENV)
    COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
