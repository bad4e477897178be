"""Unit tests of the small shared modules: spectra, conventions, checks, fits, progress."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scalinglaws import conventions
from scalinglaws.book.checks import CheckFailed, Checker, load_all_checks
from scalinglaws.analysis.fits import first_crossing, fit_power_law, local_slope
from scalinglaws.committee.setup import Overlaps, Setup, csv_header, trajectory, trajectory_csv
from scalinglaws.progress import progress_enabled
from scalinglaws.spectra import Spectrum


# --- spectra: numbers of the sources appendix (chapters/sources_worschech_rosenow.md, "Numbers to check")
@pytest.mark.parametrize("L,lam1,m2", [(2, 1.600, 1.360), (4, 2.810, 2.129), (8, 5.238, 3.709),
                                       (16, 10.099, 6.898), (32, 19.824, 13.292), (64, 39.278, 26.089)])
def test_power_law_spectrum_numbers(L, lam1, m2):
    sp = Spectrum.power_law(L, 1.0)
    assert sp.moment(1) == pytest.approx(1.0, rel=1e-12)
    assert sp.eigenvalues[0] == pytest.approx(lam1, abs=5e-4)  # printed to 3 decimals
    assert sp.moment(2) == pytest.approx(m2, abs=5e-4)


def test_power_law_spectrum_large_L():
    sp = Spectrum.power_law(1024, 0.75)
    assert sp.eigenvalues[0] == pytest.approx(523.8, abs=0.05)
    assert sp.eigenvalues[-1] == pytest.approx(2.83e-3, abs=5e-6)
    for beta, L, m2 in [(0.5, 512, 96.6), (1.0, 512, 205), (2.0, 1024, 721)]:
        assert Spectrum.power_law(L, beta).moment(2) == pytest.approx(m2, rel=3e-3)


def test_spectrum_groups_and_from_diagonal():
    sp = Spectrum.power_law(4, 1.0)
    d = sp.diagonal(12)
    assert d.shape == (12,) and np.all(d[:3] == sp.eigenvalues[0])
    sp2, idx = Spectrum.from_diagonal(d)
    np.testing.assert_allclose(sp2.eigenvalues, sp.eigenvalues)
    np.testing.assert_allclose(sp2.fractions, 0.25)
    assert np.all(idx == sp.group_index(12))
    with pytest.raises(ValueError, match="must sum to 1"):
        Spectrum(np.array([1.0, 2.0]), np.array([0.5, 0.6]))


def test_overlaps_from_weights_match_direct_overlaps():
    sp = Spectrum.power_law(4, 1.0)
    rng = np.random.default_rng(0)
    J, B = rng.standard_normal((2, 16)), rng.standard_normal((3, 16))
    o = Overlaps.from_weights(J, B, sp)
    S = np.diag(sp.diagonal(16))
    C = o.physical(sp)
    np.testing.assert_allclose(C[:2, :2], J @ S @ J.T / 16)
    np.testing.assert_allclose(C[:2, 2:], J @ S @ B.T / 16)
    np.testing.assert_allclose(C[2:, 2:], B @ S @ B.T / 16)


# --- conventions
def test_conventions_factors_and_roundtrip():
    wr = conventions.get("worschech-rosenow")
    assert wr.c_student(4) == pytest.approx(0.5) and wr.c_teacher(9) == pytest.approx(1 / 3)
    assert conventions.get("saad-solla").c_student(4) == 1.0
    eta, eps = conventions.convert(0.5, 0.0147, 2, 2, "saad-solla", "worschech-rosenow")
    assert eta == pytest.approx(1.0) and eps == pytest.approx(0.0147 / 2)
    back = conventions.convert(eta, eps, 2, 2, "worschech-rosenow", "saad-solla")
    assert back == pytest.approx((0.5, 0.0147))
    with pytest.raises(ValueError, match="conventions='nope'"):
        conventions.get("nope")


def test_trajectory_csv_header():
    assert csv_header(2, 2) == ["t", "eps_g", "Q11", "Q12", "Q22", "R11", "R12", "R21", "R22"]
    tr = trajectory(np.array([0.0, 1.0]), np.array([0.5, 0.4]), np.zeros((2, 2, 2)),
                    np.zeros((2, 2, 2)), np.eye(2), meta={"K": 2})
    lines = trajectory_csv(tr).splitlines()
    assert lines[0].startswith("#") and lines[1] == ",".join(csv_header(2, 2))
    assert len(lines) == 4


# --- checks
def test_checker_records_and_raises(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCALINGLAWS_CHECKS_DIR", str(tmp_path))
    c = Checker("99_test")
    ev = dict(evidence="consistency")
    assert c.check("abs ok", paper=1.0, ours=1.05, tol=0.1, **ev)
    assert c.check("rel ok", paper=2.0, ours=2.1, tol=0.06, kind="rel", **ev)
    assert c.check("range ok", paper=(0.9, 1.25), ours=1.0, kind="range", **ev)
    with pytest.raises(CheckFailed, match="abs bad"):
        c.check("abs bad", paper=1.0, ours=1.2, tol=0.1, **ev)
    assert not c.check("nan", paper=1.0, ours=float("nan"), tol=1.0, enforce=False, **ev)
    out = capsys.readouterr().out
    assert "[PASS] abs ok" in out and "[FAIL] abs bad" in out
    recs = json.loads((tmp_path / "99_test.json").read_text())
    assert [r["passed"] for r in recs] == [True, True, True, False, False]
    assert [r["enforced"] for r in recs] == [True, True, True, True, False]
    assert "[FAIL, not enforced] nan" in out
    assert {"claim", "paper", "ours", "tol", "passed", "evidence", "setting"} <= set(recs[0])
    assert len(load_all_checks(tmp_path)) == 5
    with pytest.raises(TypeError):
        c.check("array", paper=1.0, ours=np.ones(3), tol=1.0, **ev)
    with pytest.raises(ValueError):
        c.check("kind", paper=1.0, ours=1.0, tol=1.0, kind="approx", **ev)


def test_checker_requires_evidence_class_and_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALINGLAWS_CHECKS_DIR", str(tmp_path))
    c = Checker("99_test")
    with pytest.raises(ValueError, match="evidence must be one of"):
        c.check("no class", paper=1.0, ours=1.0, tol=0.1)
    with pytest.raises(ValueError, match="evidence must be one of"):
        c.check("bad class", paper=1.0, ours=1.0, tol=0.1, evidence="paper")
    with pytest.raises(ValueError, match="needs setting"):
        c.check("no setting", paper=1.0, ours=1.0, tol=0.1, evidence="reproduction")
    with pytest.raises(ValueError, match="needs sizes"):
        c.check("no sizes", paper=1.0, ours=1.0, tol=0.1, evidence="prediction", setting="reduced")
    assert c.check("ok", paper=1.0, ours=1.0, tol=0.1, evidence="reproduction", setting="reduced",
                   sizes="N=64 (paper: N=1024)")
    assert c.records[-1].setting == "reduced" and c.records[-1].sizes.startswith("N=64")


def test_fast_checker_records_fast_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALINGLAWS_CHECKS_DIR", str(tmp_path))
    c = Checker("99_fast", fast=True)
    c.check("r", paper=1.0, ours=1.0, tol=0.1, evidence="reproduction", setting="paper")
    c.check("p", paper=1.0, ours=1.0, tol=0.1, evidence="prediction")   # setting optional in fast mode
    assert [r.setting for r in c.records] == ["fast", "fast"]
    with pytest.raises(TypeError):
        Checker("99_fast", fast=1)


def test_alternative_makes_a_weak_check_inconclusive(tmp_path, monkeypatch, capsys):
    """A check whose tolerance also admits the competing value cannot tell the two apart: the record
    says so, and the ledger never counts it (here: rich 0.400 vs lazy 0.333 with tolerance 0.1)."""
    from scalinglaws.book import ledger
    from scalinglaws.book.checks import passes
    monkeypatch.setenv("SCALINGLAWS_CHECKS_DIR", str(tmp_path))
    c = Checker("99_alt")
    ev = dict(evidence="reproduction", setting="paper")
    assert c.check("strong", paper=0.4, ours=0.41, tol=0.03, alternative=0.333, **ev)
    assert c.check("weak", paper=0.4, ours=0.41, tol=0.1, alternative=0.333, **ev)
    assert c.check("range", paper=(0.35, 0.45), ours=0.4, kind="range", alternative=[0.2, 0.6], **ev)
    assert [r.rejects_alternative for r in c.records] == [True, False, True]
    assert "inconclusive" in capsys.readouterr().out
    assert ledger.claim_status(c.records[:1]) == "reproduced at the paper's size"
    assert ledger.claim_status(c.records[1:2]) == "measured, not established"
    assert not passes("abs", 0.4, 0.333, 0.05)[0] and passes("abs", 0.4, 0.36, 0.05)[0]


def test_ledger_status_rules():
    from scalinglaws.book.ledger import claim_status
    rec = lambda **k: {"evidence": "reproduction", "setting": "paper", "passed": True,
                       "enforced": True, "rejects_alternative": None, **k}
    assert claim_status([]) == "not attempted"
    assert claim_status([rec()]) == "reproduced at the paper's size"
    assert claim_status([rec(setting="reduced")]) == "reproduced at a reduced size"
    assert claim_status([rec(setting="fast")]) == "reproduced at test size (fast mode)"
    assert claim_status([rec(evidence="prediction", setting="reduced")]).startswith("predicted")
    assert claim_status([rec(evidence="consistency", setting="n/a")]) == "measured, not established"
    assert claim_status([rec(enforced=False)]) == "measured, not established"
    assert claim_status([rec(), rec(passed=False)]) == "failed"
    assert claim_status([rec(passed=False, enforced=False), rec(setting="reduced")]) \
        == "reproduced at a reduced size"


def test_ledger_claim_files_are_valid_and_checks_name_declared_claims(tmp_path):
    from scalinglaws.book import ledger
    claims = ledger.load_claims()
    assert len({c.id for c in claims}) == len(claims)
    papers = {c.paper for c in claims}
    assert {"worschech_rosenow", "bordelon_atanasov_pehlevan", "kramp_lindner_helias",
            "ren_nichani_wu_lee"} <= papers, "every paper has declared claims"
    with pytest.raises(ValueError, match="undeclared claims"):
        ledger.ledger_rows(claims, [{"claim_id": "WR-no-such-claim", "chapter": "x"}])
    bad = tmp_path / "bad.yml"
    bad.write_text("- {id: XX-1, paper: worschech_rosenow, where: s, statement: t}\n")
    with pytest.raises(ValueError, match="must start with"):
        ledger.load_claims(tmp_path)
    bad.write_text("- {id: WR-1, paper: nobody, where: s, statement: t}\n")
    with pytest.raises(ValueError, match="paper must be one of"):
        ledger.load_claims(tmp_path)
    bad.write_text("- {id: WR-1, paper: worschech_rosenow, where: s, statement: t}\n"
                   "- {id: WR-1, paper: worschech_rosenow, where: s, statement: t}\n")
    with pytest.raises(ValueError, match="declared twice"):
        ledger.load_claims(tmp_path)


# --- fits
def test_fit_power_law_recovers_exponent():
    x = np.logspace(0, 4, 50)
    y = 3.0 * x ** -0.7
    f = fit_power_law(x, y, (10, 1000))
    assert f.slope == pytest.approx(-0.7, abs=1e-12) and f.amplitude == pytest.approx(3.0)
    np.testing.assert_allclose(local_slope(x, y), -0.7, atol=1e-10)
    with pytest.raises(ValueError):
        fit_power_law(x, y, (1e5, 1e6))


def test_first_crossing():
    t = np.array([1.0, 10.0, 100.0])
    y = np.array([1.0, 0.5, 0.1])
    assert first_crossing(t, y, 0.5) == pytest.approx(10.0)
    assert 10 < first_crossing(t, y, 0.3) < 100
    assert np.isnan(first_crossing(t, y, 0.01))


def test_progress_off_in_tests():
    assert not progress_enabled()


def test_setup_repr_roundtrip():
    s = Setup(2, 3, 0.1, "linear", spectrum=Spectrum.power_law(4, 0.5))
    d = s.describe()
    assert d["K"] == 2 and d["M"] == 3 and d["activation"] == "linear" and d["L"] == 4
