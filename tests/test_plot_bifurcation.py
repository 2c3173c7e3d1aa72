"""`gdgan.plot.bifurcation_diagram` and `gdgan.plot.periodic_orbit` (Agg, no display)."""

import jax.numpy as jnp
import pytest

import gdgan

pytest.importorskip("matplotlib")


def fold_of(p):
    def field(t, y, args):
        return {"disc": p - y["disc"] ** 2, "gen": -y["gen"]}

    return field


def hopf(t, y, args):
    x, z = y["disc"], y["gen"]
    r2 = x * x + z * z
    return {"disc": 0.3 * x - z - r2 * x, "gen": x + 0.3 * z - r2 * z}


def test_bifurcation_diagram(tmp_path):
    from matplotlib.figure import Figure

    br = gdgan.continuation(fold_of, {"disc": jnp.array(1.0), "gen": jnp.array(0.0)}, 1.0, -1.0)
    fig = gdgan.plot.bifurcation_diagram(br, parameter="p")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    main = fig.axes[0]
    labels = [t.get_text() for t in main.get_legend().get_texts()]
    assert "stable" in labels and "unstable" in labels and "fold" in labels
    styles = {line.get_linestyle() for line in main.get_lines()}
    assert "-" in styles and "--" in styles
    assert main.get_xlabel() == "p" and main.get_ylabel() and main.get_title()
    fig.savefig(tmp_path / "branch.png")
    assert (tmp_path / "branch.png").stat().st_size > 10_000
    s = gdgan.systems.get("dirac", loss="wgan")
    disc = gdgan.continuation_discrete(
        s.field(), s.equilibrium, 0.1, 1.5, method="extragradient", n_points=6
    )
    fig = gdgan.plot.bifurcation_diagram(disc)
    assert len(fig.axes) == 1 and "spectral radius" in fig.axes[0].get_ylabel()
    with pytest.raises(TypeError, match="branch: expected a gdgan.Branch"):
        gdgan.plot.bifurcation_diagram([1, 2])


def test_periodic_orbit_plot(tmp_path):
    orb = gdgan.periodic_orbit(hopf, {"disc": 0.5, "gen": 0.0}, 6.0)
    fig = gdgan.plot.periodic_orbit(orb, hopf)
    assert len(fig.axes) == 2
    assert any("stable" in t.get_text() for t in fig.axes[0].get_legend().get_texts())
    assert fig.axes[1].get_xlabel() == "Re μ"
    fig.savefig(tmp_path / "orbit.png")
    assert (tmp_path / "orbit.png").stat().st_size > 10_000
