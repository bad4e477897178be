"""Reproduction checks: assert a claim, print one line, record it for the reproduction table.

Every chapter creates one :class:`Checker` and calls :meth:`Checker.check` for each claim it
reproduces.  A check prints ``claim | paper | ours | tol | PASS/FAIL``, appends a record to
``<checks dir>/<chapter>.json`` and raises :class:`CheckFailed` (an ``AssertionError``) when it
fails, so papermill and the test suite fail on a broken claim.

The checks directory is ``$SCALINGLAWS_CHECKS_DIR`` if set, otherwise ``_build/checks`` under the
book root (the first parent directory of the current working directory that holds ``_toc.yml``),
otherwise ``./_build/checks``.

Comparison kinds
----------------
``"abs"``   ``|ours - paper| <= tol``
``"rel"``   ``|ours - paper| <= tol * |paper|``
``"range"`` ``paper = (lo, hi)``, passes when ``lo <= ours <= hi`` (``tol`` is ignored, may be None)
``"le"``    ``ours <= paper + tol``   (an upper bound)
``"ge"``    ``ours >= paper - tol``   (a lower bound)

Enforced and measured-only claims
---------------------------------
A check is *enforced* by default: failing it stops the chapter.  A claim that a chapter measures
but cannot establish at the sizes the book can afford (the text must say why) is recorded with
``enforce=False``: it is compared and printed exactly the same way, the record says
``enforced: false``, the reproduction table marks it "not enforced", and a failure does not stop
the run.  Such a record is a measurement, not a test, and is never counted as a reproduced claim.

Evidence classes and settings
-----------------------------
Every check states what kind of evidence it is (``evidence=``, required):

- ``"reproduction"``: a claim or number that a *paper states*, compared with our simulation (or
  the paper's own method) at the paper's setting or a stated reduced one;
- ``"prediction"``: *our* theory or reconstruction compared with an independent simulation;
- ``"consistency"``: two computations of the same mathematics (closed form vs ODE, identities,
  solver convergence, code-path agreement).

Reproductions and predictions also state their ``setting``: ``"paper"`` (the paper's own sizes) or
``"reduced"`` (then ``sizes=`` says which, e.g. ``"K=M=2, N=512 (paper: K=M=40)"``).  A
:class:`Checker` created with ``fast=True`` records every check with setting ``"fast"`` (the test
sizes), whatever the chapter passes, so test-size numbers can never be read as paper-size ones.
``claim_id=`` links the check to a declared claim of the claim ledger (:mod:`scalinglaws.book.ledger`);
only enforced, passing ``reproduction`` records make a claim *reproduced*.

Checks that can fail
--------------------
``alternative=`` gives the value that the competing hypothesis predicts (the lazy exponent for a
rich-exponent check, zero effect for a null test's alternative, ...).  The check is evaluated a
second time with ``ours=alternative`` and the record stores ``rejects_alternative``.  A check that
would also pass on the alternative cannot tell the two apart: it is printed as *inconclusive*,
never raises, and the ledger never counts it as a reproduction or a confirmed prediction.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CheckFailed", "CheckRecord", "Checker", "checks_dir", "load_all_checks",
           "EVIDENCE", "SETTINGS", "passes"]

_KINDS = ("abs", "rel", "range", "le", "ge")
EVIDENCE = ("reproduction", "prediction", "consistency")
SETTINGS = ("paper", "reduced", "fast", "n/a")


class CheckFailed(AssertionError):
    """A reproduced claim did not hold within its tolerance."""


@dataclass
class CheckRecord:
    chapter: str
    claim: str
    paper: Any
    ours: float
    tol: float | None
    kind: str
    passed: bool
    source: str = ""
    note: str = ""
    enforced: bool = True
    extra: dict = field(default_factory=dict)
    evidence: str = ""
    setting: str = "n/a"
    sizes: str = ""
    claim_id: str = ""
    alternative: Any = None
    rejects_alternative: bool | None = None

    @property
    def conclusive(self) -> bool:
        """False when the check would also have passed on its stated alternative."""
        return self.rejects_alternative is not False


def _book_root(start: Path | None = None) -> Path | None:
    p = (start or Path.cwd()).resolve()
    for q in (p, *p.parents):
        if (q / "_toc.yml").exists():
            return q
    return None


def checks_dir() -> Path:
    """Directory where chapter check records are written (see module docstring)."""
    env = os.environ.get("SCALINGLAWS_CHECKS_DIR")
    if env:
        return Path(env)
    root = _book_root()
    return (root if root is not None else Path.cwd()) / "_build" / "checks"


def _fmt(x: Any) -> str:
    if isinstance(x, (tuple, list)):
        return "[" + ", ".join(_fmt(v) for v in x) + "]"
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        if x == 0 or 1e-3 <= abs(x) < 1e4:
            return f"{x:.5g}"
        return f"{x:.4e}"
    return str(x)


def _as_float(x: Any, name: str) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError) as exc:  # arrays etc.
        raise TypeError(f"check(): {name} must be a scalar number, got {type(x).__name__}; "
                        "reduce arrays first (e.g. max |z-score|)") from exc
    return v


def passes(kind: str, paper: Any, ours: Any, tol: float | None) -> tuple[bool, Any, float]:
    """The comparison of :meth:`Checker.check` alone: ``(passed, paper value, ours)``.

    >>> passes("abs", 0.4, 0.333, 0.05)[0]
    False
    >>> passes("range", (1.0, 2.0), 1.5, None)[0]
    True
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    o = _as_float(ours, "ours")
    if kind == "range":
        if not (isinstance(paper, (tuple, list)) and len(paper) == 2):
            raise ValueError("kind='range' needs paper=(lo, hi)")
        lo, hi = (_as_float(v, "paper") for v in paper)
        passed = lo <= o <= hi
        paper_val: Any = [lo, hi]
    else:
        p = _as_float(paper, "paper")
        if tol is None:
            raise ValueError(f"kind={kind!r} needs a tolerance tol")
        t = _as_float(tol, "tol")
        if not t >= 0:
            raise ValueError(f"tol must be >= 0, got {tol!r}")
        if kind == "abs":
            passed = abs(o - p) <= t
        elif kind == "rel":
            passed = abs(o - p) <= t * abs(p)
        elif kind == "le":
            passed = o <= p + t
        else:
            passed = o >= p - t
        paper_val = p
    if math.isnan(o):
        passed = False
    return bool(passed), paper_val, o


