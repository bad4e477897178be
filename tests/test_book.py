"""The chapters are tests, and the book must build.

In order (pytest runs the tests of this module top to bottom; the session fixtures make every later
test depend on the earlier stages, so any subset can also be run on its own):

1. fast parameters: ``tests/fast_params/<chapter>.yml`` exists for every notebook in ``_toc.yml``,
   holds ``fast: true`` and only keys declared in the chapter's ``parameters`` cell;
2. chapters: every notebook page of ``_toc.yml`` is executed by papermill in toc order with its fast
   parameters (kernel ``python3``, clean kernel per chapter); any error or failed check fails, and each
   chapter must record at least one passing check. Executed copies: ``_build/nbtest/<stem>.ipynb``,
   checks: ``_build/nbtest/checks/`` (the reproduction page, last in the toc, tabulates them);
   The same chapters then run at their **defaults** (the papers' settings) with every experiment read
   from the committed results store in store-only mode (``_build/nbpaper/``): every enforced
   paper-size check passes, the values equal the stored records of results/paper/, a stale or
   missing stored result fails with the command that refreshes it, and no chapter may take longer
   than ``SCALINGLAWS_PAPER_LIMIT_S`` (default 300 s);
3. determinism: nbval re-runs every executed fast copy and compares its outputs
   (``--nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg``);
4. the HTML book **at its defaults** is built from the paper-size copies (no re-execution) with
   ``-W -n --keep-going``, then checked: every page exists, every ``<img>`` resolves, nothing is loaded from an external URL,
   MathJax is local, and (when Chromium is installed) math is typeset in headless Chromium.

Environment knobs: ``SCALINGLAWS_FAST_LIMIT_S`` (default 240): fail a chapter whose fast run takes longer;
``SCALINGLAWS_TOC``: path of an alternative toc file (local debugging only, e.g. a copy of ``_toc.yml``
without an unfinished chapter; the reproduction page honours it too).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from scalinglaws.book.notebooks import (temporary_env, declared_parameters, execute_chapter, parameter_dependencies, to_ipynb,
                                   toc_entries)

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
NBTEST = BUILD / "nbtest"
CHECKS = NBTEST / "checks"
NBPAPER = BUILD / "nbpaper"                 # the chapters at their defaults, from the results store
PAPER_CHECKS = NBPAPER / "checks"
STORED = ROOT / "results" / "paper" / "checks"
PAPER_LIMIT_S = float(os.environ.get("SCALINGLAWS_PAPER_LIMIT_S", "300"))
TESTBOOK = BUILD / "testbook"
FAST = ROOT / "tests" / "fast_params"
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
FAST_LIMIT_S = float(os.environ.get("SCALINGLAWS_FAST_LIMIT_S", "240"))
REPRODUCTION = "reproduction"
AGGREGATE = ("ledger", REPRODUCTION)   # pages that read every chapter's check records


def _is_notebook(entry: str) -> bool:
    md = ROOT / f"{entry}.md"
    return md.exists() and "```{code-cell}" in md.read_text()


TOC_FILE = ROOT / os.environ.get("SCALINGLAWS_TOC", "_toc.yml")
TOC = list(toc_entries(yaml.safe_load(TOC_FILE.read_text())))
NOTEBOOKS = [e for e in TOC if _is_notebook(e)]          # toc order: reproduction comes last
STEMS = [Path(e).name for e in NOTEBOOKS]


def _fast_params(stem: str) -> dict:
    path = FAST / f"{stem}.yml"
    if not path.exists():
        raise FileNotFoundError(f"missing {path.relative_to(ROOT)}: every chapter needs its fast "
                                "parameters (at least 'fast: true')")
    params = yaml.safe_load(path.read_text()) or {}
    if not isinstance(params, dict):
        raise ValueError(f"{path.relative_to(ROOT)} must be a YAML mapping, got {type(params).__name__}")
    return params


# ---------------------------------------------------------------------------------------------------
# 1. fast parameters


def test_toc_lists_every_chapter():
    chapters = sorted(p.stem for p in (ROOT / "chapters").glob("*.md"))
    listed = {Path(e).name for e in TOC}
    if TOC_FILE == ROOT / "_toc.yml":
        assert not [c for c in chapters if c not in listed], "chapters/*.md not listed in _toc.yml"
    assert [e for e in TOC if not (ROOT / f"{e}.md").exists()] == [], "_toc.yml entry without a file"
    assert NOTEBOOKS and NOTEBOOKS[-1] == f"chapters/{REPRODUCTION}", \
        "the reproduction page must be the last notebook in _toc.yml (it reads all other checks)"
    first_aggregate = min(STEMS.index(a) for a in AGGREGATE)
    assert all(s in AGGREGATE for s in STEMS[first_aggregate:]), \
        "the ledger and the check table must come after every chapter in _toc.yml"


@pytest.mark.parametrize("stem", STEMS)
def test_fast_params_declared(stem, tmp_path):
    params = _fast_params(stem)
    assert params.get("fast") is True, f"tests/fast_params/{stem}.yml must contain 'fast: true'"
    nb = to_ipynb(ROOT / f"{NOTEBOOKS[STEMS.index(stem)]}.md", tmp_path / f"{stem}.ipynb")
    declared = declared_parameters(nb)
    unknown = sorted(set(params) - set(declared))
    assert not unknown, (f"tests/fast_params/{stem}.yml sets {unknown}, which the chapter's "
                         f"parameters cell does not declare (declared: {sorted(declared)})")


@pytest.mark.parametrize("stem", STEMS)
def test_parameter_defaults_are_independent(stem, tmp_path):
    """papermill injects after the parameters cell: a default computed there from another parameter
    (``P = d // 2``) would not follow an injected value, so re-parameterising would silently run a
    different experiment."""
    nb = to_ipynb(ROOT / f"{NOTEBOOKS[STEMS.index(stem)]}.md", tmp_path / f"{stem}.ipynb")
    deps = parameter_dependencies(nb)
    assert not deps, (f"{stem}: parameters computed from other parameters in the parameters cell: "
                      f"{deps}; set them to None there and derive them after the cell")


# ---------------------------------------------------------------------------------------------------
# 2. every chapter executed by papermill (once per session, in toc order)


class _Runner:
    """Executes notebooks on demand, each at most once per session (so ``-k 02_plateaus`` runs one
    chapter); the reproduction page and the book first run every other notebook, in toc order.

    ``paper=False``: the fast parameters (tests/fast_params), computing everything.
    ``paper=True``: the chapters' defaults (the papers' settings) with every experiment read from
    the results store in store-only mode (``SCALINGLAWS_STORE_ONLY=1``): a missing or stale stored
    result fails the chapter with the command that refreshes the store."""

    def __init__(self, paper: bool = False):
        self.paper = paper
        self.dir, self.checks = (NBPAPER, PAPER_CHECKS) if paper else (NBTEST, CHECKS)
        shutil.rmtree(self.dir, ignore_errors=True)       # (a fresh scratch store for fast runs)
        self.dir.mkdir(parents=True)
        self.results: dict[str, tuple[BaseException | None, float]] = {}

    def __getitem__(self, stem: str) -> tuple[BaseException | None, float]:
        if stem not in self.results:
            if stem in AGGREGATE:
                for other in STEMS:
                    if other not in AGGREGATE:
                        self[other]
            self.results[stem] = self._run(stem)
        return self.results[stem]

    def all(self) -> dict[str, tuple[BaseException | None, float]]:
        for stem in STEMS:
            self[stem]
        return self.results

    def _run(self, stem: str) -> tuple[BaseException | None, float]:
        entry = NOTEBOOKS[STEMS.index(stem)]
        t0 = time.perf_counter()
        # paper: store-only, the committed results/store/; fast: a scratch store (computed afresh,
        # never written into the committed one)
        env = ({"SCALINGLAWS_STORE_ONLY": "1", "SCALINGLAWS_STORE": None} if self.paper else
               {"SCALINGLAWS_STORE_ONLY": None, "SCALINGLAWS_STORE": str(self.dir / "store")})
        try:
            with temporary_env(**env):      # paper: store-only, the committed results/store/
                execute_chapter(ROOT / f"{entry}.md", self.dir / f"{stem}.ipynb",
                                {} if self.paper else _fast_params(stem), checks_dir=self.checks)
            err = None
        except Exception as exc:  # reported by the chapter's own test
            err = exc
        seconds = time.perf_counter() - t0
        print(f"[papermill{' paper' if self.paper else ''}] {stem}: {'ok' if err is None else 'FAILED'} "
              f"in {seconds:.1f} s", file=sys.stderr)
        timings = self.dir / "timings.json"
        old = json.loads(timings.read_text()) if timings.exists() else {}
        timings.write_text(json.dumps({**old, stem: round(seconds, 2)}, indent=1))
        return err, seconds


@pytest.fixture(scope="session")
def executed():
    """stem -> (exception or None, seconds) of the fast papermill run, executed on first access."""
    return _Runner()


@pytest.fixture(scope="session")
def executed_paper():
    """stem -> (exception or None, seconds) of the run at the chapter's defaults from the store."""
    return _Runner(paper=True)


