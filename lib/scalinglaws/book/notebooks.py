"""Run the book's chapters as parameterised notebooks (papermill), for the tests and ``python3 tasks.py run``.

Chapters are MyST-markdown notebooks (``chapters/NN_name.md``, jupytext ``md:myst``).  papermill
only reads ``.ipynb``, so a chapter is converted with jupytext first; the ``parameters`` cell tag
survives the conversion and papermill injects the new values right after it.

Guarantees of :func:`execute_chapter`:

- parameters not declared in the chapter's ``parameters`` cell are rejected *before* anything runs
  (a misspelt fast parameter would otherwise be injected silently and change nothing);
- the kernel is ``python3`` from the current environment (``ipykernel`` in the venv); no user
  kernelspec is needed or installed;
- the working directory of the kernel is the chapter's own folder (as in the book build);
- chapter checks are written to ``checks_dir`` (exported as ``$SCALINGLAWS_CHECKS_DIR`` to the
  kernel), so a test or a parameter study never overwrites the book's ``_build/checks``;
- any error in a cell, including a failed :meth:`scalinglaws.book.checks.Checker.check`, raises
  ``papermill.PapermillExecutionError``.

Command line (what ``python3 tasks.py run`` and ``make run`` call)::

    python -m scalinglaws.book.notebooks run 02_plateaus -p N_fig 256 -p fast True --out _build/run

writes ``_build/run/02_plateaus/02_plateaus.ipynb`` (executed), ``figures/*.png`` (every figure
of the run) and ``checks/02_plateaus.json``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["book_root", "AGGREGATE_PAGES", "toc_entries", "toc_chapters", "require_records", "to_ipynb", "declared_parameters", "parameter_dependencies",
           "parameter_defaults", "validate_parameters", "execute_chapter", "extract_figures",
           "resolve_value", "main"]

KERNEL = "python3"


def book_root(start: Path | None = None) -> Path:
    """The first directory at or above ``start`` (default: this file's repository) holding ``_toc.yml``."""
    candidates = [start] if start is not None else [Path.cwd(), Path(__file__)]
    for c in candidates:
        p = Path(c).resolve()
        for q in (p, *p.parents):
            if (q / "_toc.yml").exists():
                return q
    raise FileNotFoundError("no _toc.yml found above the current directory or the package; "
                            "run from inside the book repository")


#: Pages that read the check records of every chapter (they come after the chapters in _toc.yml).
AGGREGATE_PAGES = ("ledger", "reproduction")


def toc_entries(node: Any) -> Iterator[str]:
    """Every file entry of a loaded ``_toc.yml`` (root, parts, chapters, sections) in reading order."""
    if isinstance(node, dict):
        if "root" in node:
            yield node["root"]
        if "file" in node:
            yield node["file"]
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key) or []:
                yield from toc_entries(child)


def toc_chapters(root: Path | None = None) -> list[str]:
    """Stems of the chapter notebooks in ``_toc.yml`` order (``$SCALINGLAWS_TOC`` overrides the toc
    file), without the aggregate pages (ledger, check table)."""
    import yaml

    root = book_root() if root is None else Path(root)
    toc = yaml.safe_load((root / os.environ.get("SCALINGLAWS_TOC", "_toc.yml")).read_text())
    out = []
    for entry in toc_entries(toc):
        md = root / f"{entry}.md"
        if md.exists() and "```{code-cell}" in md.read_text() and Path(entry).name not in AGGREGATE_PAGES:
            out.append(Path(entry).name)
    return out


def require_records(records: list, root: Path | None = None) -> list[str]:
    """Raise ``RuntimeError`` unless every chapter of the toc recorded checks; return the chapters."""
    from scalinglaws.book.checks import checks_dir

    chapters = toc_chapters(root)
    have = {r["chapter"] if isinstance(r, dict) else r.chapter for r in records}
    missing = [c for c in chapters if c not in have]
    if missing:
        raise RuntimeError(f"no check records for {missing} in {checks_dir()}: every chapter must "
                           "run (and record at least one check) before this page")
    return chapters


