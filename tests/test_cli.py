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


def test_table_json(capsys):
    """`gdgan table`: the LQ WGAN row is marginal at η = 0, the LQ GAN row stable."""
    code, out, _ = run(capsys, "table", "--eta", "0", "--json")
    rows = {(r["system"], r["loss"]): r for r in json.loads(out)["rows"]}
    assert code == 0 and rows[("lq", "wgan")]["verdict"] == "marginal"
    assert rows[("lq", "gan")]["verdict"] == "stable"