def _values(records: list[dict]) -> dict:
    return {r["claim"]: r for r in records}


@pytest.mark.chapter
@pytest.mark.parametrize("stem", STEMS)
def test_paper_size_chapter_from_the_store(stem, executed_paper):
    """The book at its defaults (the papers' settings), every experiment from results/store/:
    every enforced check passes, the check values equal the stored paper-size records of the
    build that filled the store (results/paper/), and no experiment is recomputed (store-only)."""
    err, seconds = executed_paper[stem]
    if err is not None:
        raise AssertionError(f"{stem} at its defaults from the results store failed (a missing or "
                             f"stale stored result names 'python3 tasks.py book && python3 tasks.py "
                             f"store'):\n{str(err)[-3000:]}")
    if stem in AGGREGATE:
        return
    now = json.loads((PAPER_CHECKS / f"{stem}.json").read_text())
    assert all(r["setting"] != "fast" for r in now), f"{stem}: fast-mode records at the defaults"
    failed = [r["claim"] for r in now if not r["passed"] and r.get("enforced", True)]
    assert not failed, f"{stem}: failed paper-size checks {failed}"
    stored = _values(json.loads((STORED / f"{stem}.json").read_text()))
    now = _values(now)
    assert set(now) == set(stored), (f"{stem}: checks differ from results/paper/ (added "
                                     f"{sorted(set(now) - set(stored))[:3]}, removed "
                                     f"{sorted(set(stored) - set(now))[:3]})")
    diff = []
    for k, r in now.items():
        a, b = r["ours"], stored[k]["ours"]
        same = a == b or (isinstance(a, float) and isinstance(b, float)
                          and (abs(a - b) <= 1e-9 * max(abs(a), abs(b)) or (a != a and b != b)))
        if not same or r["passed"] != stored[k]["passed"]:
            diff.append(f"{k}: {b!r} stored, {a!r} now")
    assert not diff, f"{stem}: values differ from the stored paper-size records: {diff[:5]}"
    assert seconds <= PAPER_LIMIT_S, (f"{stem} took {seconds:.0f} s at its defaults from the store "
                                      f"(limit {PAPER_LIMIT_S:.0f} s): an expensive computation is "
                                      "not an experiment of scalinglaws.experiments")


