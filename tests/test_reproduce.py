"""Reproductions: each runs (quick configuration) and its verdict logic says both
"reproduced" and "not reproduced" on the right numbers."""

import json
import os
import subprocess
import sys

import pytest

from gdgan._reproduce import REPRODUCTIONS, reproduce, reproductions
from gdgan._reproduce import nk as nk


def test_registry_lists_every_reproduction():
    names = reproductions()
    for name in (
        "nk-stability-table",
        "nk-lq",
        "nk-uniform",
        "dirac-stabilizers",
        "nk-ring",
        "li-madry",
        "roa",
        "stochastic",
        "digits",
    ):
        assert name in names
    with pytest.raises(ValueError, match="name: expected one of"):
        reproduce("nope")


def test_stability_table_verdict_both_ways(tmp_path):
    sec = REPRODUCTIONS["nk-stability-table"](tmp_path, True)
    assert sec.reproduced, sec.reason
    rows = sec.numbers["rows"]
    # A WGAN that were stable, or a penalised system that were marginal, must fail the claim.
    broken = [dict(r) for r in rows]
    for r in broken:
        if r["loss"] == "wgan" and r["eta"] == 0:
            r["verdict"] = "stable"
    ok, reason = nk.verdict_stability_table({"rows": broken})
    assert not ok and "expected marginal" in reason
    broken = [dict(r, verdict="marginal") if r["eta"] > 0 else r for r in rows]
    assert not nk.verdict_stability_table({"rows": broken})[0]
    assert "| lq | gan | 0 | stable |" in sec.table


def test_nk_lq_quick_reproduces(tmp_path):
    """The LQ claims end to end: cycling WGAN with conserved H, converging GAN and
    penalised WGAN, eigenvalues equal to the closed form, Euler steps spiralling out."""
    sec = REPRODUCTIONS["nk-lq"](tmp_path, True)
    assert sec.reproduced, sec.reason
    assert sec.numbers["wgan_conserved_drift"] < 1e-8
    for fig in sec.figures:
        assert (tmp_path / fig).stat().st_size > 10_000


def test_report_and_cli_json(tmp_path):
    """`gdgan reproduce NAME --json` prints one JSON object; the report has a verdict line."""
    out = tmp_path / "o"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gdgan",
            "reproduce",
            "dirac-stabilizers",
            "--quick",
            "--json",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    obj = json.loads(proc.stdout)
    assert {"method", "continuous", "simultaneous", "alternating"} <= set(obj["rows"][0])
    assert obj["reproduced"], obj["reason"]
    rows = {r["method"]: r for r in obj["rows"]}
    assert rows["r1"]["continuous"] == "stable" and rows["gan"]["simultaneous"] == "unstable"
    assert (out / "dirac_stabilizers.png").exists()
    wrong = [dict(r, continuous="stable") if r["method"] == "gan" else r for r in obj["rows"]]
    ok, reason = nk.verdict_dirac({"rows": wrong})
    assert not ok and "gan: continuous stable" in reason
    report = (out / "report.md").read_text()
    assert "**Verdict: reproduced**" in report and "dirac_stabilizers.png" in report
    assert "data:image/png;base64" in (out / "report.html").read_text()
    bad = subprocess.run(
        [sys.executable, "-m", "gdgan", "reproduce", "nope"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def _fakes():
    """(Re-)register the fake sections (fake-a, fake-b, fake-fail); tests pop them after."""
    import importlib

    import fake_reproductions

    return importlib.reload(fake_reproductions)


def test_parallel_sections_and_resume(tmp_path):
    """`jobs=2` runs sections in separate processes (different pids) and keeps the order;
    each section is saved as it finishes and `resume=True` reuses it (same pid, no rerun)
    only when `quick` matches."""
    _fakes()
    try:
        _parallel_and_resume(tmp_path)
    finally:
        for name in ("fake-a", "fake-b", "fake-fail"):
            REPRODUCTIONS.pop(name, None)


def _parallel_and_resume(tmp_path):
    secs = reproduce(["fake-a", "fake-b"], out=tmp_path, quick=True, jobs=2)
    assert [s.name for s in secs] == ["fake-a", "fake-b"]
    pids = {s.numbers["pid"] for s in secs}
    assert len(pids) == 2 and os.getpid() not in pids
    assert all(s.reproduced for s in secs)
    assert (tmp_path / "sections" / "fake-a.json").exists()
    assert "fake-b" in (tmp_path / "report.md").read_text()
    again = reproduce(["fake-a", "fake-b"], out=tmp_path, quick=True, resume=True)
    assert [s.numbers["pid"] for s in again] == [s.numbers["pid"] for s in secs]
    assert again[0].claim == "a claim"
    fresh = reproduce("fake-a", out=tmp_path, quick=False, resume=True)
    assert fresh[0].numbers["pid"] == os.getpid() and not fresh[0].reproduced
    with pytest.raises(ValueError, match="jobs: expected a positive integer"):
        reproduce("fake-a", out=tmp_path, jobs=0)


def test_resume_recomputes_other_code_version_or_configuration(tmp_path, monkeypatch):
    """A saved section is reused only under the same fingerprint: a different
    `gdgan.__version__`, module source or configuration (the module's upper-case
    constants) makes `resume=True` recompute it (the section writes a fresh file)."""
    import json

    from gdgan._reproduce import fingerprint

    fake_reproductions = _fakes()
    try:
        reproduce("fake-a", out=tmp_path, quick=True)
        path = tmp_path / "sections" / "fake-a.json"
        txt = tmp_path / "fake-a.txt"

        def rerun():
            txt.unlink(missing_ok=True)
            reproduce("fake-a", out=tmp_path, quick=True, resume=True)
            return txt.exists()

        assert not rerun()  # same fingerprint: reused, nothing recomputed
        saved = json.loads(path.read_text())
        assert saved["fingerprint"] == fingerprint("fake-a", True)
        for key, value in (("version", "0.0.0-old"), ("source_sha256", "0" * 64)):
            path.write_text(
                json.dumps({**saved, "fingerprint": {**saved["fingerprint"], key: value}})
            )
            assert rerun(), key
        monkeypatch.setitem(fake_reproductions.FAKE_CONFIG, "threshold", 2.0)
        assert rerun()  # the configuration changed since it was saved
        assert not rerun()
    finally:
        for name in ("fake-a", "fake-b", "fake-fail"):
            REPRODUCTIONS.pop(name, None)


def test_failing_section_reports_not_reproduced(tmp_path):
    """`fake-fail`'s numbers contradict its claim: `reproduce` returns it with
    `reproduced=False` (the CLI turns that into exit status 1) and the report says so."""
    fake_reproductions = _fakes()
    try:
        (sec,) = reproduce("fake-fail", out=tmp_path)
        assert not sec.reproduced and "threshold" in sec.reason
        assert "**Verdict: not reproduced**" in (tmp_path / "report.md").read_text()
        assert fake_reproductions.verdict_fake({"value": 1.0})[0]
    finally:
        for name in ("fake-a", "fake-b", "fake-fail"):
            REPRODUCTIONS.pop(name, None)
