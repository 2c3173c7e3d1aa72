"""Phase portraits, time series and spectra."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import InputError
from .._tree import as_arrays, flatten, leaf_names, split_ravel, tree_distance


def _figure(ax, ncols=1, size=(6.0, 5.0)):
    if ax is not None:
        return ax.figure, [ax]
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] * ncols, size[1]), layout="constrained")
    return fig, [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]


def _leaf_labels(params):
    """Axis labels of the array leaves: `"w (discriminator)"` for `disc.w`."""
    labels = []
    for name in leaf_names(params):
        head, _, rest = name.partition(".")
        player = {"disc": "discriminator", "gen": "generator"}.get(head, head)
        labels.append(f"{rest or head} ({player})")
    return labels


def _template(y):
    """`(params, v, unravel)`: the array part of `y` (numbers made arrays), its ravel and
    the map back."""
    v, unravel, _ = split_ravel(as_arrays(y))
    return unravel(v), v, unravel


def _rows(ys):
    """`(m, n)` array of the array leaves of a state with a leading axis of length `m`."""
    leaves = jax.tree_util.tree_leaves(eqx.filter(ys, eqx.is_inexact_array))
    m = np.shape(leaves[0])[0]
    return np.concatenate([np.asarray(a).reshape(m, -1) for a in leaves], axis=1)


def _trajectory_xy(traj):
    """`(points (m, 2), label)` from a `SimulateResult`/`TrainResult`, a state with a
    leading axis, or an `(m, 2)` array."""
    label = None
    if hasattr(traj, "ys"):
        name = getattr(traj, "outcome_name", None)
        label = f"trajectory ({name})" if name is not None else "trajectory"
        traj = traj.ys
    if isinstance(traj, dict):
        pts = _rows(traj)
    else:
        pts = np.asarray(traj, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise InputError(f"trajectories: expected 2-parameter states, got shape {pts.shape}")
    return pts[np.all(np.isfinite(pts), axis=1)], label


def phase_portrait(
    field,
    y_star=None,
    *,
    trajectories=(),
    equilibria=None,
    bounds=None,
    nullclines=True,
    resolution=61,
    density=1.2,
    tol=1e-9,
    title=None,
    ax=None,
):
    r"""Phase portrait of a 2-parameter system: streamlines of the field coloured by speed,
    the nullclines $h_1 = 0$ and $h_2 = 0$, trajectories overlaid, and equilibria marked
    with their `gdgan.stability` verdict (● stable, ○ marginal, ✕ unstable).

    **Arguments:**

    - `field`: `field(t, y, args)`, or a `gdgan.systems.System` (its unregularised field
      and equilibrium are used).
    - `y_star`: an equilibrium (also fixes the state's structure); `equilibria`: a list of
      states to mark (default `[y_star]`).
    - `trajectories`: `SimulateResult`s, `TrainResult`s, states with a leading time axis
      or `(m, 2)` arrays.
    - `bounds`: `((x_min, x_max), (y_min, y_max))`; default: the trajectories and
      equilibria, padded. `nullclines`, `resolution` (grid points per axis), `density`
      (streamlines), `tol` (for the verdicts), `title`, `ax`.

    **Returns:** the `matplotlib.figure.Figure`.

    ```python
    s = gdgan.systems.get("lq", loss="wgan")
    fig = gdgan.plot.phase_portrait(s.field(), s.equilibrium)
    ```
    """
    from .._analysis import stability

    if hasattr(field, "game") and hasattr(field, "equilibrium") and hasattr(field, "init"):
        system = field
        field = system.field()
        y_star = system.equilibrium if y_star is None else y_star
        template = system.init if y_star is None else y_star
    else:
        template = y_star
    if equilibria is None:
        equilibria = [] if y_star is None else [y_star]
    if template is None and equilibria:
        template = equilibria[0]
    trajs = [_trajectory_xy(t) for t in trajectories]
    if template is None and trajectories and isinstance(getattr(trajectories[0], "ys", None), dict):
        template = jax.tree_util.tree_map(lambda a: a[0], trajectories[0].ys)
    if template is None:
        raise InputError("y_star: needed (or a System / equilibria) to know the state's structure")
    params, v0, _ = _template(template)
    if v0.size != 2:
        raise InputError(f"phase_portrait: needs a 2-parameter system, got n = {v0.size}")
    labels = _leaf_labels(params)
    h_flat = flatten(field, as_arrays(template))[0]
    eq_pts = [np.asarray(_template(e)[1]) for e in equilibria]
    if bounds is None:
        pts = [p for p, _ in trajs] + [np.asarray(e)[None] for e in eq_pts] + [np.asarray(v0)[None]]
        allp = np.concatenate(pts, 0)
        lo, hi = allp.min(0), allp.max(0)
        span = np.maximum(hi - lo, 0.5)
        lo, hi = lo - 0.25 * span, hi + 0.25 * span
        bounds = ((lo[0], hi[0]), (lo[1], hi[1]))
    (x0, x1), (y0, y1) = bounds
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    X, Y = np.meshgrid(xs, ys)
    grid = jnp.stack([jnp.asarray(X.ravel()), jnp.asarray(Y.ravel())], 1)
    H = np.asarray(jax.jit(jax.vmap(h_flat))(grid))
    U, V = H[:, 0].reshape(X.shape), H[:, 1].reshape(X.shape)
    ok = np.isfinite(U) & np.isfinite(V)
    U, V = np.where(ok, U, 0.0), np.where(ok, V, 0.0)

    fig, (ax,) = _figure(ax)
    speed = np.hypot(U, V)
    strm = ax.streamplot(
        X,
        Y,
        U,
        V,
        color=np.log10(speed + 1e-12),
        cmap="viridis",
        density=density,
        linewidth=0.8,
        arrowsize=0.9,
    )
    fig.colorbar(strm.lines, ax=ax, label="log10 ‖h(θ)‖")
    if nullclines:
        from matplotlib.lines import Line2D

        handles = []
        for comp, colour, name in ((U, "tab:blue", labels[0]), (V, "tab:orange", labels[1])):
            if np.nanmin(comp) < 0 < np.nanmax(comp):
                ax.contour(X, Y, comp, levels=[0.0], colors=colour, linestyles="--", linewidths=1.2)
                handles.append(
                    Line2D([], [], color=colour, ls="--", label=f"nullcline: d/dt {name} = 0")
                )
    else:
        handles = []
    for i, (pts, label) in enumerate(trajs):
        (line,) = ax.plot(
            pts[:, 0],
            pts[:, 1],
            lw=1.6,
            color=f"C{(i + 3) % 10}",
            label=label or f"trajectory {i + 1}",
        )
        ax.plot(pts[:1, 0], pts[:1, 1], "o", ms=5, color=line.get_color())
        handles.append(line)
    styles = {
        "stable": dict(marker="o", mfc="tab:green", mec="k"),
        "marginal": dict(marker="o", mfc="white", mec="tab:red", mew=2),
        "unstable": dict(marker="X", mfc="tab:red", mec="k"),
    }
    for e, pt in zip(equilibria, eq_pts):
        verdict = str(stability(field, e, tol=tol).verdict_name)
        (m,) = ax.plot(
            [pt[0]],
            [pt[1]],
            ls="none",
            ms=11,
            zorder=5,
            **styles[verdict],
            label=f"equilibrium ({pt[0]:.3g}, {pt[1]:.3g}): {verdict}",
        )
        handles.append(m)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(title or "Phase portrait of the gradient flow θ' = h(θ)")
    if handles:
        ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.85)
    return fig


def time_series(result, y_star=None, conserved=None, *, title=None, ax=None):
    r"""Distance to an equilibrium $\|y(t) - y^*\|$ (log scale) and, if `conserved` is given,
    its relative drift $|H(y(t)) - H(y_0)| / \max(|H(y_0)|, 1)$, against time (or iteration
    for a `TrainResult`).

    **Arguments:** `result` (a `SimulateResult` or `TrainResult`), `y_star`,
    `conserved(y) -> scalar`, `title`, `ax` (only with one panel).

    **Returns:** the `matplotlib.figure.Figure`.

    ```python
    fig = gdgan.plot.time_series(out, s.equilibrium, conserved=s.conserved)
    ```
    """
    ts = np.asarray(result.ts)
    ys = eqx.filter(result.ys, eqx.is_inexact_array)
    finite = np.isfinite(ts)
    for leaf in jax.tree_util.tree_leaves(ys):
        finite &= np.all(np.isfinite(np.asarray(leaf).reshape(ts.shape[0], -1)), axis=1)
    ts = ts[finite]
    ys = jax.tree_util.tree_map(lambda a: jnp.asarray(a)[np.nonzero(finite)[0]], ys)
    xlabel = "iteration" if hasattr(result, "grad_norm_disc") else "t"
    panels = []
    if y_star is not None:
        ystar = eqx.filter(as_arrays(y_star), eqx.is_inexact_array)
        d = np.asarray(jax.vmap(lambda y: tree_distance(y, ystar))(ys))
        panels.append(("‖y − y*‖", d, "distance to the equilibrium"))
    if conserved is not None:
        Hs = np.asarray(jax.vmap(conserved)(ys))
        drift = np.abs(Hs - Hs[0]) / max(abs(Hs[0]), 1.0)
        panels.append(
            (
                "|H(y(t)) − H(y₀)| / max(|H(y₀)|, 1)",
                np.maximum(drift, 1e-17),
                "drift of the conserved quantity H",
            )
        )
    if not panels:
        raise InputError("time_series: pass `y_star` and/or `conserved`")
    if ax is not None and len(panels) > 1:
        raise InputError("ax: only with one panel (pass y_star or conserved, not both)")
    fig, axes = _figure(ax, ncols=len(panels), size=(5.5, 4.0))
    name = getattr(result, "outcome_name", None)
    for a, (ylabel, vals, label) in zip(axes, panels):
        a.semilogy(ts, vals, lw=1.4, label=label)
        a.set_xlabel(xlabel)
        a.set_ylabel(ylabel)
        a.grid(True, which="both", alpha=0.3)
        a.legend(loc="best", fontsize=8)
        a.set_title(label)
    if ax is None:
        fig.suptitle(title or (f"Trajectory ({name})" if name is not None else "Trajectory"))
    elif title:
        axes[0].set_title(title)
    return fig


def eigenvalues(eigs, *, unit_circle=False, title=None, ax=None):
    r"""Eigenvalues in the complex plane, with the imaginary axis (continuous time:
    stability is Re λ < 0) or the unit circle (`unit_circle=True`, for update-step
    Jacobians: stability is |λ| < 1).

    **Arguments:** `eigs`: an array of eigenvalues, or a dict `{label: array}` to compare
    several spectra; `unit_circle`, `title`, `ax`.

    **Returns:** the `matplotlib.figure.Figure`.

    ```python
    fig = gdgan.plot.eigenvalues({"η = 0": rep0.eigenvalues, "η = 0.5": rep1.eigenvalues})
    ```
    """
    sets = eigs if isinstance(eigs, dict) else {"eigenvalues": eigs}
    fig, (ax,) = _figure(ax, size=(5.5, 5.0))
    markers = "oxs^vD+*"
    for i, (label, e) in enumerate(sets.items()):
        e = np.asarray(e).astype(complex).ravel()
        ax.plot(
            e.real,
            e.imag,
            markers[i % len(markers)],
            ms=7,
            mfc="none",
            mew=1.5,
            label=f"{label} ({e.size})",
        )
    if unit_circle:
        th = np.linspace(0, 2 * np.pi, 400)
        ax.plot(np.cos(th), np.sin(th), "k--", lw=1, label="unit circle |λ| = 1")
        ax.set_aspect("equal", adjustable="datalim")
    else:
        ax.axvline(0.0, color="k", ls="--", lw=1, label="imaginary axis Re λ = 0")
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    ax.set_title(title or ("Update-step spectrum" if unit_circle else "Jacobian spectrum"))
    return fig