@pytest.mark.chapter
@pytest.mark.parametrize("stem", STEMS)
def test_chapter_runs_and_checks_pass(stem, executed):
    err, seconds = executed[stem]
    if err is not None:
        raise err
    if stem not in AGGREGATE:
        path = CHECKS / f"{stem}.json"
        assert path.exists(), (f"{stem} recorded no checks: create Checker({stem!r}) (the name must be "
                               "the file stem) and call checks.check(...) at least once")
        records = json.loads(path.read_text())
        assert records, f"{stem} recorded no checks"
        failed = [r["claim"] for r in records if not r["passed"] and r.get("enforced", True)]
        assert any(r["passed"] and r.get("enforced", True) for r in records), \
            f"{stem} has no passing enforced check"
        assert not failed, f"{stem}: failed checks {failed}"
    assert seconds <= FAST_LIMIT_S, (f"{stem} took {seconds:.0f} s in fast mode (limit "
                                     f"{FAST_LIMIT_S:.0f} s); shrink tests/fast_params/{stem}.yml")


_PATH_IN_OUTPUT = re.compile(r"(/[\w.-]+){2,}\.py\b|site-packages|/work/|\.venv/")


@pytest.mark.chapter
@pytest.mark.parametrize("stem", STEMS)
def test_chapter_outputs_show_no_warning_or_path(stem, executed):
    """The rendered chapter shows prose, figures and check results: no warning text, no traceback
    and no file path may be printed into a cell output."""
    import nbformat
    err, _ = executed[stem]
    if err is not None:
        pytest.fail(f"{stem} did not execute")
    nb = nbformat.read(NBTEST / f"{stem}.ipynb", as_version=4)
    bad = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            text = out.get("text", "") if out.get("output_type") == "stream" else \
                str(out.get("data", {}).get("text/plain", ""))
            if out.get("output_type") == "stream" and out.get("name") == "stderr" and text.strip():
                bad.append(f"cell {i}: stderr: {text[:200]!r}")
            elif re.search(r"\w*Warning\b", text) or _PATH_IN_OUTPUT.search(text):
                bad.append(f"cell {i}: {text[:200]!r}")
    assert not bad, f"{stem}: warnings or paths in the outputs:\n" + "\n".join(bad)


