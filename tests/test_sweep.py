"""`gdgan.sweep` against its oracles: a Python loop of single `simulate` / `train` runs, the
unchunked and single-device runs, an uninterrupted run (kill-and-resume), and the closed-form
spectrum of the LQ WGAN with the gradient penalty.

All sweeps here share a few static configurations, so each compiles once per session.
"""

import json
import os
import subprocess
import sys
import textwrap

import diffrax
import numpy as np
import optax
import pytest

import gdgan

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_lq(p):
    return gdgan.systems.lq(sigma=p["sigma"], loss="wgan")


def regs_eta(p):
    return [gdgan.GradientPenalty(p["eta"])]


ETAS = np.linspace(0.0, 1.0, 6)
SIGMAS = np.array([0.5, 1.5])
GRID = {"eta": ETAS, "sigma": SIGMAS}
T1 = 20.0
# converge_tol well above the solver's accuracy, so that "converged" is not decided by noise
KW = dict(
    regularizers=regs_eta, inits=gdgan.box(0.3, 3), t1=T1, rtol=1e-8, atol=1e-8, converge_tol=1e-6
)

RUN_ARRAYS = (
    "outcome",
    "y0",
    "y_final",
    "t_final",
    "steps",
    "t_converge",
    "residual",
    "distance",
    "nearest",
    "verdict",
    "max_real",
)


@pytest.fixture(scope="module")
def reference():
    """Per-trajectory mode, one chunk, one device: 12 grid points x 3 initial states."""
    return gdgan.sweep(make_lq, GRID, mode="vmap", **KW)


@pytest.fixture(scope="module")
def chunked(tmp_path_factory):
    """The same sweep in chunks of 5 runs, written to disk."""
    out = tmp_path_factory.mktemp("sweep") / "full"
    return gdgan.sweep(make_lq, GRID, mode="vmap", chunk_size=5, out=str(out), **KW), out


def assert_same(a, b, atol=1e-12):
    """Equal runs. The event time (and step count) of runs that converged is compared to 1e-6
    only: near the equilibrium the step sizes follow round-off in the error estimate, which
    depends on the batch width XLA vectorises over (see test_sweep_equals_loop_of_simulate)."""
    conv = np.asarray(a.outcome_name) == "converged"
    for k in ("t_final", "t_converge"):
        np.testing.assert_allclose(getattr(a, k)[conv], getattr(b, k)[conv], rtol=1e-6, err_msg=k)
    for k in RUN_ARRAYS + ("grid_verdict", "grid_max_real"):
        x, y = np.asarray(getattr(a, k)), np.asarray(getattr(b, k))
        assert x.shape == y.shape, k
        if k in ("t_final", "t_converge", "steps"):
            x, y = x[~conv], y[~conv]
        if np.issubdtype(x.dtype, np.integer):
            np.testing.assert_array_equal(x, y, err_msg=k)
        else:
            # eigenvalues at the final state amplify its last-bit differences (see above)
            tol = max(atol, 1e-9) if k == "max_real" and atol else atol
            np.testing.assert_allclose(x, y, rtol=0, atol=tol, equal_nan=True, err_msg=k)


def test_sweep_equals_loop_of_simulate(reference):
    """Every run equals its own `simulate` call: the outcome exactly, runs away from the
    equilibrium to 1e-12. Within ~1e-8 of an equilibrium the solver's error estimate is pure
    round-off, so the step sizes (and the step at which the convergence event fires) depend
    on the last bit of the field, which XLA evaluates in another order for a batch: there the
    states agree to 1e-10 and the event times to 1e-6."""
    res = reference
    assert res.n_runs == 36 and res.shape == (6, 2, 3)
    for i in (0, 4, 8, 10, 14, 19, 23, 27, 31, 35):  # every η, both σ, all initial states
        eta, sigma = res.params["eta"][i], res.params["sigma"][i]
        s = gdgan.systems.lq(sigma=sigma, loss="wgan")
        y0 = res.state(i, "y0")
        # the box is centred at this grid point's equilibrium (0, sigma)
        assert abs(y0["disc"]["w"]) <= 0.3 and abs(y0["gen"]["a"] - sigma) <= 0.3
        out = gdgan.simulate(
            s.field(gdgan.GradientPenalty(eta)),
            y0,
            T1,
            saveat=diffrax.SaveAt(t1=True),
            throw=False,
            y_star=s.equilibrium,
            rtol=1e-8,
            atol=1e-8,
            n_check=101,
            converge_tol=1e-6,
        )
        assert int(res.outcome[i]) == int(out.outcome._value)
        yf = np.array([out.y_final["disc"]["w"], out.y_final["gen"]["a"]])
        near = res.distance[i] < 1e-5
        atol = 1e-10 if near else 1e-12
        np.testing.assert_allclose(res.y_final[i], yf, rtol=0, atol=atol)
        np.testing.assert_allclose(res.distance[i], out.distance, rtol=0, atol=atol)
        np.testing.assert_allclose(res.residual[i], out.residual, rtol=0, atol=atol)
        if near:
            np.testing.assert_allclose(res.t_final[i], out.t_final, rtol=1e-6)
        else:
            assert res.t_final[i] == out.t_final == T1
            assert int(res.steps[i]) == int(out.steps)
    assert (res.distance > 1e-6).sum() >= 12  # runs for the exact comparison exist