class Checker:
    """Collects the checks of one chapter.

    Parameters
    ----------
    chapter : str
        Chapter identifier, e.g. ``"01_linear_theory"``; names the JSON file.
    fresh : bool
        Start a new record file (default), discarding the records of a previous run.
    fast : bool
        The chapter runs with its fast (test-size) parameters: every record's setting is
        ``"fast"``.
    """

    def __init__(self, chapter: str, fresh: bool = True, *, fast: bool = False) -> None:
        if not chapter or any(c in chapter for c in "/\\"):
            raise ValueError(f"chapter must be a plain name, got {chapter!r}")
        if not isinstance(fast, bool):
            raise TypeError(f"fast must be True or False, got {fast!r}")
        self.chapter = chapter
        self.fast = fast
        self.records: list[CheckRecord] = []
        self.path = checks_dir() / f"{chapter}.json"
        if fresh:
            self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps([asdict(r) for r in self.records], indent=1, default=float))
        os.replace(tmp, self.path)

    def check(self, claim: str, paper: Any, ours: Any, tol: float | None = None, *,
              kind: str = "abs", evidence: str | None = None, setting: str | None = None,
              sizes: str = "", claim_id: str = "", alternative: Any = None, source: str = "",
              note: str = "", enforce: bool = True, raise_on_fail: bool | None = None,
              **extra: Any) -> bool:
        """Assert one claim, print it, and record it.

        Parameters
        ----------
        claim : str
            What is claimed, in words (e.g. "plateau height, K=2, eta=0.5").
        paper : float or (lo, hi)
            The reference value (a paper's number, a closed form, an independent computation).
        ours : float
            Our value.
        tol : float
            Tolerance; its meaning depends on ``kind``.  State where it comes from in ``note``.
        kind : {"abs", "rel", "range", "le", "ge"}
        evidence : {"reproduction", "prediction", "consistency"}
            What kind of evidence the check is (see the module docstring).  Required.
        setting : {"paper", "reduced"}, optional
            Required for reproductions and predictions; ``"reduced"`` needs ``sizes``.  Ignored
            (recorded as ``"fast"``) when the checker runs in fast mode.
        sizes : str
            The sizes of a reduced setting, with the paper's values where they differ.
        claim_id : str
            The ledger claim this check bears on (``"WR-..."``, ``"BAP-..."``, ...), if any.
        alternative : float or (lo, hi), optional
            The competing hypothesis' value; the record says whether the check rejects it.
        source : str
            Where the reference value comes from (paper + equation / figure, or "closed form").
        note : str
            How the tolerance was derived (standard errors, integrator error, finite-N allowance).
        enforce : bool
            ``False`` records a measured-only claim (see module docstring): no exception on failure.
        raise_on_fail : bool, optional
            Deprecated alias of ``enforce``.
        """
        if raise_on_fail is not None:
            enforce = bool(raise_on_fail) and enforce
        if evidence not in EVIDENCE:
            raise ValueError(f"check({claim!r}): evidence must be one of {EVIDENCE}, got {evidence!r}")
        if setting is None:
            if evidence != "consistency" and not self.fast:
                raise ValueError(f"check({claim!r}): a {evidence} needs setting='paper' or 'reduced'")
            setting = "n/a"
        if setting not in ("paper", "reduced", "n/a"):
            raise ValueError(f"check({claim!r}): setting must be 'paper', 'reduced' or 'n/a', "
                             f"got {setting!r}")
        if setting == "reduced" and not sizes:
            raise ValueError(f"check({claim!r}): setting='reduced' needs sizes= (which sizes, "
                             "and the paper's)")
        if claim_id and not isinstance(claim_id, str):
            raise TypeError(f"check({claim!r}): claim_id must be a string, got {claim_id!r}")
        if self.fast:
            setting = "fast"
        passed, paper_val, o = passes(kind, paper, ours, tol)
        alt_val: Any = None
        rejects: bool | None = None
        if alternative is not None:
            if isinstance(alternative, (tuple, list)):
                alts = [_as_float(a, "alternative") for a in alternative]
            else:
                alts = [_as_float(alternative, "alternative")]
            rejects = not any(passes(kind, paper, a, tol)[0] for a in alts)
            alt_val = alts if len(alts) > 1 else alts[0]
        rec = CheckRecord(self.chapter, claim, paper_val, o, None if tol is None else float(tol),
                          kind, bool(passed), source, note, bool(enforce), dict(extra),
                          evidence, setting, sizes, claim_id, alt_val, rejects)
        self.records.append(rec)
        self._write()
        tol_s = "-" if tol is None else (f"{_fmt(float(tol))}" + (" (rel)" if kind == "rel" else ""))
        op = {"abs": "±", "rel": "±", "range": "in", "le": "<=", "ge": ">="}[kind]
        status = ("PASS" if passed else "FAIL") + ("" if enforce else ", not enforced")
        if rejects is False:
            status += ", inconclusive: also passes on the alternative " + _fmt(alt_val)
        print(f"[{status}] {claim}: paper {op} {_fmt(paper_val)} | ours "
              f"{_fmt(o)} | tol {tol_s} | {evidence}, {setting}" + (f" | {source}" if source else ""))
        if not passed and enforce:
            raise CheckFailed(f"{self.chapter}: {claim}: ours={o!r}, paper={paper_val!r}, "
                              f"tol={tol!r}, kind={kind}")
        return bool(passed)

    def summary(self) -> str:
        enf = [r for r in self.records if r.enforced]
        ok = sum(r.passed for r in enf)
        extra = len(self.records) - len(enf)
        by = {e: sum(r.evidence == e for r in enf) for e in EVIDENCE}
        inc = sum(not r.conclusive for r in enf)
        return (f"{self.chapter}: {ok}/{len(enf)} enforced checks passed ("
                + ", ".join(f"{n} {e}" for e, n in by.items()) + ")"
                + (f"; {inc} inconclusive" if inc else "")
                + (f"; {extra} measured-only claim(s)" if extra else ""))


def load_all_checks(directory: Path | str | None = None) -> list[dict]:
    """Read every chapter's check records (sorted by chapter file name)."""
    d = Path(directory) if directory is not None else checks_dir()
    out: list[dict] = []
    for f in sorted(d.glob("*.json")):
        out.extend(json.loads(f.read_text()))
    return out
