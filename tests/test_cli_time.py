"""`gdgan simulate` / `gdgan train`: the issue's acceptance runs, files and error handling."""

import json
import subprocess
import sys

import numpy as np
import pytest

from gdgan._cli import main

pytest.importorskip("matplotlib")


def run_json(capsys, argv):
    rc = main(argv)
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)  # stdout is exactly one JSON object


def test_simulate_lq_wgan_cycles_and_penalty_converges(tmp_path, capsys):
    d1 = tmp_path / "d1"
    s1 = run_json(
        capsys, ["simulate", "lq", "--loss", "wgan", "--t1", "200", "--out", str(d1), "--json"]
    )
    assert s1["outcome"] == "cycling"
    assert s1["conserved_drift"] < 1e-6 and s1["steps"] > 100 and s1["wall_time_s"] > 0
    for name in ("trajectory.npz", "summary.json", "phase.png"):
        assert (d1 / name).exists()
    assert json.loads((d1 / "summary.json").read_text())["outcome"] == "cycling"
    traj = np.load(d1 / "trajectory.npz")
    assert traj["gen.a"].shape == traj["ts"].shape and traj["ts"][-1] == 200.0

    s2 = run_json(
        capsys,
        [
            "simulate",
            "lq",
            "--loss",
            "wgan",
            "--eta",
            "0.5",
            "--t1",
            "200",
            "--y0",
            "a=1.3",
            "--json",
        ],
    )
    assert s2["outcome"] == "converged"
    assert s2["final_distance"] < 1e-6 and s2["y0"]["gen.a"] == 1.3


def test_train_extragradient(tmp_path, capsys):
    s = run_json(
        capsys,
        [
            "train",
            "lq",
            "--loss",
            "wgan",
            "--optimizer",
            "extragradient",
            "--lr",
            "0.05",
            "--steps",
            "2000",
            "--out",
            str(tmp_path),
            "--json",
        ],
    )
    assert s["final_distance"] < 1e-3 and s["optimizer"] == "extragradient"
    traj = np.load(tmp_path / "trajectory.npz")
    assert traj["grad_norm_disc"].shape == (2000,)
    assert (tmp_path / "phase.png").exists()


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["simulate", "lq", "--t1", "-1"], "--t1"),
        (["simulate", "lq", "--y0", "b=1"], "--y0"),
        (["simulate", "lq", "--y0", "a=nan"], "--y0"),
        (["simulate", "nope"], "system"),
        (["train", "lq", "--optimizer", "rmsprop"], "--optimizer"),
        (["train", "lq", "--steps", "0"], "--steps"),
        (["train", "lq", "--disc-steps", "2"], "--disc-steps"),
    ],
)
def test_bad_input_is_one_line(argv, needle, capsys):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("gdgan: error:") and needle in err


def test_exit_code_subprocess():
    res = subprocess.run(
        [sys.executable, "-m", "gdgan._cli", "simulate", "lq", "--y0", "a=nan", "--json"],
        capture_output=True,
        text=True,
    )
    assert res.returncode != 0
    assert res.stdout == "" and len(res.stderr.strip().splitlines()) == 1


def test_train_unbiased_minibatch_penalty(tmp_path, capsys):
    """`--unbiased-penalty` removes the plug-in penalty's pull on the generator: LQ GAN,
    SGD α = 0.01, batches of 4, η = 0.5, 3 000 steps; over the second half the plug-in run's
    mean a sits far below a* = 1 (it descends η tr Σ_D / b too), the unbiased one near it."""
    means = {}
    for flag in ([], ["--unbiased-penalty"]):
        out = tmp_path / ("u" if flag else "p")
        s = run_json(
            capsys,
            [
                "train",
                "lq",
                "--loss",
                "gan",
                "--eta",
                "0.5",
                "--batch",
                "4",
                "--optimizer",
                "sgd",
                "--lr",
                "0.01",
                "--steps",
                "3000",
                "--stride",
                "1",
                "--out",
                str(out),
                "--json",
                *flag,
            ],
        )
        assert s["unbiased_penalty"] is bool(flag)
        a = np.load(out / "trajectory.npz")["gen.a"]
        means[bool(flag)] = a[len(a) // 2 :].mean()
    assert means[False] < 0.8 and means[True] > 0.9