def test_batch_mode_agrees_with_loop_to_tolerance(reference):
    """One shared step size for the chunk: same outcomes, final states within tolerance."""
    res = gdgan.sweep(make_lq, GRID, mode="batch", **KW)
    np.testing.assert_array_equal(res.outcome_name, reference.outcome_name)
    np.testing.assert_allclose(res.y_final, reference.y_final, atol=1e-6)
    # the residual is the derivative each run carries from its last step: h at y_final
    np.testing.assert_allclose(res.residual, reference.residual, atol=1e-5)
    assert np.all(res.steps == res.steps[0])  # one shared step sequence


@pytest.mark.parametrize("solver", [diffrax.Heun(), diffrax.Kvaerno5()], ids=["Heun", "Kvaerno5"])
def test_batch_mode_with_other_solvers(reference, solver):
    """Heun (explicit, no first-same-as-last stage: the batch evaluates the field once more
    per step for the convergence test and the windows) and Kvaerno5 (implicit: its root
    finder takes the controller's tolerances and the batch's error norm; this raised an
    AttributeError before). Same outcomes as the Tsit5 reference and final states within
    their accuracy (rtol 1e-7)."""
    kw = {**KW, "rtol": 1e-7, "atol": 1e-7}
    res = gdgan.sweep(make_lq, GRID, mode="batch", solver=solver, max_steps=200_000, **kw)
    np.testing.assert_array_equal(res.outcome_name, reference.outcome_name)
    np.testing.assert_allclose(res.y_final, reference.y_final, atol=1e-4)


def test_chunked_equals_unchunked(reference, chunked):
    res, out = chunked
    assert_same(res, reference)
    assert sorted(os.listdir(out)) == sorted(
        ["manifest.json", "grid.npz", "results.npz", "summary.json"]
        + [f"chunk-{c:05d}.npz" for c in range(8)]
    )
    assert_same(gdgan.SweepResult.load(out / "results.npz"), reference)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_runs"] == 36 and sum(summary["outcomes"].values()) == 36


def test_kill_and_resume(chunked, tmp_path):
    full, _ = chunked
    out = str(tmp_path / "killed")

    def die(info):
        if info["chunk"] == 2:
            raise KeyboardInterrupt("simulated kill after chunk 2")

    with pytest.raises(KeyboardInterrupt):
        gdgan.sweep(make_lq, GRID, mode="vmap", chunk_size=5, out=out, callback=die, **KW)
    assert sorted(f for f in os.listdir(out) if f.startswith("chunk")) == [
        "chunk-00000.npz",
        "chunk-00001.npz",
        "chunk-00002.npz",
    ]
    ran = []
    res = gdgan.sweep(
        make_lq,
        GRID,
        mode="vmap",
        chunk_size=5,
        out=out,
        resume=True,
        callback=lambda info: ran.append(info["chunk"]),
        **KW,
    )
    assert ran == [3, 4, 5, 6, 7]
    assert_same(res, full, atol=0.0)
    # resuming a finished sweep recomputes nothing
    ran.clear()
    gdgan.sweep(
        make_lq,
        GRID,
        mode="vmap",
        chunk_size=5,
        out=out,
        resume=True,
        callback=lambda info: ran.append(info["chunk"]),
        **KW,
    )
    assert ran == []


def test_resume_refuses_a_different_configuration(chunked):
    _, out = chunked
    with pytest.raises(ValueError, match=r"resume: .* different configuration \(differs in: t1\)"):
        gdgan.sweep(
            make_lq,
            GRID,
            mode="vmap",
            chunk_size=5,
            out=str(out),
            resume=True,
            **{**KW, "t1": 21.0},
        )
    with pytest.raises(ValueError, match="fingerprint"):  # same settings, another system
        gdgan.sweep(
            lambda p: gdgan.systems.lq(sigma=p["sigma"], loss="gan"),
            GRID,
            mode="vmap",
            chunk_size=5,
            out=str(out),
            resume=True,
            **KW,
        )
    with pytest.raises(ValueError, match="already holds a sweep; pass resume=True"):
        gdgan.sweep(make_lq, GRID, mode="vmap", chunk_size=5, out=str(out), **KW)