def test_no_pointer_outside_the_repository():
    """Readers only have the book: no chapter, page or docstring may send them to the team's
    private notes (shared/...) or to an absolute path on a developer's machine."""
    files = [*ROOT.glob("*.md"), *(ROOT / "chapters").rglob("*.md"), *(ROOT / "chapters").rglob("*.yml"),
             *(ROOT / "lib").rglob("*.py")]
    bad = [f"{f.relative_to(ROOT)}:{n}" for f in files
           if f.name not in ("README.md", "CONTRIBUTING.md") and not f.name.startswith(".")
           for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
           if re.search(r"shared/papers|shared/seeds|/work/|\b(our|team|private) notes\b", line, re.I)]
    assert not bad, f"pointers outside the repository: {bad}"


def test_printed_timings_are_sanitised():
    """A wall-clock time printed by a chapter changes from run to run; nbval only tolerates it behind
    one of the sanitiser's keywords (tests/nbval_sanitize.cfg), which masks the rest of the line.
    (A fast-mode run once printed "ODE 0 s" and its re-run "ODE 1 s".)"""
    cfg = SANITIZE.read_text(encoding="utf-8")
    keywords = re.search(r"regex: \(([^)]*)\)\[\^\\n\]\*", cfg).group(1)
    timing = re.compile(r"\[[\'\"](seconds|wall|elapsed)[\'\"]\]|perf_counter\(|time\.time\(")
    bad = []
    for nb in NOTEBOOKS:
        for n, line in enumerate((ROOT / f"{nb}.md").read_text(encoding="utf-8").splitlines(), 1):
            if timing.search(line) and "{" in line and not re.search(rf"({keywords})[^{{]*\{{", line):
                bad.append(f"{Path(nb).name}:{n}: {line.strip()[:120]}")
    assert not bad, f"timings printed without a sanitised keyword ({keywords}):\n" + "\n".join(bad)


# ---------------------------------------------------------------------------------------------------
# 3. determinism: nbval re-runs the executed copies


@pytest.mark.chapter
@pytest.mark.parametrize("stem", STEMS)
def test_chapter_is_deterministic(stem, executed):
    if executed[stem][0] is not None:
        pytest.fail(f"{stem} did not execute; see test_chapter_runs_and_checks_pass[{stem}]")
    # a fresh store of its own: the re-run recomputes every experiment (a real determinism test)
    env = dict(os.environ, SCALINGLAWS_CHECKS_DIR=str(CHECKS), SCALINGLAWS_PROGRESS="0",
               SCALINGLAWS_STORE=str(NBTEST / f"store_nbval_{stem}"))
    env.pop("SCALINGLAWS_STORE_ONLY", None)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
           "--nbval-current-env", "--nbval-sanitize-with", str(SANITIZE), str(NBTEST / f"{stem}.ipynb")]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, (f"nbval: re-running {stem} changed its outputs (unseeded randomness, "
                                  f"timings or addresses in the output?):\n{proc.stdout[-6000:]}"
                                  f"\n{proc.stderr[-2000:]}")


# ---------------------------------------------------------------------------------------------------
# 4. the book at its defaults (paper size), built from the chapters executed from the store


