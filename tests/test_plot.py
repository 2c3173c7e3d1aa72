"""`gdgan.plot`: figures are built, labelled and saved; matplotlib stays out of the core."""

import subprocess
import sys

import jax.numpy as jnp
import pytest

import gdgan

pytest.importorskip("matplotlib")


def _texts(fig):
    ax = fig.axes[0]
    return ax.get_xlabel(), ax.get_ylabel(), ax.get_title(), ax.get_legend()


@pytest.fixture(scope="module")
def lq_run():
    s = gdgan.systems.get("lq", loss="wgan")
    out = gdgan.simulate(
        s.field(gdgan.GradientPenalty(0.5)), s.init, 60.0, n_save=201, y_star=s.equilibrium
    )
    return s, out


def test_phase_portrait(lq_run, tmp_path):
    from matplotlib.figure import Figure

    s, out = lq_run
    fig = gdgan.plot.phase_portrait(
        s.field(gdgan.GradientPenalty(0.5)), s.equilibrium, trajectories=[out]
    )
    assert isinstance(fig, Figure)
    xlabel, ylabel, title, legend = _texts(fig)
    assert "w" in xlabel and "a" in ylabel and title
    labels = [t.get_text() for t in legend.get_texts()]
    assert any("stable" in t for t in labels)
    assert any("converged" in t for t in labels)
    assert any("nullcline" in t for t in labels)
    fig.savefig(tmp_path / "phase.png")
    assert (tmp_path / "phase.png").stat().st_size > 10_000
    # a System works too, and the centre of the WGAN is marked marginal
    fig = gdgan.plot.phase_portrait(s, nullclines=False)
    assert any("marginal" in t.get_text() for t in fig.axes[0].get_legend().get_texts())


def test_phase_portrait_needs_two_parameters():
    r = gdgan.systems.get("two_gaussians")
    with pytest.raises(ValueError, match="2-parameter"):
        gdgan.plot.phase_portrait(r.field(), r.equilibrium)


def test_time_series(lq_run, tmp_path):
    s, out = lq_run
    fig = gdgan.plot.time_series(out, s.equilibrium, conserved=s.conserved)
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert ax.get_xlabel() == "t" and ax.get_ylabel() and ax.get_legend() is not None
    fig.savefig(tmp_path / "ts.png")
    with pytest.raises(ValueError, match="y_star"):
        gdgan.plot.time_series(out)


def test_eigenvalues(tmp_path):
    s = gdgan.systems.get("lq", loss="wgan")
    e0 = gdgan.stability(s.field(), s.equilibrium).eigenvalues
    e1 = gdgan.stability(s.field(gdgan.GradientPenalty(0.5)), s.equilibrium).eigenvalues
    fig = gdgan.plot.eigenvalues({"η = 0": e0, "η = 0.5": e1})
    xlabel, ylabel, title, legend = _texts(fig)
    assert xlabel == "Re λ" and ylabel == "Im λ" and title and len(legend.get_texts()) == 3
    fig = gdgan.plot.eigenvalues(jnp.array([0.9 + 0.1j, 0.9 - 0.1j]), unit_circle=True)
    fig.savefig(tmp_path / "eig.png")


def test_core_does_not_import_matplotlib():
    code = "import gdgan, sys; print('matplotlib' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"