def test_lq_wgan_eta_sweep_matches_closed_form(reference):
    r"""LQ WGAN with the penalty: $J_η = [[0, -2σ], [2σ, -8ησ^2]]$ at $(0, σ)$ (from
    $\dot w = σ^2 - a^2$, $\dot a = 2wa - η\,\partial_a (σ^2 - a^2)^2 = 2wa + 4ηa(σ^2 - a^2)$),
    so $λ = -4ησ^2 \pm 2σ\sqrt{4η^2σ^2 - 1}$: marginal at η = 0, stable for every η > 0."""
    res = reference
    eta, sigma = np.meshgrid(ETAS, SIGMAS, indexing="ij")
    lam = -4 * eta * sigma**2 + 2 * sigma * np.sqrt((4 * eta**2 * sigma**2 - 1).astype(complex))
    verdicts = res.grid_verdict_name.reshape(res.grid_shape)
    assert np.all(verdicts[0] == "marginal")
    assert np.all(verdicts[1:] == "stable")
    np.testing.assert_allclose(res.grid_max_real.reshape(res.grid_shape), lam.real, atol=1e-9)
    # η = 0 is a centre: every run there cycles; with the penalty none does
    outcome = res.reshape(res.outcome_name)
    assert np.all(outcome[0] == "cycling")
    assert not np.any(outcome[1:] == "cycling")
    # converged runs carry the verdict at their final state, which is the equilibrium's
    conv = res.outcome_name == "converged"
    assert conv.any() and np.all(res.verdict[conv] == gdgan.Verdict.stable._value)
    assert np.all(res.distance[conv] < 1e-5)


def test_diverging_runs_do_not_stop_the_others():
    r"""Simultaneous SGD on the LQ WGAN's centre: $ρ(I + αJ) = \sqrt{1 + 4α^2σ^2}$ (σ = 1).
    Large steps blow up; small ones stay bounded, and both are reported per run."""
    lrs = np.array([0.01, 0.05, 2.0])
    res = gdgan.sweep(
        lambda p: gdgan.systems.lq(loss="wgan"), {"lr": lrs}, inits=gdgan.box(0.2, 4), steps=300
    )
    np.testing.assert_allclose(res.grid_spectral_radius, np.sqrt(1 + 4 * lrs**2), rtol=1e-12)
    assert list(res.grid_verdict_name) == ["unstable"] * 3
    outcome = res.reshape(res.outcome_name)
    assert np.all(outcome[2] == "diverged")
    assert not np.any(outcome[:2] == "diverged")
    ok = res.outcome_name != "diverged"
    assert np.all(np.isfinite(res.y_final[ok])) and np.all(np.isfinite(res.distance[ok]))
    # per-run oracle: single train calls
    s = gdgan.systems.lq(loss="wgan")
    for i in (0, 5, 9):
        out = gdgan.train(
            s.game,
            res.state(i, "y0"),
            optax.sgd(res.params["lr"][i]),
            300,
            stride=1,
            y_star=s.equilibrium,
        )
        assert str(out.outcome_name) == res.outcome_name[i]
        if ok[i]:
            yf = np.array([out.y_final["disc"]["w"], out.y_final["gen"]["a"]])
            np.testing.assert_allclose(res.y_final[i], yf, rtol=1e-12, atol=1e-12)


SHARDED = textwrap.dedent("""
    import os, sys
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    import gdgan
    sys.path.insert(0, {tests!r})
    from test_sweep import GRID, KW, make_lq
    assert len(jax.devices()) == 8, jax.devices()
    res = gdgan.sweep(make_lq, GRID, mode="vmap", chunk_size=20, **KW)
    res.save({out!r})
""")


def test_sharded_equals_single_device(reference, tmp_path):
    out = str(tmp_path / "sharded.npz")
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    script = SHARDED.format(tests=os.path.join(ROOT, "tests"), out=out)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_same(gdgan.SweepResult.load(out), reference)


def test_same_seed_same_states_and_samplers():
    a = gdgan.box(0.5, 7).offsets(__import__("jax").random.PRNGKey(3), 2, np.float64)
    b = gdgan.box(0.5, 7).offsets(__import__("jax").random.PRNGKey(3), 2, np.float64)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (7, 2) and np.all(np.abs(a) <= 0.5)
    lat = gdgan.lattice(1.0, 3).offsets(None, 2, np.float64)
    assert lat.shape == (9, 2) and sorted(set(lat[:, 0])) == [-1.0, 0.0, 1.0]
    with pytest.raises(
        ValueError, match="box: radius: expected a positive finite number, got -1.0"
    ):
        gdgan.box(-1.0, 3)
    with pytest.raises(ValueError, match="lattice: n: expected a positive integer, got 0"):
        gdgan.lattice(1.0, 0)


