r"""Maps of sweeps: basins of attraction and stability regions (matplotlib, imported inside).

Both take a `gdgan.SweepResult` and return a `matplotlib.figure.Figure` built without
`pyplot` (no global backend is touched), with labelled axes, a title and a legend or a
colorbar. Pass `ax=` to draw one panel into an existing axes (its figure is returned).

```python
res = gdgan.sweep(make, {"eta": etas}, regularizers=regs, inits=gdgan.lattice(0.5, 41), t1=50.0)
gdgan.plot.basins(res).savefig("basins.png")
gdgan.plot.stability_region(res).savefig("stability.png")
```
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import InputError

OUTCOME_COLORS = {
    "converged": "#2ca02c",
    "cycling": "#1f77b4",
    "undecided": "#ff7f0e",
    "diverged": "#d62728",
    "max_steps": "#7f7f7f",
}
VERDICT_COLORS = {
    "stable": "#2ca02c",
    "marginal": "#ff7f0e",
    "unstable": "#d62728",
    "n/a": "#bbbbbb",
}


def _new_figure(n_panels, size=(4.6, 4.0), max_cols=4):
    from matplotlib.figure import Figure

    cols = min(n_panels, max_cols)
    rows = math.ceil(n_panels / cols)
    fig = Figure(figsize=(size[0] * cols, size[1] * rows), layout="constrained")
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(n_panels)]
    return fig, axes


def _grid_label(result, j):
    if not result.grid:
        return ""
    idx = np.unravel_index(j, result.grid_shape)
    parts = []
    for (k, v), i in zip(result.grid.items(), idx):
        val = np.asarray(v)[i]
        parts.append(f"{k} = {float(val):.3g}" if np.ndim(val) == 0 else f"{k}[{i}]")
    return ", ".join(parts)


def _system_label(result):
    tag = result.config.get("tag")
    if isinstance(tag, dict) and "system" in tag:
        return f"{tag['system']}" + (f" ({tag['loss']})" if tag.get("loss") else "")
    return "sweep"


def basins(
    result, *, color="outcome", grid_points=None, coords=(0, 1), max_panels=12, title=None, ax=None
):
    r"""Basins of attraction: the initial states of a sweep, coloured by what each run did.

    One panel per grid point (at most `max_panels`, evenly spaced over the grid).

    **Arguments:**

    - `result`: a `gdgan.SweepResult` whose initial states came from `inits`.
    - `color`: `"outcome"` (categorical, with a legend) or `"time"` (time / iterations to
      converge, with a colorbar; runs that did not converge in grey).
    - `grid_points`: indices of the grid points to draw (default: evenly spaced).
    - `coords`: the two state coordinates on the axes (indices into `result.leaf_names`).
    - `title`, `ax` (draw one grid point into it).

    **Returns:** a `matplotlib.figure.Figure`.

    ```python
    fig = gdgan.plot.basins(res, color="time")
    ```
    """
    if color not in ("outcome", "time"):
        raise InputError(f"color: expected 'outcome' or 'time', got {color!r}")
    d = len(result.leaf_names)
    cx, cy = coords
    if not (0 <= cx < d and 0 <= cy < d and d >= 2 and cx != cy):
        raise InputError(
            f"coords: expected two distinct indices into {result.leaf_names}, got {coords!r}"
        )
    n_grid = int(np.prod(result.grid_shape)) if result.grid else 1
    if grid_points is None:
        k = min(n_grid, max_panels if ax is None else 1)
        grid_points = sorted(set(np.linspace(0, n_grid - 1, k).round().astype(int).tolist()))
    grid_points = [int(j) for j in grid_points]
    if any(not 0 <= j < n_grid for j in grid_points):
        raise InputError(f"grid_points: expected indices below {n_grid}, got {grid_points}")
    if ax is not None:
        fig, axes = ax.figure, [ax]
        grid_points = grid_points[:1]
    else:
        fig, axes = _new_figure(len(grid_points))
    m = result.n_inits
    y0 = np.asarray(result.y0).reshape(n_grid, m, d)
    outcome = np.asarray(result.outcome_name).reshape(n_grid, m)
    tconv = np.asarray(result.t_converge).reshape(n_grid, m)
    finite_t = tconv[np.isfinite(tconv)]
    vmin, vmax = (float(finite_t.min()), float(finite_t.max())) if finite_t.size else (0.0, 1.0)
    unit = "iterations" if result.config.get("time") == "discrete" else "time"
    size = max(4.0, min(40.0, 8000.0 / max(m, 1)))
    mappable = None
    for axis, j in zip(axes, grid_points):
        pts = y0[j]
        if color == "outcome":
            for name, c in OUTCOME_COLORS.items():
                sel = outcome[j] == name
                if sel.any():
                    axis.scatter(
                        pts[sel, cx],
                        pts[sel, cy],
                        s=size,
                        c=c,
                        marker="s",
                        linewidths=0,
                        label=f"{name} ({int(sel.sum())})",
                    )
            axis.legend(loc="upper right", fontsize="small", title="outcome")
        else:
            ok = np.isfinite(tconv[j])
            if (~ok).any():
                axis.scatter(
                    pts[~ok, cx],
                    pts[~ok, cy],
                    s=size,
                    c="#bbbbbb",
                    marker="s",
                    linewidths=0,
                    label="not converged",
                )
                axis.legend(loc="upper right", fontsize="small")
            if ok.any():
                mappable = axis.scatter(
                    pts[ok, cx],
                    pts[ok, cy],
                    s=size,
                    c=tconv[j][ok],
                    cmap="viridis",
                    vmin=vmin,
                    vmax=vmax,
                    marker="s",
                    linewidths=0,
                )
        axis.set_xlabel(f"initial {result.leaf_names[cx]}")
        axis.set_ylabel(f"initial {result.leaf_names[cy]}")
        axis.set_title(_grid_label(result, j) or "initial states", fontsize="medium")
    if mappable is not None:
        fig.colorbar(mappable, ax=axes, label=f"{unit} to converge")
    what = "outcome" if color == "outcome" else f"{unit} to converge"
    fig.suptitle(title or f"Basins of attraction: {_system_label(result)}, coloured by {what}")
    return fig


def _margin(result):
    """`(values, label)`: max Re λ (continuous) or ρ − 1 (discrete) per grid point."""
    if result.config.get("time") == "discrete":
        return np.asarray(result.grid_spectral_radius) - 1.0, "spectral radius ρ − 1 of the update"
    return np.asarray(result.grid_max_real), "max Re λ of the Jacobian"


def stability_region(result, *, x=None, y=None, color="verdict", fixed=None, title=None, ax=None):
    r"""Stability regions over a hyperparameter grid, from the spectrum at the equilibrium.

    Continuous-time sweeps use the Jacobian's spectral abscissa $\max \mathrm{Re}\,λ$;
    discrete-time sweeps the update step's spectral radius $ρ$ (drawn as $ρ - 1$), so
    negative is stable in both. With one grid axis the margin is drawn against it, points
    coloured by verdict; with two, a map over the $(x, y)$ plane.

    **Arguments:**

    - `result`: a `gdgan.SweepResult` with a grid and a known equilibrium.
    - `x`, `y`: grid names for the axes (default: the first two).
    - `color`: `"verdict"` (categorical), `"margin"` (max Re λ or ρ − 1, diverging
      colormap centred at 0) or `"converged"` (fraction of the runs that converged).
    - `fixed`: `{name: index}` for grid axes other than `x`, `y` (default index 0).
    - `title`, `ax`.

    **Returns:** a `matplotlib.figure.Figure`.

    ```python
    fig = gdgan.plot.stability_region(res, x="eta", y="sigma", color="margin")
    ```
    """
    if color not in ("verdict", "margin", "converged"):
        raise InputError(f"color: expected 'verdict', 'margin' or 'converged', got {color!r}")
    names = list(result.grid)
    if not names:
        raise InputError("result: the sweep has no hyperparameter grid to map")
    x = x or names[0]
    y = y if y is not None else (names[1] if len(names) > 1 and names[1] != x else None)
    for k in (x, y):
        if k is not None and k not in names:
            raise InputError(f"x/y: expected grid names from {names}, got {k!r}")
    fixed = dict(fixed or {})
    shape = result.grid_shape
    index = [slice(None) if k in (x, y) else fixed.get(k, 0) for k in names]

    def grid_view(values):
        arr = np.asarray(values).reshape(shape + np.shape(values)[1:])[tuple(index)]
        if y is not None and names.index(x) > names.index(y):
            arr = arr.T
        return arr

    margin, mlabel = _margin(result)
    verdict = grid_view(np.asarray(result.grid_verdict_name))
    margin = grid_view(margin)
    conv = (np.asarray(result.outcome_name) == "converged").reshape(-1, result.n_inits)
    frac = grid_view(conv.mean(axis=1))
    xs = np.asarray(result.grid[x], dtype=float)
    others = [
        f"{k} = {float(np.asarray(result.grid[k])[index[i]]):.3g}"
        for i, k in enumerate(names)
        if k not in (x, y)
    ]
    if ax is not None:
        fig, axis = ax.figure, ax
    else:
        fig, (axis,) = _new_figure(1, size=(6.4, 4.8))
    if y is None:
        if color == "converged":
            axis.plot(xs, frac, "-o", color="#2ca02c", label="fraction of runs converged")
            axis.set_ylabel("fraction converged")
            axis.set_ylim(-0.05, 1.05)
        else:
            axis.plot(xs, margin, "-", color="#444444", lw=1, label=mlabel)
            for name, c in VERDICT_COLORS.items():
                sel = verdict == name
                if sel.any():
                    axis.scatter(xs[sel], margin[sel], c=c, s=30, zorder=3, label=name)
            axis.axhline(0.0, color="k", lw=0.8, ls="--")
            axis.set_ylabel(mlabel)
        axis.set_xlabel(x)
        axis.legend(fontsize="small")
    else:
        ys = np.asarray(result.grid[y], dtype=float)
        if color == "verdict":
            from matplotlib.colors import ListedColormap
            from matplotlib.patches import Patch

            cats = list(VERDICT_COLORS)
            codes = np.vectorize(cats.index)(verdict).astype(float)
            axis.pcolormesh(
                xs,
                ys,
                codes.T,
                cmap=ListedColormap(list(VERDICT_COLORS.values())),
                vmin=-0.5,
                vmax=len(cats) - 0.5,
                shading="nearest",
            )
            present = [c for c in cats if (verdict == c).any()]
            axis.legend(
                handles=[Patch(color=VERDICT_COLORS[c], label=c) for c in present],
                title="verdict",
                fontsize="small",
                loc="upper right",
            )
        elif color == "margin":
            finite = margin[np.isfinite(margin)]
            lim = float(np.max(np.abs(finite))) if finite.size else 1.0
            mesh = axis.pcolormesh(
                xs, ys, margin.T, cmap="RdBu_r", vmin=-lim, vmax=lim, shading="nearest"
            )
            fig.colorbar(mesh, ax=axis, label=mlabel)
            if finite.size and finite.min() < 0 < finite.max():
                axis.contour(xs, ys, margin.T, levels=[0.0], colors="k", linewidths=1)
        else:
            mesh = axis.pcolormesh(xs, ys, frac.T, cmap="Greens", vmin=0, vmax=1, shading="nearest")
            fig.colorbar(mesh, ax=axis, label="fraction of runs converged")
        axis.set_xlabel(x)
        axis.set_ylabel(y)
    what = {
        "verdict": "verdict at the equilibrium",
        "margin": mlabel,
        "converged": "fraction of runs converged",
    }[color]
    kind = "discrete steps" if result.config.get("time") == "discrete" else "gradient flow"
    axis.set_title(
        title
        or f"Stability region ({kind}): {_system_label(result)}, {what}"
        + (f" [{', '.join(others)}]" if others else ""),
        fontsize="medium",
    )
    return fig
