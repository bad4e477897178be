"""The chapter harness itself: a failed check must fail the papermill run, a passing one must not,
and parameters that a notebook does not declare must be rejected before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import papermill
import pytest

from scalinglaws.book.notebooks import execute_chapter, resolve_value

FIXTURES = Path(__file__).parent / "fixtures"


def test_failing_check_fails_the_run(tmp_path):
    out = tmp_path / "check_fails.ipynb"
    with pytest.raises(papermill.PapermillExecutionError) as info:
        execute_chapter(FIXTURES / "check_fails.md", out, {"fast": True}, checks_dir=tmp_path / "c")
    assert "CheckFailed" in str(info.value)
    records = json.loads((tmp_path / "c" / "fixture_check_fails.json").read_text())
    assert [r["passed"] for r in records] == [False]
    # papermill keeps the partially executed notebook; the cell after the check never ran
    assert not nbformat.read(out, as_version=4).cells[-1].outputs


def test_passing_check_runs(tmp_path):
    out = execute_chapter(FIXTURES / "check_passes.md", tmp_path / "check_passes.ipynb",
                          {"fast": True, "x": 3}, checks_dir=tmp_path / "c")
    assert nbformat.read(out, as_version=4).cells[-1].outputs[0]["text"] == "reached the end\n"
    records = json.loads((tmp_path / "c" / "fixture_check_passes.json").read_text())
    assert [r["passed"] for r in records] == [True]


def test_undeclared_parameter_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="not declared"):
        execute_chapter(FIXTURES / "check_passes.md", tmp_path / "x.ipynb",
                        {"fast": True, "y": 1}, checks_dir=tmp_path / "c")
    assert not (tmp_path / "x.ipynb").exists()


@pytest.mark.parametrize("text,value", [("16", 16), ("1e-3", 1e-3), ("True", True),
                                        ("false", False), ("None", None), ("erf", "erf")])
def test_cli_values_are_typed_like_papermill(text, value):
    assert resolve_value(text) == value and type(resolve_value(text)) is type(value)


def test_declared_parameters_survive_unusual_lines(tmp_path):
    """papermill's line regex skips 'M = 10**6  # N = P = inf'; the AST fallback must not."""
    import jupytext

    from scalinglaws.book.notebooks import declared_parameters

    src = tmp_path / "nb.md"
    src.write_text((FIXTURES / "check_passes.md").read_text().replace(
        "x = 3\n", "x = 3\nM = 10**6   # modes at N = P = inf\na, b = 1, 2\nc: int = 4\n"))
    nb = tmp_path / "nb.ipynb"
    jupytext.write(jupytext.read(src), nb)
    assert {"fast", "x", "M", "a", "b", "c"} <= set(declared_parameters(nb))


def test_parameter_dependencies_are_detected(tmp_path):
    from scalinglaws.book.notebooks import parameter_dependencies, to_ipynb
    md = tmp_path / "dep.md"
    md.write_text("---\njupytext:\n  text_representation: {extension: .md, format_name: myst}\n"
                  "kernelspec: {display_name: Python 3, language: python, name: python3}\n---\n"
                  "# t\n\n```{code-cell} ipython3\n:tags: [parameters]\nd = 1024\nP = d // 2\n"
                  "steps: int = 8 * d\nseeds = 3\nx, y = 1, seeds\n```\n")
    nb = to_ipynb(md, tmp_path / "dep.ipynb")
    assert parameter_dependencies(nb) == {"P": ["d"], "steps": ["d"], "x": ["seeds"], "y": ["seeds"]}
    md.write_text(md.read_text().replace("P = d // 2", "P = None").replace("8 * d", "None")
                  .replace("x, y = 1, seeds", "x, y = 1, 2"))
    assert parameter_dependencies(to_ipynb(md, tmp_path / "dep2.ipynb")) == {}