def to_ipynb(src: Path | str, dst: Path | str) -> Path:
    """Convert a MyST-markdown notebook to ``.ipynb`` with jupytext (an ``.ipynb`` is copied)."""
    import jupytext
    import nbformat

    src, dst = Path(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    nb = jupytext.read(src) if src.suffix != ".ipynb" else nbformat.read(src, as_version=4)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": KERNEL}
    nbformat.write(nb, dst)
    return dst


def _parameter_assignments(nb_path: Path | str):
    """Yield ``(cell source, node, targets)`` for every top-level assignment of the notebook's
    ``parameters`` cell(s) (cells that do not parse, e.g. IPython magics, are skipped)."""
    import ast

    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or "parameters" not in cell.metadata.get("tags", []):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, ast.AnnAssign) else [])
            if targets:
                yield cell.source, node, targets


def declared_parameters(nb_path: Path | str) -> dict[str, Any]:
    """The parameters declared in the notebook's ``parameters`` cell.

    ``papermill.inspect_notebook`` parses the cell line by line with a regular expression and skips
    lines it cannot read (e.g. ``M = 10**6  # at N = P = inf``: an ``=`` inside the comment), so the
    names assigned at the top level of the cell are also collected with ``ast``.
    """
    import ast

    import papermill

    declared: dict[str, Any] = dict(papermill.inspect_notebook(str(nb_path)))
    for source, node, targets in _parameter_assignments(nb_path):
        for t in targets:
            for name in ([t] if isinstance(t, ast.Name) else getattr(t, "elts", [])):
                if isinstance(name, ast.Name) and name.id not in declared:
                    declared[name.id] = {"name": name.id, "inferred_type_name": "None",
                                         "default": ast.get_source_segment(source, node.value)
                                         if getattr(node, "value", None) is not None else None,
                                         "help": ""}
    return declared


def parameter_dependencies(nb_path: Path | str) -> dict[str, list[str]]:
    """Parameters whose default in the ``parameters`` cell is computed from other parameters
    (``P = d // 2``), mapped to the names they use.

    papermill injects new values in a cell *after* the parameters cell, so such a default would
    silently keep the value computed from the old one (``-p d 2048`` leaves ``P = 512``).
    Chapters must derive such sizes after the parameters cell (e.g. ``P = None`` there and
    ``P = d // 2 if P is None else P`` below); the test suite requires this map to be empty.
    """
    import ast

    deps: dict[str, list[str]] = {}
    assigned: set[str] = set()
    for _, node, targets in _parameter_assignments(nb_path):
        names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        value = getattr(node, "value", None)
        used = [] if value is None else sorted(
            {n.id for n in ast.walk(value) if isinstance(n, ast.Name)} & assigned)
        deps.update({name: used for name in names if used})
        assigned.update(names)
    return deps


_UNKNOWN = object()


def _literal(node) -> Any:
    """Value of a literal default (``3``, ``[1, 2]``, ``1e-3``, ``10**6``, ``-2 * 3``), else
    ``_UNKNOWN``."""
    import ast
    import operator

    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Pow: operator.pow,
           ast.USub: operator.neg, ast.UAdd: operator.pos}
    if isinstance(node, ast.BinOp) and type(node.op) in ops:
        a, b = _literal(node.left), _literal(node.right)
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b)):
            if isinstance(node.op, ast.Pow) and abs(b) > 64:
                return _UNKNOWN
            try:
                return ops[type(node.op)](a, b)
            except (ArithmeticError, ValueError):
                return _UNKNOWN
    if isinstance(node, ast.UnaryOp) and type(node.op) in ops:
        a = _literal(node.operand)
        if isinstance(a, (int, float)) and not isinstance(a, bool):
            return ops[type(node.op)](a)
    return _UNKNOWN


def parameter_defaults(nb_path: Path | str) -> dict[str, Any]:
    """Default values of the names assigned in the notebook's ``parameters`` cell(s), for those
    whose value is a literal (numbers, strings, bools, None, lists, tuples, dicts, simple
    arithmetic of numbers); tuple unpacking (``a, b = 2.0, 1.5``) is resolved element-wise.
    Names with a non-literal default (``np.pi / 2``) are left out."""
    import ast

    out: dict[str, Any] = {}
    for _, node, targets in _parameter_assignments(nb_path):
        value = getattr(node, "value", None)
        if value is None:
            continue
        for t in targets:
            if isinstance(t, ast.Name):
                v = _literal(value)
                if v is _UNKNOWN:
                    out.pop(t.id, None)
                else:
                    out[t.id] = v
            elif isinstance(t, (ast.Tuple, ast.List)):
                vals = value.elts if isinstance(value, (ast.Tuple, ast.List)) else None
                for i, e in enumerate(t.elts):
                    if not isinstance(e, ast.Name):
                        continue
                    v = _literal(vals[i]) if vals is not None and len(vals) == len(t.elts) \
                        else _UNKNOWN
                    if v is _UNKNOWN:
                        out.pop(e.id, None)
                    else:
                        out[e.id] = v
    return out


