"""Every `--json` output is valid JSON (NaN/inf -> null) and follows its schema, the one
printed in docs/cli-json.md (the page is the contract: the test reads the schemas from it)."""

import json
import math
import pathlib
import re

import pytest

from gdgan._cli import main

jsonschema = pytest.importorskip("jsonschema")

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "cli-json.md"


def _schemas():
    text = DOC.read_text()
    blocks = re.findall(r"^## `gdgan (\w+) --json`.*?^```json\n(.*?)^```", text, re.S | re.M)
    return {name: json.loads(body) for name, body in blocks}


SCHEMAS = _schemas()


def _reject(token):
    raise AssertionError(f"invalid JSON constant {token} in the output")


def run_json(capsys, *argv):
    """Run `gdgan ARGV --json`; stdout must be one strict JSON object (no NaN/Infinity)."""
    assert main([*argv, "--json"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    return json.loads(out, parse_constant=_reject)


def check(command, obj):
    schema = SCHEMAS[command]
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(obj)


def test_every_command_has_a_schema():
    assert set(SCHEMAS) == {
        "systems",
        "spectrum",
        "table",
        "simulate",
        "train",
        "sweep",
        "reproduce",
        "bench",
        "continue",
        "orbit",
    }


def test_schema_rejects_wrong_output():
    """The schemas can fail: a missing key, NaN-as-string, a wrong verdict are caught."""
    good = {
        "system": "lq",
        "n": 2,
        "at": "equilibrium",
        "method": "dense",
        "eigenvalues": [[0.0, 2.0]],
        "verdict": "marginal",
        "max_real": 0.0,
        "max_stable_step": 0.0,
        "residuals": None,
        "converged": True,
        "n_matvecs": None,
    }
    check("spectrum", good)
    for bad in (
        {k: v for k, v in good.items() if k != "max_stable_step"},
        {**good, "max_real": "NaN"},
        {**good, "verdict": "fine"},
        {**good, "extra": 1},
    ):
        with pytest.raises(jsonschema.ValidationError):
            check("spectrum", bad)


def test_systems_and_table(capsys):
    """`gdgan table`: the LQ WGAN row is marginal at η = 0, the LQ GAN row stable."""
    check("systems", run_json(capsys, "systems"))
    obj = run_json(capsys, "table", "--eta", "0")
    check("table", obj)
    rows = {(r["system"], r["loss"]): r for r in obj["rows"]}
    assert rows[("lq", "wgan")]["verdict"] == "marginal"
    assert rows[("lq", "gan")]["verdict"] == "stable"


def test_spectrum_dense_and_matrix_free_share_keys(capsys):
    """LQ WGAN at its equilibrium: ±2i (marginal) both ways; the step is null only where the
    matrix-free path did not compute it."""
    dense = run_json(capsys, "spectrum", "lq", "--loss", "wgan")
    mf = run_json(capsys, "spectrum", "lq", "--loss", "wgan", "--matrix-free", "--k", "2")
    for obj in (dense, mf):
        check("spectrum", obj)
        assert obj["verdict"] == "marginal"
        assert sorted(abs(e[1]) for e in obj["eigenvalues"]) == pytest.approx([2, 2])
    assert set(dense) == set(mf)
    assert dense["max_stable_step"] == 0.0 and mf["max_stable_step"] == 0.0
    assert dense["residuals"] is None and len(mf["residuals"]) == 2
    # stable (η = 0.25: −1 ± √3 i): matrix-free without --stable-step -> null, with it -> 0.5
    args = ["spectrum", "lq", "--loss", "wgan", "--eta", "0.25", "--matrix-free", "--k", "2"]
    none = run_json(capsys, *args)
    step = run_json(capsys, *args, "--stable-step")
    check("spectrum", none)
    check("spectrum", step)
    assert none["max_stable_step"] is None
    assert step["max_stable_step"] == pytest.approx(0.5, rel=1e-6)


def test_simulate_and_train_including_nonfinite(capsys, tmp_path):
    obj = run_json(capsys, "simulate", "lq", "--loss", "wgan", "--t1", "20")
    check("simulate", obj)
    assert obj["outcome"] == "cycling"
    # simultaneous GD on the LQ WGAN (eigenvalues ±2i) grows by |1 + 2i·lr| = √101 per step:
    # with lr = 5 it overflows, so distances / gradient norms are inf or NaN -> null
    obj = run_json(capsys, "train", "lq", "--loss", "wgan", "--lr", "5", "--steps", "400")
    check("train", obj)
    assert obj["outcome"] == "diverged"
    assert None in (obj["final_distance"], obj["final_grad_norm_disc"], obj["final_value"])
    obj = run_json(capsys, "train", "lq", "--loss", "wgan", "--steps", "50", "--out", str(tmp_path))
    check("train", obj)
    on_disk = json.loads((tmp_path / "summary.json").read_text(), parse_constant=_reject)
    assert on_disk["outcome"] == obj["outcome"] and "files" in obj


def test_sweep_discrete_with_diverging_runs(capsys):
    """A discrete-time sweep over lr on the Dirac GAN with R1 (γ = 1): small steps stay,
    lr = 5 exceeds the stable step 4 (J has the double
    eigenvalue −1/2 at γ = 1), so some runs diverge; max_real is null (discrete time)."""
    obj = run_json(
        capsys,
        "sweep",
        "dirac",
        "--gamma",
        "1",
        "--steps",
        "200",
        "--grid",
        "lr=0.1,5",
        "--inits",
        "box:0.5:2",
        "--no-progress",
    )
    check("sweep", obj)
    rows = obj["per_grid_point"]
    assert [r["max_real"] for r in rows] == [None, None]
    assert rows[0]["spectral_radius"] < 1 < rows[1]["spectral_radius"]
    assert obj["outcomes"]["diverged"] >= 1


@pytest.fixture
def nan_section():
    from gdgan._reproduce._section import REPRODUCTIONS, Section, register

    def run(out, quick):
        nums = {"value": math.nan, "big": math.inf, "rows": [{"x": -math.inf, "y": 1.0}]}
        return Section("fake-nan", "Fake", "a claim", "a setup", nums, True, "NaN on purpose")

    register("fake-nan")(run)
    yield
    REPRODUCTIONS.pop("fake-nan", None)


def test_reproduce_nan_is_null(capsys, tmp_path, nan_section):
    obj = run_json(capsys, "reproduce", "fake-nan", "--out", str(tmp_path))
    check("reproduce", obj)
    assert obj["value"] is None and obj["big"] is None and obj["rows"] == [{"x": None, "y": 1.0}]


def test_reproduce_several_sections(capsys, tmp_path, monkeypatch):
    from gdgan._reproduce._section import Section

    def fake(name, out, **kw):
        return [Section(n, n, "c", "s", {"r": math.nan}, True, "ok", seconds=1.0) for n in "ab"]

    monkeypatch.setattr("gdgan._reproduce.reproduce", fake)
    obj = run_json(capsys, "reproduce", "all", "--out", str(tmp_path))
    check("reproduce", obj)
    assert [s["numbers"]["r"] for s in obj["sections"]] == [None, None]


def test_bench(capsys, monkeypatch):
    """One real measurement (numpy eigenvalues at n ≈ 10, in this process instead of a child
    to keep the test fast) and a failed child's row: both follow the schema."""
    from gdgan._cli import _bench

    def child(kind, method, spec, repeats=1, timeout=900, k=6):
        if method == "numpy":
            return _bench.run_one(kind, method, spec, repeats, k)
        return {"kind": kind, "method": method, "spec": spec, "status": f"timeout > {timeout} s"}

    monkeypatch.setattr(_bench, "run_child", child)
    obj = run_json(capsys, "bench", "eig", "--sizes", "10", "--repeats", "0", "--timeout", "9")
    check("bench", obj)
    status = {r["method"]: r["status"] for r in obj["rows"]}
    assert status["numpy"] == "ok" and status["matrix-free"] == "timeout > 9 s"


def test_continue_and_orbit(capsys):
    """Continuous and discrete continuation and an orbit of the LQ WGAN follow their schemas."""
    obj = run_json(capsys, "continue", "lq", "--loss", "wgan", "--param", "eta=-0.5:0.5")
    check("continue", obj)
    assert [p["kind"] for p in obj["points"]] == ["hopf"]
    obj = run_json(
        capsys, "continue", "lq", "--loss", "wgan", "--eta", "0.25", "--param", "lr=0.1:1"
    )
    check("continue", obj)
    assert obj["time"] == "discrete" and "spectral_radius" in obj
    obj = run_json(capsys, "orbit", "lq", "--loss", "wgan", "--window", "20")
    check("orbit", obj)
    assert obj["isolated"] is False
