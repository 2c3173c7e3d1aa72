"""Bifurcation diagrams of `gdgan.continuation` branches and periodic orbits with their
Floquet multipliers."""

from __future__ import annotations

import jax
import numpy as np

from .._checks import InputError, InputTypeError
from .._tree import coordinate_names
from ._phase import _figure, _rows, _trajectory_xy

MARKERS = {
    "fold": ("s", "tab:red"),
    "hopf": ("o", "tab:purple"),
    "branch_point": ("^", "tab:orange"),
    "flip": ("v", "tab:red"),
    "neimark_sacker": ("D", "tab:purple"),
}


def _measure(y, measure):
    """`(values (m,), label)` of a measure on a batched state."""
    if measure is None or measure == "norm":
        return np.linalg.norm(_rows(y), axis=1), "‖y‖"
    if callable(measure):
        vals = np.asarray(jax.vmap(measure)(y), dtype=float)
        return vals.reshape(-1), getattr(measure, "__name__", "measure")
    raise InputError(f"measure: expected 'norm' or a callable y -> scalar, got {measure!r}")


def _styled(ax, x, y, stable, label):
    """Consecutive runs: solid where stable, dashed where not."""
    start = 0
    shown = set()
    for i in range(1, len(x) + 1):
        if i == len(x) or stable[i] != stable[start]:
            seg = slice(start, min(i + 1, len(x)))
            kind = "stable" if stable[start] else "unstable"
            ax.plot(
                x[seg],
                y[seg],
                color="tab:blue" if stable[start] else "0.45",
                ls="-" if stable[start] else "--",
                lw=1.8,
                label=f"{label}{kind}" if kind not in shown else None,
            )
            shown.add(kind)
            start = i


def _mark(ax, points, x_of, y_of):
    seen = set()
    for b in points:
        marker, color = MARKERS.get(b.kind, ("*", "k"))
        text = f"{b.kind.replace('_', '-')}"
        ax.plot(
            [x_of(b)],
            [y_of(b)],
            marker=marker,
            color=color,
            ms=9,
            ls="none",
            label=text if b.kind not in seen else None,
            zorder=5,
        )
        seen.add(b.kind)
        note = f"p = {b.p:.4g}" + (f", ω = {b.frequency:.3g}" if b.frequency else "")
        ax.annotate(
            note, (x_of(b), y_of(b)), textcoords="offset points", xytext=(6, 6), fontsize="small"
        )


def bifurcation_diagram(branch, *, measure=None, spectrum=True, parameter="p", title=None, ax=None):
    r"""A bifurcation diagram: the parameter against a measure of the state along a branch
    (solid where stable, dashed where not), with markers at folds, Hopf points and branch
    points; with `spectrum`, a second panel shows the spectral abscissa $\max\mathrm{Re}\,λ$
    (spectral radius $ρ$ for a discrete branch, with the level 1) against the parameter.
    For a discrete branch (`gdgan.continuation_discrete`) the state does not move, so only
    the spectral panel is drawn.

    **Arguments:**

    - `branch`: a `gdgan.Branch`;
    - `measure`: `"norm"` (default, $\|y\|$ of the flattened state) or a callable
      `y -> scalar` on one state (vmapped over the branch);
    - `spectrum`: add the spectral panel; `parameter`: the x-axis label;
    - `title`; `ax`: draw the main panel into this axes.

    **Returns:** a `matplotlib.figure.Figure`.

    ```python
    br = gdgan.continuation(field_of, y0, -1.0, 1.0)
    gdgan.plot.bifurcation_diagram(br, parameter="η").savefig("branch.png")
    ```
    """
    if not hasattr(branch, "points") or not hasattr(branch, "eigenvalues"):
        raise InputTypeError(f"branch: expected a gdgan.Branch, got {type(branch).__name__}")
    p = np.asarray(branch.p)
    stable = np.asarray(branch.stable)
    discrete = getattr(branch, "time", "continuous") == "discrete"
    spectral = branch.max_real

    def spec_at(b):  # on the stability boundary by definition
        return 1.0 if discrete else 0.0

    ncols = 1 if discrete or not spectrum or ax is not None else 2
    fig, axes = _figure(ax, ncols=ncols, size=(5.5, 4.2))
    if not discrete:
        vals, name = _measure(branch.y, measure)
        a = axes[0]
        _styled(a, p, vals, stable, "")

        def y_of(b):
            one = jax.tree_util.tree_map(lambda x: np.asarray(x)[None], b.y)
            return float(_measure(one, measure)[0][0])

        _mark(a, branch.points, lambda b: b.p, y_of)
        a.set_xlabel(parameter)
        a.set_ylabel(name)
        a.set_title(title or f"equilibrium branch ({branch.status.replace('_', ' ')})")
        a.legend(fontsize="small")
    if discrete or (spectrum and ax is None):
        a = axes[-1]
        _styled(a, p, spectral, stable, "")
        a.axhline(1.0 if discrete else 0.0, color="k", lw=0.8, ls=":")
        _mark(a, branch.points, lambda b: b.p, spec_at)
        a.set_xlabel("step size α" if discrete and parameter == "p" else parameter)
        a.set_ylabel("spectral radius ρ" if discrete else "max Re λ")
        a.set_title(
            title
            if discrete and title
            else ("update-map multipliers" if discrete else "spectral abscissa")
        )
        a.legend(fontsize="small")
    return fig