def validate_parameters(nb_path: Path | str, parameters: Mapping[str, Any]) -> None:
    """Check injected parameters before a chapter starts.

    Raises ``ValueError`` if a parameter is not declared in the notebook's ``parameters`` cell, and
    :class:`~scalinglaws.errors.ParameterTypeError` (a ``TypeError`` and a ``ValueError``) if its
    value does not have the type of the declared default
    (:func:`scalinglaws.errors.check_parameter_type`: int default -> an int; float -> an int or a
    float; list -> a list of the default's element type; bool -> a bool; str -> a str; None or a
    non-literal default -> anything).  So ``-p t_N abc``, ``-p K_heights 3`` or
    ``-p L_fig_sgd [1,3]`` (a string: lists go through ``-y``) fail at once, naming the
    parameter, the value and the expected type.
    """
    from scalinglaws.errors import check_parameter_type

    declared = declared_parameters(nb_path)
    if not declared:
        raise ValueError(f"{nb_path}: no cell tagged 'parameters' (or it declares nothing); "
                         "every chapter needs one, see CONTRIBUTING.md")
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ValueError(f"{Path(nb_path).name}: parameter(s) {unknown} are not declared in the "
                         f"parameters cell; declared: {sorted(declared)}")
    defaults = parameter_defaults(nb_path)
    for name, value in parameters.items():
        if name in defaults:
            check_parameter_type(name, value, defaults[name])


@contextlib.contextmanager
def temporary_env(**values: str | None) -> Iterator[None]:
    """Set (str) or unset (None) environment variables for the duration of a ``with`` block."""
    old = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def execute_chapter(src: Path | str, out: Path | str, parameters: Mapping[str, Any] | None = None,
                    *, checks_dir: Path | str | None = None, cwd: Path | str | None = None,
                    timeout: float | None = None) -> Path:
    """Execute one chapter with papermill and return the path of the executed ``.ipynb``.

    Parameters
    ----------
    src : path
        The chapter (``.md`` MyST notebook or ``.ipynb``).
    out : path
        The executed notebook to write (``.ipynb``); its folder is created.  The converted, not yet
        executed notebook is written to ``_inputs/<name>.ipynb`` next to it.
    parameters : mapping
        Values injected after the ``parameters`` cell; every key must be declared there.
    checks_dir : path, optional
        Where the chapter's ``Checker`` writes its JSON (``$SCALINGLAWS_CHECKS_DIR`` for the kernel).
    cwd : path, optional
        Working directory of the kernel; default the chapter's folder.
    timeout : float, optional
        Per-cell timeout in seconds (none by default).
    """
    import papermill

    src, out = Path(src).resolve(), Path(out).resolve()
    parameters = dict(parameters or {})
    if not src.exists():
        raise FileNotFoundError(f"chapter not found: {src}")
    if out.suffix != ".ipynb":
        raise ValueError(f"out must be an .ipynb path, got {out}")
    tmp = to_ipynb(src, out.parent / "_inputs" / out.name)
    validate_parameters(tmp, parameters)
    cdir = str(Path(checks_dir).resolve()) if checks_dir else os.environ.get("SCALINGLAWS_CHECKS_DIR")
    # executed notebooks carry no progress bars (they would land in the rendered page and in nbval's
    # comparison); an interactive kernel shows them (scalinglaws.progress)
    with temporary_env(SCALINGLAWS_CHECKS_DIR=cdir, SCALINGLAWS_PROGRESS=os.environ.get("SCALINGLAWS_PROGRESS", "0")):
        papermill.execute_notebook(str(tmp), str(out), parameters=parameters, kernel_name=KERNEL,
                                   cwd=str(cwd or src.parent), progress_bar=False,
                                   log_output=False, execution_timeout=timeout)
    _collapse_injected_parameters(out)
    return out


def _collapse_injected_parameters(ipynb: Path) -> None:
    """Give papermill's injected-parameters cell the tag ``hide-input``, like the parameters cell it
    overrides, so the rendered page shows it collapsed (outputs are untouched)."""
    import nbformat

    nb = nbformat.read(str(ipynb), as_version=4)
    changed = False
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "hide-input" not in tags:
            cell.metadata["tags"] = [*tags, "hide-input"]
            changed = True
    if changed:
        nbformat.write(nb, str(ipynb))


