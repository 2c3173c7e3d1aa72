"""`gdgan continue` and `gdgan orbit`: numbers against closed forms, one JSON object with
--json, a figure with --out, and one-line errors (exit 2) for bad input."""

import json

import numpy as np
import pytest

from gdgan._cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_continue_eta_finds_the_lq_gan_hopf_point(capsys, tmp_path):
    """LQ GAN (σ = 1) with the penalty: J_η = [[k, −c], [c + 2ηck, −2ηc²]] with
    k = 6 f''(0) σ⁴ = −3/2 and c = 2 f'(0) σ = 1, so trace k − 2η c² vanishes at η = −3/4
    with det c² = 1: a Hopf point with frequency 1."""
    pytest.importorskip("matplotlib")
    code, out, err = run(
        capsys,
        "continue",
        "lq",
        "--loss",
        "gan",
        "--param",
        "eta=-1:1",
        "--json",
        "--out",
        str(tmp_path),
    )
    assert code == 0, err
    assert out.count("\n") == 1
    obj = json.loads(out)
    assert obj["time"] == "continuous" and obj["status"] == "reached_stop"
    (hopf,) = obj["points"]
    assert hopf["kind"] == "hopf" and abs(hopf["p"] + 0.75) < 1e-8
    assert abs(hopf["frequency"] - 1.0) < 1e-8
    lo, hi = obj["stable_intervals"][0]
    assert -0.75 < lo < -0.5 and hi == 1.0
    assert (tmp_path / "continue_lq_eta.png").stat().st_size > 10_000


def test_continue_step_size_alternating_flip(capsys):
    """LQ WGAN, σ = 1, η = 1/4: J = [[0, −2], [2, −2]]. Alternating steps (discriminator
    first) linearise to M = [[1, −2α], [2α, 1 − 2α − 4α²]]; det(M + I) = 4 − 4α − 4α²
    vanishes at α = (√5 − 1)/2: a flip at the golden ratio."""
    code, out, err = run(
        capsys,
        "continue",
        "lq",
        "--loss",
        "wgan",
        "--eta",
        "0.25",
        "--param",
        "lr=0.01:1",
        "--order",
        "alternating",
        "--n-points",
        "12",
    )
    assert code == 0, err
    line = next(x for x in out.splitlines() if "flip" in x)
    alpha = float(line.split("=")[1].split()[0])
    assert alpha == pytest.approx((np.sqrt(5) - 1) / 2, abs=1e-8)


def test_orbit_reports_the_wgan_centre(capsys):
    """The LQ WGAN's orbits form a family (H is conserved): two multipliers at 1."""
    code, out, err = run(capsys, "orbit", "lq", "--loss", "wgan", "--window", "20", "--json")
    assert code == 0, err
    obj = json.loads(out)
    assert obj["converged"] and obj["isolated"] is False and obj["stable"] is False
    mu = np.array(obj["multipliers"])
    np.testing.assert_allclose(mu[:, 0], 1.0, atol=1e-5)


@pytest.mark.parametrize(
    "argv, name",
    [
        (["continue", "nope", "--param", "eta=0:1"], "system"),
        (["continue", "lq", "--param", "eta=1:1"], "--param"),
        (["continue", "lq"], "--param"),
        (["continue", "lq", "--param", "eta=0:1", "--param", "sigma=1:2"], "--param"),
        (["continue", "lq", "--param", "foo=0:1"], "--param"),
        (["continue", "lq", "--param", "lr=-1:1"], "--param"),
        (["continue", "lq", "--param", "eta=0:1", "--method", "gd"], "--method"),
        (["continue", "two_gaussians", "--param", "eta=0:1"], "y0"),
        (["orbit", "lq", "--window", "-1"], "--window"),
    ],
)
def test_bad_input_is_one_line(capsys, argv, name):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"gdgan: error: {name}")
