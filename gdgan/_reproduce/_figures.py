"""Figure helpers shared by the reproductions (matplotlib with the Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out: Path, name: str, *, dpi: int = 110, tight: bool = True) -> str:
    """Save `fig` as `out / name` (cropped to its content when `tight`), close it, and
    return `name`."""
    fig.savefig(Path(out) / name, dpi=dpi, bbox_inches="tight" if tight else None)
    _plt().close(fig)
    return name


def snapshot_grid(snaps, draw, *, max_cols, size, title):
    """A figure with one row per method and `max_cols` evenly chosen snapshots per row;
    `snaps[label] = (iterations, samples)`, `draw(ax, sample)` draws one panel."""
    plt = _plt()
    labels = list(snaps)
    n_cols = min(max_cols, len(next(iter(snaps.values()))[1]))
    fig, axes = plt.subplots(
        len(labels), n_cols, figsize=(size * n_cols, size * len(labels)), squeeze=False
    )
    for r, label in enumerate(labels):
        ts, samples = snaps[label]
        for c, i in enumerate(np.linspace(0, len(samples) - 1, n_cols).round().astype(int)):
            ax = axes[r, c]
            draw(ax, samples[i])
            ax.set(xticks=[], yticks=[])
            if r == 0:
                ax.set_title(f"iteration {int(ts[i])}")
            if c == 0:
                ax.set_ylabel(label, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def curves_figure(panels, out: Path, name: str, *, figsize=(16, 4.5)) -> str:
    """A row of panels of per-method curves (learning curves over iterations), saved as
    `out / name`; returns `name`. Each panel is a dict with `curves` `{label: (x, y)}`
    (drawn `"o-"`), `points` `{label: (x, y)}` (a scatter), `hlines` / `vlines` lists of
    `(value, style)` drawn after them, and `axes`, keyword arguments of `ax.set`; every
    panel gets a legend."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(panels), figsize=figsize, squeeze=False)
    for ax, panel in zip(axes[0], panels):
        for label, (x, y) in panel.get("curves", {}).items():
            ax.plot(x, y, "o-", label=label)
        for label, (x, y) in panel.get("points", {}).items():
            ax.scatter(x, y, label=label)
        for value, style in panel.get("hlines", ()):
            ax.axhline(value, **style)
        for value, style in panel.get("vlines", ()):
            ax.axvline(value, **style)
        ax.set(**panel.get("axes", {}))
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, out, name)
