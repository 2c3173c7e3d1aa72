"""The core CLI: `gdgan spectrum`, `gdgan systems`, `gdgan table`, and one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from gdgan._cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_spectrum_json_lq_wgan(capsys):
    """LQ WGAN: ±2i, marginal; with --eta 0.25: −1 ± √3 i, stable, α* = 2·1/4 = 0.5."""
    code, out, _ = run(capsys, "spectrum", "lq", "--loss", "wgan", "--json")
    assert code == 0
    obj = json.loads(out)
    assert set(obj) == {
        "system",
        "n",
        "at",
        "method",
        "eigenvalues",
        "verdict",
        "max_real",
        "max_stable_step",
        "residuals",
        "converged",
        "n_matvecs",
    }
    assert obj["verdict"] == "marginal" and obj["n"] == 2
    np.testing.assert_allclose(obj["eigenvalues"], [[0.0, 2.0], [0.0, -2.0]], atol=1e-12)
    code, out, _ = run(capsys, "spectrum", "lq", "--loss", "wgan", "--eta", "0.25", "--json")
    obj = json.loads(out)
    assert obj["verdict"] == "stable"
    np.testing.assert_allclose(obj["eigenvalues"], [[-1.0, 3**0.5], [-1.0, -(3**0.5)]], atol=1e-12)
    assert obj["max_stable_step"] == pytest.approx(0.5)


def test_spectrum_params_and_table(capsys):
    """--param sigma=2 on the LQ GAN: λ² + (3/2)σ⁴λ + σ² = λ² + 24λ + 4 = 0."""
    code, out, _ = run(capsys, "spectrum", "lq", "--param", "sigma=2", "--json")
    obj = json.loads(out)
    # λ² + 24λ + 4 = 0 ⇒ λ = −12 ± √140
    assert sorted(e[0] for e in obj["eigenvalues"]) == pytest.approx(
        [-12 - 140**0.5, -12 + 140**0.5]
    )
    code, out, _ = run(capsys, "spectrum", "dirac")
    assert code == 0 and "verdict: marginal" in out
    code, out, _ = run(capsys, "systems", "--json")
    assert {s["name"] for s in json.loads(out)["systems"]} >= {
        "dirac",
        "lq",
        "uniform",
        "ring",
        "two_gaussians",
    }


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["spectrum", "nope"], "system: expected one of"),
        (["spectrum", "lq", "--loss", "foo"], "loss: expected one of"),
        (["spectrum", "lq", "--param", "sigma"], "--param: expected KEY=VALUE"),
        (
            ["spectrum", "lq", "--param", "sigma=-1"],
            "lq: sigma: expected a positive number, got -1",
        ),
        (["spectrum", "lq", "--param", "bogus=1"], "param: system 'lq' has parameters"),
        (["spectrum", "lq", "--eta", "-0.5"], "--eta: expected a non-negative number"),
        (
            ["spectrum", "two_gaussians", "--loss", "gan"],
            "--loss: expected none for 'two_gaussians' (its objective is fixed), got 'gan'",
        ),
        (["frobnicate"], "COMMAND: expected one of"),
    ],
)
def test_bad_input_one_line(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert needle in err and err.count("\n") == 1


def test_console_entry_point_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "gdgan", "spectrum", "lq", "--loss", "nope"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("gdgan: error: loss:")


def _subparsers():
    import argparse

    from gdgan._cli import make_parser

    parser = make_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return parser, sub.choices


def test_every_flag_has_help_and_shows_its_default():
    parser, commands = _subparsers()
    assert set(commands) >= {"systems", "spectrum", "table", "simulate", "train", "sweep"}
    for name, sp in [("gdgan", parser), *commands.items()]:
        fmt = sp._get_formatter()
        for action in sp._actions:
            if not action.option_strings or action.option_strings[0] in ("-h", "--version"):
                continue
            text = fmt._get_help_string(action) if action.help else ""
            assert text and "default" in text, (name, action.option_strings)


def test_reproduce_help_lists_the_names(capsys):
    import gdgan

    assert main(["reproduce", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for name in gdgan.reproductions():
        assert name in out.replace("- ", "-")


def test_same_flag_same_default_as_the_api():
    """--converge-tol, --rtol/--atol, --t1 mean the same in simulate, train and sweep, with
    the API's defaults (None -> gdgan.simulate's 1e-10 in float64)."""
    import inspect

    import gdgan

    _, commands = _subparsers()

    def default(cmd, flag):
        (a,) = [a for a in commands[cmd]._actions if flag in a.option_strings]
        return a.default

    api = inspect.signature(gdgan.simulate).parameters
    assert inspect.signature(gdgan.sweep).parameters["converge_tol"].default == 1e-8
    for cmd in ("simulate", "train", "sweep"):
        assert default(cmd, "--converge-tol") == api["converge_tol"].default == 1e-8
    for cmd in ("simulate", "sweep"):
        assert default(cmd, "--rtol") is api["rtol"].default is None
        assert default(cmd, "--atol") is api["atol"].default is None
    assert default("simulate", "--max-steps") == api["max_steps"].default
    assert default("simulate", "--n-save") == api["n_save"].default
    from gdgan._cli._time import T1

    assert default("simulate", "--t1") == T1 and "100" in commands["sweep"].format_help()


@pytest.mark.parametrize("flag, bar", [([], False), (["--progress"], True)])
def test_sweep_progress_only_on_a_terminal(capsys, flag, bar):
    """Redirected (capsys is not a terminal), a sweep writes no bar unless --progress."""
    argv = ["sweep", "dirac", "--steps", "20", "--inits", "box:0.5:2", "--json", *flag]
    assert main(argv) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)
    assert (captured.err != "") is bar


def test_reproduce_exits_1_when_a_claim_is_not_reproduced(capsys, tmp_path):
    """`fake-fail`'s numbers contradict its claim: exit 1, the stdout line says NOT
    reproduced... and one stderr line names it; a reproduced section exits 0."""
    import importlib

    import fake_reproductions

    from gdgan._reproduce import REPRODUCTIONS

    importlib.reload(fake_reproductions)
    try:
        code, out, err = run(capsys, "reproduce", "fake-fail", "--out", str(tmp_path / "a"))
        assert code == 1
        assert "not reproduced" in out and "fake-fail" in err.splitlines()[-1]
        code, out, err = run(capsys, "reproduce", "fake-a", "--quick", "--out", str(tmp_path / "b"))
        assert code == 0 and "reproduced" in out
        code, out, _ = run(capsys, "reproduce", "fake-fail", "--json", "--out", str(tmp_path / "c"))
        assert code == 1
        obj = json.loads(out)
        assert obj["verdict"] == "not reproduced" and obj["kind"] == "claim"
    finally:
        for name in ("fake-a", "fake-b", "fake-fail"):
            REPRODUCTIONS.pop(name, None)


def test_question_sections_say_answered_or_inconclusive():
    """A question section's verdict reads answered / inconclusive, a claim's reproduced / not."""
    from gdgan._reproduce._section import Section

    q = Section("q", "Q", "is it?", "setup", {}, True, "no, it is not", kind="question")
    assert q.verdict_label == "answered" and "**Question.**" in q.markdown()
    q.reproduced = False
    assert q.verdict_label == "inconclusive" and "**Verdict: inconclusive**" in q.markdown()
    c = Section("c", "C", "it is", "setup", {}, False, "it is not")
    assert c.verdict_label == "not reproduced" and c.to_json()["verdict"] == "not reproduced"