def periodic_orbit(orbit, field, *, coords=(0, 1), n=400, title=None, ax=None):
    r"""A periodic orbit in the plane of two coordinates (one period, integrated from
    `orbit.y0`), next to its Floquet multipliers in the complex plane with the unit circle.

    **Arguments:**

    - `orbit`: a `gdgan.PeriodicOrbit`; `field`: the field it is an orbit of;
    - `coords`: the two coordinates (indices into `ravel_pytree(y)`) to draw;
    - `n`: points along the orbit; `title`; `ax`: draw only the orbit panel into it.

    **Returns:** a `matplotlib.figure.Figure`.

    ```python
    def vdp(t, y, args):  # van der Pol, mu = 1: an attracting limit cycle
        return {"disc": y["gen"], "gen": (1 - y["disc"] ** 2) * y["gen"] - y["disc"]}

    orb = gdgan.periodic_orbit(vdp, {"disc": 2.0, "gen": 0.0}, 6.6)
    gdgan.plot.periodic_orbit(orb, vdp).savefig("orbit.png")
    ```
    """
    if not hasattr(orbit, "floquet_multipliers"):
        raise InputTypeError(f"orbit: expected a gdgan.PeriodicOrbit, got {type(orbit).__name__}")
    from .._simulate import simulate

    T = float(orbit.period)
    if not (np.isfinite(T) and T > 0):
        raise InputError(f"orbit: expected a converged orbit with a positive period, got {T}")
    sol = simulate(field, orbit.y0, T, n_save=int(n), rtol=1e-10, atol=1e-10, throw=False)
    rows = _rows(sol.ys)
    i, j = coords
    if not (0 <= i < rows.shape[1] and 0 <= j < rows.shape[1]):
        raise InputError(f"coords: expected two indices below n = {rows.shape[1]}, got {coords}")
    pts, _ = _trajectory_xy(rows[:, [i, j]])
    mu = np.asarray(orbit.floquet_multipliers)
    fig, axes = _figure(ax, ncols=1 if ax is not None else 2, size=(5.0, 4.5))
    a = axes[0]
    kind = (
        "limit cycle, stable"
        if bool(orbit.stable)
        else "limit cycle, unstable"
        if bool(orbit.isolated)
        else "neutral family (centre)"
    )
    a.plot(pts[:, 0], pts[:, 1], color="tab:blue", lw=1.8, label=f"orbit: {kind}")
    a.plot([pts[0, 0]], [pts[0, 1]], "ko", ms=5, label="y0")
    names = coordinate_names(orbit.y0)
    a.set_xlabel(names[i] if len(names) == rows.shape[1] else f"coordinate {i}")
    a.set_ylabel(names[j] if len(names) == rows.shape[1] else f"coordinate {j}")
    a.set_title(title or f"periodic orbit, T = {T:.6g} ({orbit.result_name})")
    a.legend(fontsize="small")
    if ax is None:
        b = axes[1]
        th = np.linspace(0, 2 * np.pi, 200)
        b.plot(np.cos(th), np.sin(th), color="0.6", lw=1, label="unit circle")
        b.plot(mu.real, mu.imag, "x", color="tab:red", ms=9, mew=2, label="multipliers")
        for m in mu:
            b.annotate(
                f"{abs(m):.3g}",
                (m.real, m.imag),
                textcoords="offset points",
                xytext=(5, 5),
                fontsize="small",
            )
        b.set_aspect("equal", adjustable="datalim")
        b.set_xlabel("Re μ")
        b.set_ylabel("Im μ")
        b.set_title("Floquet multipliers (|μ| annotated)")
        b.legend(fontsize="small")
    return fig
