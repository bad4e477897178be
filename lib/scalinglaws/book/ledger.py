"""The claim ledger: every claim of the four papers we know of, with what this book shows about it.

The ledger is *generated*: a small declared list of each paper's claims (``chapters/claims/*.yml``)
is joined with the check records that the chapters write (:mod:`scalinglaws.book.checks`).  A claim
that no check bears on therefore shows up as *not attempted* instead of disappearing.

Claim files
-----------
Each ``chapters/claims/<name>.yml`` is a YAML list of claims::

    - id: WR-time-exponent          # unique; prefix = paper (WR, BAP, KLH, RNWL, SS)
      paper: worschech_rosenow       # a key of PAPERS ("synthesis": the book's own claims)
      where: "Sec. 3, Fig. 2"        # section, figure or equation of the paper
      statement: "eps_g ~ alpha^(-beta/(1+beta)) in the linear regime"
      paper_value: "-beta/(1+beta)"  # what the paper states (text; may be empty)
      basis: paper text              # paper text | abstract | secondary summary | our reconstruction
      chapter: 01_linear_theory      # where the book addresses it ("" if nowhere)
      reason: ""                     # for measured-only / not attempted claims: why

Status of a claim (first rule that applies)
-------------------------------------------
1. ``failed``: an enforced check of the claim failed (a chapter stops on this, so a built book
   never shows it);
2. ``reproduced at the paper's size``: an enforced, passing, conclusive ``reproduction`` check at
   setting ``paper``;
3. ``reproduced at a reduced size``: the same at setting ``reduced``;
4. ``reproduced at test size (fast mode)``: the same at setting ``fast`` (test builds only);
5. ``predicted by our reconstruction, confirmed by simulation``: an enforced, passing, conclusive
   ``prediction`` check;
6. ``measured, not established``: checks exist but none of the above (measured-only records,
   inconclusive checks, or consistency checks only);
7. ``not attempted``: no check bears on the claim.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["PAPERS", "STATUSES", "Claim", "load_claims", "claim_status", "ledger_rows",
           "paper_table", "paper_counts", "paper_summary", "summary_table", "chapter_box",
           "claims_dir", "check_table", "class_counts_table"]

PAPERS: dict[str, dict[str, str]] = {
    "worschech_rosenow": {"prefix": "WR", "cite": "worschech2025analyzing",
                          "short": "Worschech & Rosenow",
                          "title": "Analyzing neural scaling laws in two-layer networks with "
                                   "power-law data spectra"},
    "bordelon_atanasov_pehlevan": {"prefix": "BAP", "cite": "bordelon2025feature",
                                   "short": "Bordelon, Atanasov & Pehlevan",
                                   "title": "How feature learning can improve neural scaling laws"},
    "kramp_lindner_helias": {"prefix": "KLH", "cite": "kramp2026dynamics",
                             "short": "Kramp, Lindner & Helias",
                             "title": "Dynamics of neural scaling laws in random feature "
                                      "regression with power-law-distributed kernel eigenvalues"},
    "ren_nichani_wu_lee": {"prefix": "RNWL", "cite": "ren2025emergence",
                           "short": "Ren, Nichani, Wu & Lee",
                           "title": "Emergence and scaling laws in SGD learning of shallow "
                                    "neural networks"},
    "saad_solla": {"prefix": "SS", "cite": "saad1995online", "short": "Saad & Solla (classic)",
                   "title": "On-line learning in soft committee machines (the classic case the "
                            "other papers build on)"},
    "synthesis": {"prefix": "SYN", "cite": "", "short": "This book (synthesis)",
                  "title": "Claims no single paper makes: the four mechanisms on one spectrum"},
}

STATUSES = ("failed", "reproduced at the paper's size", "reproduced at a reduced size",
            "reproduced at test size (fast mode)",
            "predicted by our reconstruction, confirmed by simulation",
            "measured, not established", "not attempted")
_BASES = ("paper text", "abstract", "secondary summary", "our reconstruction")


@dataclass(frozen=True)
class Claim:
    """One claim of a paper (see the module docstring for the fields)."""

    id: str
    paper: str
    where: str
    statement: str
    paper_value: str = ""
    basis: str = "paper text"
    chapter: str = ""
    reason: str = ""
    extra: dict = field(default_factory=dict)


def claims_dir(root: Path | str | None = None) -> Path:
    """``chapters/claims`` of the book (the repository holding ``_toc.yml``)."""
    if root is None:
        from scalinglaws.book.notebooks import book_root
        root = book_root()
    return Path(root) / "chapters" / "claims"


def load_claims(directory: Path | str | None = None) -> list[Claim]:
    """Read and validate every declared claim (sorted by paper, then file order)."""
    import yaml

    d = Path(directory) if directory is not None else claims_dir()
    files = sorted(d.glob("*.yml"))
    if not files:
        raise FileNotFoundError(f"no claim files (*.yml) in {d}")
    claims: list[Claim] = []
    seen: dict[str, Path] = {}
    for f in files:
        data = yaml.safe_load(f.read_text()) or []
        if not isinstance(data, list):
            raise ValueError(f"{f}: a claim file is a YAML list of claims, got {type(data).__name__}")
        for i, c in enumerate(data):
            if not isinstance(c, dict):
                raise ValueError(f"{f}: entry {i} is not a mapping")
            missing = [k for k in ("id", "paper", "where", "statement") if not c.get(k)]
            if missing:
                raise ValueError(f"{f}: claim {c.get('id', i)!r} lacks {missing}")
            cid = str(c["id"])
            if cid in seen:
                raise ValueError(f"claim id {cid!r} declared twice ({seen[cid].name}, {f.name})")
            seen[cid] = f
            if c["paper"] not in PAPERS:
                raise ValueError(f"{f}: claim {cid!r}: paper must be one of {sorted(PAPERS)}, "
                                 f"got {c['paper']!r}")
            if not cid.startswith(PAPERS[c["paper"]]["prefix"] + "-"):
                raise ValueError(f"{f}: claim {cid!r} of {c['paper']} must start with "
                                 f"{PAPERS[c['paper']]['prefix']!r}-")
            basis = c.get("basis", "paper text")
            if basis not in _BASES:
                raise ValueError(f"{f}: claim {cid!r}: basis must be one of {_BASES}, got {basis!r}")
            known = {"id", "paper", "where", "statement", "paper_value", "basis", "chapter", "reason"}
            claims.append(Claim(cid, c["paper"], str(c["where"]), str(c["statement"]),
                                str(c.get("paper_value", "") or ""), basis,
                                str(c.get("chapter", "") or ""), str(c.get("reason", "") or ""),
                                {k: v for k, v in c.items() if k not in known}))
    order = {p: i for i, p in enumerate(PAPERS)}
    return sorted(claims, key=lambda c: order[c.paper])


def _get(r: Any, k: str, default: Any = None) -> Any:
    return r.get(k, default) if isinstance(r, Mapping) else getattr(r, k, default)


def _conclusive(r: Any) -> bool:
    return _get(r, "rejects_alternative") is not False


def claim_status(records: Iterable[Any]) -> str:
    """The status of one claim from the check records that bear on it (rules in the module doc)."""
    recs = list(records)
    if not recs:
        return "not attempted"
    enforced = [r for r in recs if _get(r, "enforced", True)]
    if any(not _get(r, "passed") for r in enforced):
        return "failed"
    good = [r for r in enforced if _conclusive(r)]
    for setting, status in (("paper", STATUSES[1]), ("reduced", STATUSES[2]), ("fast", STATUSES[3])):
        if any(_get(r, "evidence") == "reproduction" and _get(r, "setting") == setting for r in good):
            return status
    if any(_get(r, "evidence") == "prediction" for r in good):
        return STATUSES[4]
    return STATUSES[5]


def _fmt(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in x) + "]"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    return f"{v:.4g}" if v == 0 or 1e-3 <= abs(v) < 1e5 else f"{v:.3e}"


def ledger_rows(claims: Sequence[Claim], records: Iterable[Any]) -> list[dict]:
    """One row per claim: the claim, its status, and the records that bear on it.

    Records whose ``claim_id`` names no declared claim raise ``ValueError`` (a typo would otherwise
    drop the evidence silently).
    """
    recs = list(records)
    ids = {c.id for c in claims}
    unknown = sorted({_get(r, "claim_id") for r in recs if _get(r, "claim_id")} - ids)
    if unknown:
        raise ValueError(f"check records name undeclared claims {unknown}; declare them in "
                         "chapters/claims/*.yml")
    rows = []
    for c in claims:
        mine = [r for r in recs if _get(r, "claim_id") == c.id]
        status = claim_status(mine)
        best = next((r for ev in ("reproduction", "prediction", "consistency")
                     for r in mine if _get(r, "evidence") == ev and _get(r, "enforced", True)),
                    mine[0] if mine else None)
        chapters = sorted({_get(r, "chapter") for r in mine}) or ([c.chapter] if c.chapter else [])
        failed_measured = sum(not _get(r, "enforced", True) and not _get(r, "passed") for r in mine)
        rows.append({"claim": c, "status": status, "records": mine, "chapters": chapters,
                     "failed_measured": failed_measured,
                     "ours": _fmt(_get(best, "ours")) if best is not None else "",
                     "reference": _fmt(_get(best, "paper")) if best is not None else ""})
    return rows


def paper_counts(rows: Sequence[dict], paper: str | None = None) -> dict[str, int]:
    """Number of claims per status (for one paper, or all)."""
    out = {s: 0 for s in STATUSES}
    for r in rows:
        if paper is None or r["claim"].paper == paper:
            out[r["status"]] += 1
    return out


def _esc(text: Any) -> str:
    text = str(text)
    for ch in "\\`*_{}[]<>|#":
        text = text.replace(ch, "\\" + ch)
    return text


_SHORT = {STATUSES[0]: "**FAILED**", STATUSES[1]: "reproduced (paper size)",
          STATUSES[2]: "reproduced (reduced size)", STATUSES[3]: "reproduced (test size)",
          STATUSES[4]: "predicted, confirmed", STATUSES[5]: "measured only",
          STATUSES[6]: "not attempted"}


def paper_table(rows: Sequence[dict], paper: str, link: bool = True) -> str:
    """Markdown list of one paper's claims, grouped by status (a list, not a table: claim
    statements are sentences, and a six-column table of sentences does not fit a page).

    Each item: **id** · where · basis — the statement; what the paper says, our number, the
    chapter(s), and for measured-only / not-attempted claims the reason.
    """
    mine = [r for r in rows if r["claim"].paper == paper]
    out: list[str] = []
    for status in STATUSES:
        group = [r for r in mine if r["status"] == status]
        if not group:
            continue
        label = _SHORT[status].replace("**", "")
        out.append(f"**{label[:1].upper()}{label[1:]} ({len(group)})**\n")
        for r in group:
            c: Claim = r["claim"]
            chs = ", ".join((f"{{doc}}`ch. {ch[:3].lstrip('0').rstrip('_')} <{ch}>`" if link
                             else ch) for ch in r["chapters"])
            item = f"- **{c.id}** ({_esc(c.where)}"
            item += (f"; {c.basis}" if c.basis != "paper text" else "") + f"): {_esc(c.statement)}"
            facts = []
            if c.paper_value:
                facts.append(f"paper: {_esc(c.paper_value)}")
            if r["ours"]:
                facts.append(f"ours: {_esc(r['ours'])}")
            if chs:
                facts.append(chs)
            if facts:
                item += " — " + "; ".join(facts) + "."
            if c.reason and status in (STATUSES[5], STATUSES[6]):
                item += f" *Why: {_esc(c.reason)}*"
            if r["failed_measured"]:
                item += (f" **{r['failed_measured']} measured-only check(s) of this claim fall outside "
                         "their tolerance** (see the chapter).")
            out.append(item)
        out.append("")
    return "\n".join(out) if out else "*No claims declared.*"


def chapter_box(chapter: str, records: Iterable[Any], claims: Sequence[Claim] | None = None) -> str:
    """Markdown for the box at the top of a chapter: which claims it addresses, and how far.

    Uses the records of this chapter's run (``checks.records``) and every declared claim whose
    ``chapter`` is this chapter or that one of the records names.
    """
    claims = load_claims() if claims is None else claims
    recs = [r for r in records if _get(r, "chapter") == chapter]
    named = {_get(r, "claim_id") for r in recs}
    mine = [c for c in claims if c.chapter == chapter or c.id in named]
    rows = ledger_rows(mine, [r for r in recs if _get(r, "claim_id")])
    counts = paper_counts(rows)
    n_ev = {e: sum(_get(r, "evidence") == e for r in recs) for e in
            ("reproduction", "prediction", "consistency")}
    head = (f"This chapter addresses {len(rows)} claims of the papers: "
            + ", ".join(f"{n} {_SHORT[s]}" for s, n in counts.items() if n) + ". "
            f"Its {len(recs)} checks are {n_ev['reproduction']} reproductions, "
            f"{n_ev['prediction']} predictions of our reconstruction and {n_ev['consistency']} "
            "consistency checks (two computations of the same mathematics); only reproductions "
            "count as reproduced claims.")
    items = [f"- **{_SHORT[r['status']]}**: {_esc(r['claim'].statement)} "
             f"({PAPERS[r['claim'].paper]['short']}, {_esc(r['claim'].where)})"
             + (f"; {r['failed_measured']} measured-only check(s) outside tolerance"
                if r["failed_measured"] else "") for r in rows]
    fast = ("\n\n**Fast mode (tests only):** this page was executed with the chapter's small test "
            "parameters; its figures and numbers are *not* at the papers' sizes."
            if any(_get(r, "setting") == "fast" for r in recs) else "")
    return head + fast + "\n\n" + "\n".join(items) + "\n\nThe full list, for every paper, is the " \
        "{doc}`claim ledger <ledger>`."


def paper_summary(rows: Sequence[dict], paper: str) -> str:
    """One sentence: "W&R: 9 claims, 4 reproduced at the paper's size, ..." for one paper."""
    counts = paper_counts(rows, paper)
    n = sum(counts.values())
    parts = [f"{k} {_SHORT[s]}" for s, k in counts.items() if k]
    return f"**{PAPERS[paper]['short']}: {n} claims**" + (": " + ", ".join(parts) if parts else "") + "."


def summary_table(rows: Sequence[dict]) -> str:
    """Markdown table: one row per status, one column per paper (counts), plus the total."""
    papers = [p for p in PAPERS if any(r["claim"].paper == p for r in rows)]
    statuses = [s for s in STATUSES if s != "failed" or any(r["status"] == s for r in rows)]
    out = ["| status | " + " | ".join(PAPERS[p]["prefix"] for p in papers) + " | all |",
           "|---|" + "---|" * (len(papers) + 1)]
    for st in statuses:
        cells = [str(sum(r["status"] == st and r["claim"].paper == p for r in rows)) for p in papers]
        out.append(f"| {_SHORT[st]} | " + " | ".join(cells) + f" | {sum(r['status'] == st for r in rows)} |")
    out.append("| **claims** | " + " | ".join(str(sum(r["claim"].paper == p for r in rows)) for p in papers)
               + f" | {len(rows)} |")
    legend = "; ".join(f"{PAPERS[p]['prefix']} = {PAPERS[p]['short']}" for p in papers)
    return "\n".join(out) + "\n\n" + legend + "."


_OPS = {"abs": "±", "rel": "± rel.", "le": "≤", "ge": "≥"}


def _test_cell(r: Mapping) -> str:
    kind, ours, ref, tol = r["kind"], _fmt(r["ours"]), r["paper"], r.get("tol")
    if kind == "range":
        return f"{ours} ∈ {_fmt(ref)}"
    if kind in ("le", "ge"):
        return f"{ours} {_OPS[kind]} {_fmt(ref)} {'+' if kind == 'le' else '−'} {_fmt(tol)}"
    return f"{ours} ≈ {_fmt(ref)} {_OPS[kind]} {_fmt(tol)}"


def check_table(records: Iterable[Mapping], evidence: str) -> str:
    """Markdown table of the check records of one evidence class (the appendix of the book).

    Columns: # · chapter · claim (source; setting) · test · vs alt. · result.  Kept narrow so that
    it fits the page: the source and the sizes go into the claim cell.
    """
    recs = [r for r in records if r.get("evidence") == evidence]
    if not recs:
        return f"*No {evidence} checks in this build.*"
    out = ["| # | ch. | claim (source; setting) | test | vs alt. | result |",
           "|---|---|---|---|---|---|"]
    for i, r in enumerate(recs, 1):
        setting = r.get("setting", "n/a")
        if setting == "reduced" and r.get("sizes"):
            setting = f"reduced: {r['sizes']}"
        cell = _esc(r["claim"])
        extras = [x for x in (r.get("source", ""), "" if setting == "n/a" else setting,
                              r.get("claim_id", "")) if x]
        if extras:
            cell += " — *" + _esc("; ".join(extras)) + "*"
        alt = {True: "✓", False: "**inconclusive**", None: "–"}[r.get("rejects_alternative")]
        status = "pass" if r["passed"] else "**FAIL**"
        if not r.get("enforced", True):
            status = ("within" if r["passed"] else "outside") + " tol., *measured only*"
        out.append(f"| {i} | {r['chapter'][:3].rstrip('_')} | {cell} | {_esc(_test_cell(r))} | "
                   f"{alt} | {status} |")
    return "\n".join(out)


def class_counts_table(records: Iterable[Mapping]) -> str:
    """Markdown table: checks per chapter and evidence class (enforced / measured only)."""
    recs = list(records)
    chapters = list(dict.fromkeys(r["chapter"] for r in recs))
    classes = ("reproduction", "prediction", "consistency")
    out = ["| ch. | reproductions | predictions | consistency | measured only | inconclusive |",
           "|---|" + "---|" * (len(classes) + 2)]
    for ch in chapters + ["all"]:
        mine = [r for r in recs if ch == "all" or r["chapter"] == ch]
        enf = [r for r in mine if r.get("enforced", True)]
        cells = [str(sum(r.get("evidence") == c for r in enf)) for c in classes]
        cells.append(str(len(mine) - len(enf)))
        cells.append(str(sum(r.get("rejects_alternative") is False for r in enf)))
        label = "**all**" if ch == "all" else _esc(ch[:3].rstrip("_"))
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(out)