def extract_figures(ipynb: Path | str, fig_dir: Path | str) -> list[Path]:
    """Write every PNG/SVG output of an executed notebook to ``fig_dir``; return the paths."""
    import nbformat

    nb = nbformat.read(str(ipynb), as_version=4)
    fig_dir = Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    n = 0
    for ci, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            for mime, ext in (("image/png", "png"), ("image/svg+xml", "svg")):
                if mime in data:
                    n += 1
                    p = fig_dir / f"fig{n:02d}_cell{ci:03d}.{ext}"
                    payload = data[mime]
                    if isinstance(payload, list):
                        payload = "".join(payload)
                    if ext == "png":
                        p.write_bytes(base64.b64decode(payload))
                    else:
                        p.write_text(payload)
                    written.append(p)
    return written


def resolve_value(value: str) -> Any:
    """Type a command-line parameter value like ``papermill -p`` does (bool/None/int/float/str)."""
    if value in ("True", "true"):
        return True
    if value in ("False", "false"):
        return False
    if value == "None":
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def _find_chapter(name: str, root: Path) -> Path:
    p = Path(name)
    if p.exists():
        return p
    for cand in (root / "chapters" / f"{name}.md", root / "chapters" / f"{name}.ipynb",
                 root / "chapters" / name, root / name):
        if cand.exists() and cand.is_file():
            return cand
    stems = sorted(q.stem for q in (root / "chapters").glob("*.md"))
    raise SystemExit(f"unknown chapter {name!r}; available: {', '.join(stems)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scalinglaws.book.notebooks",
                                     description="Re-run a chapter of the book with new parameters.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="execute one chapter with papermill")
    r.add_argument("chapter", help="chapter stem (e.g. 02_plateaus) or path")
    r.add_argument("-p", "--parameters", nargs=2, action="append", default=[],
                   metavar=("NAME", "VALUE"), help="parameter (typed like papermill -p)")
    r.add_argument("-r", "--parameters_raw", nargs=2, action="append", default=[],
                   metavar=("NAME", "VALUE"), help="parameter passed as a string")
    r.add_argument("-y", "--parameters_yaml", action="append", default=[],
                   help="YAML mapping of parameters")
    r.add_argument("-f", "--parameters_file", action="append", default=[],
                   help="YAML file of parameters (e.g. tests/fast_params/02_plateaus.yml)")
    r.add_argument("--out", default=None, help="output folder (default <book>/_build/run)")
    p = sub.add_parser("params", help="list a chapter's declared parameters")
    p.add_argument("chapter")
    args = parser.parse_args(argv)

    import yaml

    root = book_root()
    src = _find_chapter(args.chapter, root)
    stem = src.stem
    if args.cmd == "params":
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            print(json.dumps(declared_parameters(to_ipynb(src, Path(d) / "nb.ipynb")), indent=1))
        return 0
    params: dict[str, Any] = {}
    for f in args.parameters_file:
        params.update(yaml.safe_load(Path(f).read_text()) or {})
    for y in args.parameters_yaml:
        params.update(yaml.safe_load(y) or {})
    for k, v in args.parameters:
        params[k] = resolve_value(v)
    for k, v in args.parameters_raw:
        params[k] = v
    out_dir = (Path(args.out) if args.out else root / "_build" / "run") / stem
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"running {src.relative_to(root) if src.is_relative_to(root) else src} "
          f"with {params or 'its default parameters'} ...", flush=True)
    try:
        nb = execute_chapter(src, out_dir / f"{stem}.ipynb", params, checks_dir=out_dir / "checks")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # papermill.PapermillExecutionError and friends
        print(f"error: the chapter failed: {exc}", file=sys.stderr)
        failed = out_dir / f"{stem}.ipynb"
        if failed.exists():
            print(f"partially executed notebook: {failed}", file=sys.stderr)
        return 1
    figs = extract_figures(nb, out_dir / "figures")
    print(f"executed notebook: {nb}")
    print(f"figures ({len(figs)}): {out_dir / 'figures'}")
    checks = out_dir / "checks" / f"{stem}.json"
    if checks.exists():
        recs = json.loads(checks.read_text())
        enf = [r for r in recs if r.get("enforced", True)]
        print(f"checks: {sum(r['passed'] for r in enf)}/{len(enf)} enforced checks passed, "
              f"{len(recs) - len(enf)} measured-only ({checks})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