def test_argument_errors():
    make = lambda p: gdgan.systems.dirac()  # noqa: E731
    with pytest.raises(ValueError, match="exactly one of `t1`"):
        gdgan.sweep(make, t1=1.0, steps=3)
    with pytest.raises(ValueError, match="mode: expected one of"):
        gdgan.sweep(make, t1=1.0, mode="fast")
    with pytest.raises(ValueError, match="resume: needs `out`"):
        gdgan.sweep(make, t1=1.0, resume=True)
    with pytest.raises(ValueError, match="grid: 'eta' must hold at least one finite value"):
        gdgan.sweep(make, {"eta": [np.nan]}, t1=1.0)
    with pytest.raises(ValueError, match="GradientPenalty: eta: expected a non-negative number"):
        gdgan.sweep(
            make,
            {"eta": [0.5, -1.0]},
            t1=1.0,
            regularizers=lambda p: [gdgan.GradientPenalty(p["eta"])],
        )
    with pytest.raises(TypeError, match="discrete-time sweeps need"):
        gdgan.sweep(lambda p: lambda t, y, args: y, y0=make({}).init, steps=3)


def test_maps(reference):
    pytest.importorskip("matplotlib")
    fig = gdgan.plot.basins(reference)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "initial disc.w" and ax.get_title()
    assert "Basins of attraction" in fig._suptitle.get_text()
    fig = gdgan.plot.basins(reference, color="time")
    assert any(a.get_label() == "<colorbar>" for a in fig.axes)
    fig = gdgan.plot.stability_region(reference, color="margin")
    assert fig.axes[0].get_xlabel() == "eta" and fig.axes[0].get_ylabel() == "sigma"
    assert len(fig.axes) == 2  # the map and its colorbar
    fig = gdgan.plot.stability_region(reference, y=None, x="eta", fixed={"sigma": 1})
    assert fig.axes[0].get_legend() is not None


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "gdgan", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def test_cli_bad_grid_exits_with_one_line():
    proc = run_cli("sweep", "lq", "--grid", "eta=0:1")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        "gdgan: error: --grid: expected NAME=START:STOP:NUM or NAME=V1,V2,..., got 'eta=0:1'"
    ]
    assert proc.stdout == ""


@pytest.mark.parametrize(
    "args, match",
    [
        (["--grid", "foo=0:1:3"], "--grid: expected names from"),
        (["--grid", "lr=0.1,0.2"], "--grid: expected 'lr' (the step size) only with --steps"),
        (
            ["--grid", "eta=0:1:3", "--grid", "eta=1,2"],
            "--grid: expected each name once, got 'eta' twice",
        ),
        (["--inits", "ball:1:3"], "--inits: expected box:RADIUS:N"),
        (
            ["--steps", "10", "--t1", "3"],
            "--t1: expected only in continuous time, got it with --steps",
        ),
    ],
)
def test_cli_errors(args, match, capsys):
    from gdgan._cli import main

    assert main(["sweep", "lq", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gdgan: error: ") and match in err[0]


def test_cli_sweep_and_resume(tmp_path):
    out = str(tmp_path / "s1")
    args = [
        "sweep",
        "dirac",
        "--grid",
        "eta=0:1:3",
        "--inits",
        "box:0.5:4",
        "--t1",
        "5",
        "--out",
        out,
        "--json",
        "--chunk",
        "5",
    ]
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["n_runs"] == 12 and set(summary["files"]) == {
        "results.npz",
        "summary.json",
        "basins.png",
        "stability.png",
    }
    for f in summary["files"]:
        assert os.path.getsize(os.path.join(out, f)) > 0
    again = run_cli(*args, "--resume")
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads(again.stdout)["outcomes"] == summary["outcomes"]


@pytest.mark.parametrize("mode", ["vmap", "batch"])
def test_plain_function_field_and_a_blow_up(mode):
    """`make` returning a plain function (no module: built inside the compiled chunk).
    $\\dot x = -x$, $\\dot y = y^2$: from $y_0 = 1/2$, $y = 1/(2 - t)$ passes
    `diverge_norm` = 1000 at $t = 2 - 10^{-3}$ (x is below 1 by then), so that run stops
    diverged in $[1.999, 2)$; the others ($y_0 \\le 0$) stay bounded to $t_1$."""

    def make(p):
        return lambda t, s, a: {"disc": -s["disc"], "gen": s["gen"] ** 2}

    inits = {"disc": np.array([1.0, 1.0, 1.0]), "gen": np.array([0.5, -0.2, 0.0])}
    res = gdgan.sweep(
        make,
        inits=inits,
        t1=10.0,
        mode=mode,
        spectrum=False,
        diverge_norm=1e3,
        rtol=1e-8,
        atol=1e-8,
    )
    assert list(res.outcome_name) == ["diverged", "undecided", "undecided"]
    assert 1.999 <= float(res.t_final[0]) < 2.0
    np.testing.assert_allclose(res.t_final[1:], 10.0)
