"""Figure helpers shared by the reproductions (matplotlib with the Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out: Path, name: str) -> str:
    fig.savefig(out / name, dpi=110, bbox_inches="tight")
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
