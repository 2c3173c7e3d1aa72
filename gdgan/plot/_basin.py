r"""Figures of regions of attraction (matplotlib, imported inside): a `gdgan.BasinSlice`
map with the Lyapunov ellipse overlaid, and basin radius against a hyperparameter.

Both return a `matplotlib.figure.Figure` built without `pyplot`; pass `ax=` to draw one
panel into an existing axes (its figure is returned).

```python
sl = gdgan.basin_slice(field, y_star, extent=2.0)
cert = gdgan.lyapunov_certificate(field, y_star, r_max=2.0)
gdgan.plot.basin_slice(sl, cert).savefig("basin.png")
```
"""

from __future__ import annotations

import numpy as np

from .._checks import InputError
from ._maps import OUTCOME_COLORS, _new_figure


def basin_slice(sl, certificate=None, *, color="outcome", labels=("a", "b"), title=None, ax=None):
    """Map of a `gdgan.BasinSlice`: each grid point coloured by its outcome
    (`color="outcome"`; converged-to-`y_star` points shaded by the time they took) or by the
    time to converge alone (`color="time"`), `y_star` marked, and the certified ellipse of a
    `gdgan.LyapunovCertificate` drawn on the same plane.

    **Arguments:** `sl` a `BasinSlice`; `certificate` or `None`; `color`; `labels` the axis
    names of `u` and `v`; `title`; `ax`.

    **Returns:** a `matplotlib.figure.Figure`.
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    if color not in ("outcome", "time"):
        raise InputError(f"color: expected 'outcome' or 'time', got {color!r}")
    if ax is None:
        fig, (ax,) = _new_figure(1, size=(5.6, 4.6))
    else:
        fig = ax.figure
    a, b = sl.a, sl.b
    ext = (a[0], a[-1], b[0], b[-1])
    names = list(sl.names)
    if color == "outcome":
        cmap = ListedColormap([OUTCOME_COLORS.get(nm, "#cccccc") for nm in names])
        ax.imshow(
            sl.outcome,
            origin="lower",
            extent=ext,
            aspect="auto",
            cmap=cmap,
            vmin=-0.5,
            vmax=len(names) - 0.5,
            interpolation="nearest",
            alpha=0.35,
        )
        present = sorted(set(np.unique(sl.outcome).tolist()))
        handles = [
            Patch(color=OUTCOME_COLORS.get(names[i], "#cccccc"), alpha=0.35, label=names[i])
            for i in present
        ]
        handles.append(Patch(color="#2ca02c", label="in basin (shade: time to converge)"))
    else:
        handles = []
    t = np.ma.masked_invalid(sl.t_converge)
    if t.count():
        im = ax.imshow(
            t,
            origin="lower",
            extent=ext,
            aspect="auto",
            cmap="Greens_r",
            interpolation="nearest",
            alpha=0.9 if color == "time" else 0.6,
        )
        fig.colorbar(im, ax=ax, label="time to converge")
    ax.plot([0], [0], "k*", ms=10, label="y*")
    if certificate is not None:
        ea, eb = certificate.ellipse(sl.u, sl.v)
        ax.plot(
            ea,
            eb,
            "k--",
            lw=1.5,
            label=f"Lyapunov certificate (ball radius {certificate.radius_lower:.3g})",
        )
    ax.set_xlim(ext[0], ext[1])
    ax.set_ylim(ext[2], ext[3])
    ax.set_xlabel(f"{labels[0]} − {labels[0]}*")
    ax.set_ylabel(f"{labels[1]} − {labels[1]}*")
    ax.set_title(title or "basin of attraction of y* (slice)")
    h, _ = ax.get_legend_handles_labels()
    ax.legend(handles=h + handles, fontsize=7, loc="upper right")
    return fig


def basin_radius(curves, *, xlabel="η", title=None, ax=None):
    """Basin radius against a hyperparameter, one panel per curve: the median over
    directions with the min–max band; points whose radius reached `r_max` (only a lower
    bound) are drawn as open triangles.

    **Arguments:** `curves`: dict label -> list of `(x, result)` with `result` a
    `gdgan.BasinRadius` or its `summary()` dict (with `"r_max"` added to mark lower bounds);
    `xlabel`, `title`; `ax` (all curves on one axes).

    **Returns:** a `matplotlib.figure.Figure`.
    """
    if not isinstance(curves, dict) or not curves:
        raise InputError("curves: expected a non-empty dict label -> [(x, BasinRadius), ...]")
    if ax is None:
        fig, axes = _new_figure(len(curves), size=(4.2, 3.4))
    else:
        fig, axes = ax.figure, [ax] * len(curves)
    for axis, (label, points) in zip(axes, curves.items()):
        xs, lo, med, hi, lower = [], [], [], [], []
        for x, res in points:
            s = res.summary() if hasattr(res, "summary") else res
            xs.append(float(x))
            lo.append(s["min"])
            med.append(s["median"])
            hi.append(s["max"])
            lower.append(s.get("hit_r_max", 0) > 0.5)
        xs, lo, med, hi, lower = map(np.asarray, (xs, lo, med, hi, lower))
        order = np.argsort(xs)
        xs, lo, med, hi, lower = xs[order], lo[order], med[order], hi[order], lower[order]
        (line,) = axis.plot(xs, med, "o-", label=f"{label}: median")
        axis.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.2, label="min – max")
        if lower.any():
            axis.plot(
                xs[lower],
                med[lower],
                "^",
                mfc="none",
                color=line.get_color(),
                ms=10,
                label="≥ r_max (lower bound)",
            )
        axis.set_xlabel(xlabel)
        axis.set_ylabel("basin radius")
        axis.set_title(title or label)
        axis.legend(fontsize=7)
    return fig