def _assemble_testbook() -> Path:
    shutil.rmtree(TESTBOOK, ignore_errors=True)
    TESTBOOK.mkdir(parents=True)
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    cfg.setdefault("execute", {})["execute_notebooks"] = "off"
    (TESTBOOK / "_config.yml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    shutil.copy2(TOC_FILE, TESTBOOK / "_toc.yml")
    shutil.copy2(ROOT / "references.bib", TESTBOOK / "references.bib")
    for extra in ("_static", "images", "figures"):
        if (ROOT / extra).is_dir():
            shutil.copytree(ROOT / extra, TESTBOOK / extra)
    # static files next to the chapters (images, data), but not the chapter sources themselves
    shutil.copytree(ROOT / "chapters", TESTBOOK / "chapters",
                    ignore=shutil.ignore_patterns("*.md", "*.ipynb", ".ipynb_checkpoints", "__pycache__"))
    for entry in TOC:
        dst = TESTBOOK / entry
        dst.parent.mkdir(parents=True, exist_ok=True)
        if entry in NOTEBOOKS:
            # the test book shows the papermill runs as they are: drop a file-level execution mode
            # (the ledger's 'force', meant for the real build) so that nothing is re-executed here
            import nbformat
            nb = nbformat.read(NBPAPER / f"{Path(entry).name}.ipynb", as_version=4)
            nb.metadata.get("mystnb", {}).pop("execution_mode", None)
            nbformat.write(nb, dst.with_suffix(".ipynb"))
        else:
            shutil.copy2(ROOT / f"{entry}.md", dst.with_suffix(".md"))
    return TESTBOOK


@pytest.fixture(scope="session")
def testbook(executed_paper):
    failed = [s for s, (err, _) in executed_paper.all().items() if err is not None]
    if failed:
        pytest.fail(f"cannot build the book at its defaults: chapters {failed} did not execute "
                    "from the results store")
    book = _assemble_testbook()
    jb = Path(sys.executable).with_name("jupyter-book")
    t0 = time.perf_counter()
    proc = subprocess.run([str(jb), "build", str(book), "-W", "-n", "--keep-going"], cwd=ROOT,
                          capture_output=True, text=True)
    print(f"[book] test build in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return proc, book / "_build" / "html"


def _pages(html: Path) -> list[Path]:
    return [p for p in html.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts]


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def _parse(page: Path) -> _Tags:
    p = _Tags()
    p.feed(page.read_text(encoding="utf-8"))
    return p


_EXTERNAL = re.compile(r"^(https?:)?//", re.I)
_CSS_EXTERNAL = re.compile(r"(url\(\s*['\"]?|@import\s+['\"])(https?:)?//", re.I)
# (tag, attribute) pairs that make a browser fetch something when the page loads
_LOADS = {("script", "src"), ("img", "src"), ("iframe", "src"), ("source", "src"), ("video", "src"),
          ("audio", "src"), ("embed", "src"), ("object", "data"), ("input", "src"), ("track", "src")}


def _local_target(page: Path, url: str) -> Path:
    url = url.split("#", 1)[0].split("?", 1)[0]
    return (page.parent / url).resolve()


@pytest.mark.book
def test_book_builds_without_warnings(testbook):
    proc, html = testbook
    assert proc.returncode == 0, ("jupyter-book build -W -n --keep-going failed (warnings are errors; "
                                  "broken citation keys, references and images show up here):\n"
                                  + (proc.stdout + proc.stderr)[-8000:])
    assert (html / "index.html").exists()


@pytest.mark.book
def test_every_page_exists(testbook):
    proc, html = testbook
    missing = [e for e in TOC if not (html / f"{e}.html").exists()]
    assert not missing, f"pages missing from the built book: {missing}"


@pytest.mark.book
def test_every_image_resolves(testbook):
    proc, html = testbook
    broken, n = [], 0
    for page in _pages(html):
        for tag, attrs in _parse(page).tags:
            if tag == "img" and attrs.get("src"):
                n += 1
                src = attrs["src"]
                if src.startswith("data:") or _EXTERNAL.match(src):
                    continue  # data URIs are inline; external ones fail test_nothing_is_loaded_from_outside
                if not _local_target(page, src).is_file():
                    broken.append(f"{page.relative_to(html)}: {src}")
    assert not broken, f"images that do not resolve: {broken}"
    figures = [e for e in NOTEBOOKS if Path(e).name not in AGGREGATE
               and '<img' in (html / f"{e}.html").read_text()]
    assert n > 0 and figures, "no chapter page has a figure"


@pytest.mark.book
def test_nothing_is_loaded_from_outside(testbook):
    proc, html = testbook
    external = []
    css_files: set[Path] = set()
    for page in _pages(html):
        parsed = _parse(page)
        for tag, attrs in parsed.tags:
            for t, attr in _LOADS:
                if tag == t and attrs.get(attr) and _EXTERNAL.match(attrs[attr]):
                    external.append(f"{page.relative_to(html)}: <{tag} {attr}={attrs[attr]}>")
            if tag == "link" and attrs.get("href"):
                rel = (attrs.get("rel") or "").lower()
                if rel in ("canonical", "alternate", "author", "license", "help", "search"):
                    continue
                if _EXTERNAL.match(attrs["href"]):
                    external.append(f"{page.relative_to(html)}: <link rel={rel} href={attrs['href']}>")
                elif "stylesheet" in rel:
                    css_files.add(_local_target(page, attrs["href"]))
        for style in parsed.styles:
            if _CSS_EXTERNAL.search(style):
                external.append(f"{page.relative_to(html)}: inline <style> imports an external URL")
    for css in css_files:
        if css.is_file() and _CSS_EXTERNAL.search(css.read_text(encoding="utf-8", errors="replace")):
            external.append(f"{css.relative_to(html)}: url()/@import of an external URL")
    assert not external, "the book must work offline; external loads:\n" + "\n".join(external)


@pytest.mark.book
def test_mathjax_is_local(testbook):
    proc, html = testbook
    page = html / f"{NOTEBOOKS[0]}.html"
    srcs = [a.get("src", "") for t, a in _parse(page).tags if t == "script" and "mathjax" in a.get("src", "").lower()]
    assert srcs, f"{page.name} loads no MathJax script"
    for src in srcs:
        assert not _EXTERNAL.match(src) and _local_target(page, src).is_file(), f"MathJax not local: {src}"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.book
@pytest.mark.skipif(_chromium() is None, reason="Chromium not installed (apt-get install chromium); "
                    "math typesetting not checked in a browser")
def test_math_is_typeset_in_chromium(testbook):
    proc, html = testbook
    pages = [html / "index.html"] + [html / f"{e}.html" for e in TOC]
    pages = [p for p in pages if p.exists() and 'class="math' in p.read_text(encoding="utf-8")]
    assert pages, "no page with math found"
    untypeset = []
    for page in pages:
        with tempfile.TemporaryDirectory() as profile:
            proc = subprocess.run(
                [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                 "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
                capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        if "<mjx-container" not in proc.stdout:
            untypeset.append(f"{page.relative_to(html)} (rc={proc.returncode}, "
                             f"{len(proc.stdout)} chars of DOM; stderr tail: {proc.stderr[-300:]!r})")
    assert not untypeset, "math not typeset by the local MathJax in:\n" + "\n".join(untypeset)


@pytest.mark.book
def test_reproduction_table_lists_every_check(testbook):
    proc, html = testbook
    records = []
    for f in sorted(PAPER_CHECKS.glob("*.json")):          # the book is the paper-size build
        records.extend(json.loads(f.read_text()))
    page = (html / f"chapters/{REPRODUCTION}.html").read_text(encoding="utf-8")
    tables = re.findall(r"<table.*?</table>", page, flags=re.S)
    assert tables, "the reproduction page shows no table"
    # the per-class tables have a '#' column; the counts table does not
    check_tables = [t for t in tables if re.search(r"<th[^>]*>\s*(<p>)?#", t)]
    rows = sum(len(re.findall(r"<tr", t)) - 1 for t in check_tables)   # minus the header rows
    assert rows == len(records), f"reproduction tables have {rows} rows for {len(records)} checks"
    chapters = {r["chapter"] for r in records}
    assert chapters == {s for s in STEMS if s not in AGGREGATE}, "a chapter is missing from the table"
    assert all(r.get("evidence") in ("reproduction", "prediction", "consistency") for r in records)
    assert not any(r.get("setting") == "fast" for r in records), "the paper-size book shows fast records"
    fast = [r for f in sorted(CHECKS.glob("*.json")) for r in json.loads(f.read_text())]
    assert all(r.get("setting") == "fast" for r in fast), "fast-mode records must say 'fast'"


@pytest.mark.book
def test_ledger_lists_every_declared_claim(testbook):
    from scalinglaws.book import ledger
    proc, html = testbook
    page = (html / "chapters/ledger.html").read_text(encoding="utf-8")
    claims = ledger.load_claims()
    missing = [c.id for c in claims if c.id not in page]
    assert not missing, f"claims missing from the ledger page: {missing}"
    for paper in {c.paper for c in claims}:
        assert ledger.PAPERS[paper]["short"].replace("&", "&amp;") in page


_OVERFLOW_JS = """<script>
window.addEventListener('load', function () {
  setTimeout(function () {
    var bad = [];
    document.querySelectorAll('table').forEach(function (t, i) {
      var box = t.parentElement; while (box && box.clientWidth === 0) box = box.parentElement;
      var main = document.querySelector('article') || document.querySelector('main') || document.body;
      var limit = Math.min(box ? box.getBoundingClientRect().right : 1e9,
                           main.getBoundingClientRect().right);
      var r = t.getBoundingClientRect();
      if (r.right > limit + 1 || t.scrollWidth > t.clientWidth + 1)
        bad.push(i + ':' + Math.round(r.right) + '>' + Math.round(limit));
    });
    var d = document.createElement('div'); d.id = 'overflow-result';
    d.textContent = 'OVERFLOW[' + bad.join(',') + ']'; document.body.appendChild(d);
  }, 500);
});
</script>"""


def _table_overflow(src: Path, inject: str = "") -> str:
    """Lay out ``src`` in headless Chromium at 1280 px and return the tables wider than their column
    ("index:right>limit", comma separated; empty when every table fits)."""
    text = src.read_text(encoding="utf-8")
    if inject:
        i = text.index("<table")
        text = text[:i] + inject + text[i:]
    probe = src.with_name(src.stem + ".overflow-probe.html")
    probe.write_text(text.replace("</body>", _OVERFLOW_JS + "</body>"), encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory() as profile:
            proc = subprocess.run(
                [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1280,900",
                 "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
                capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    finally:
        probe.unlink(missing_ok=True)
    m = re.search(r'id="overflow-result">OVERFLOW\[([^\]]*)\]', proc.stdout)
    assert m, f"the probe did not run (rc={proc.returncode}): {proc.stderr[-500:]}"
    return m.group(1)


@pytest.mark.book
@pytest.mark.skipif(_chromium() is None, reason="Chromium not installed (apt-get install chromium); "
                    "table widths not checked in a browser")
@pytest.mark.parametrize("page", ["chapters/ledger", f"chapters/{REPRODUCTION}"])
def test_no_table_overflows_its_column(testbook, page):
    """At a normal laptop width (1280 px), no table of the ledger or the check table is wider than
    the text column (headless Chromium measures the laid-out page)."""
    proc, html = testbook
    bad = _table_overflow(html / f"{page}.html")
    assert bad == "", f"{page}: tables wider than the text column (index:right>limit): {bad}"


@pytest.mark.book
@pytest.mark.skipif(_chromium() is None, reason="Chromium not installed")
def test_table_overflow_probe_detects_a_wide_table(testbook):
    """The overflow test can fail: a table whose cells cannot wrap (nowrap text), as the theme wraps
    it in its scroll container, is reported."""
    proc, html = testbook
    row = "<tr>" + "".join(f'<td style="white-space:nowrap">a cell of text that may not wrap {i}</td>'
                           for i in range(8)) + "</tr>"
    wide = f'<div class="pst-scrollable-table-container"><table class="table"><tbody>{row}</tbody></table></div>'
    assert _table_overflow(html / f"chapters/{REPRODUCTION}.html", inject=wide).startswith("0:")


# ---------------------------------------------------------------------------------------------------
# chapters stay thin: science and experiments live in the library


def _code_cell_sizes(md: Path) -> list[int]:
    """Non-blank, non-comment lines of every code cell except the ``parameters`` cell."""
    sizes = []
    for cell in re.findall(r"```\{code-cell\}[^\n]*\n(.*?)\n```", md.read_text(encoding="utf-8"), re.S):
        head = cell.split("\n", 6)[:6]
        if any("parameters" in h and ("tags" in h) for h in head):
            continue
        lines = [ln for ln in cell.splitlines() if ln.strip() and not ln.strip().startswith("#")
                 and not ln.startswith(":") and ln.strip() != "---" and not ln.startswith("tags:")]
        sizes.append(len(lines))
    return sizes


@pytest.mark.parametrize("stem", STEMS)
def test_chapter_cells_are_thin(stem):
    """A chapter cell calls, plots or checks: at most 40 lines, and the chapter's median under 12
    (the computations are experiments of scalinglaws.experiments)."""
    import statistics
    sizes = _code_cell_sizes(ROOT / f"{NOTEBOOKS[STEMS.index(stem)]}.md")
    if not sizes:
        return
    assert max(sizes) <= 40, f"{stem}: a code cell has {max(sizes)} lines (limit 40): move it into the library"
    assert statistics.median(sizes) < 12, f"{stem}: median code cell {statistics.median(sizes)} lines (limit < 12)"
