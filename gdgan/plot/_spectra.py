"""Eigenvalues over training (as in Mescheder et al. 2017's eigenvalue figures). Imported by
`gdgan.plot`; matplotlib is imported inside the function."""

from __future__ import annotations

import numpy as np

from .._checks import InputError


def eigenvalues_over_time(spectra, steps=None, *, ax=None, part="real", title=None):
    r"""Plot the rightmost eigenvalues of $J$ along a trajectory.

    **Arguments:**

    - `spectra`: the result of `gdgan.spectra_along` (or a `(T, k)` complex array);
    - `steps`: `(T,)` iteration numbers or times of the snapshots (default `0..T-1`);
    - `ax`: a matplotlib axis (default: a new figure);
    - `part`: `"real"` (Re λ against the step, one line per rank, 0 marked), `"complex"`
      (the eigenvalues in the complex plane, coloured by step) or `"both"` (two panels).
    - `title`: optional axis title.

    **Returns:** the matplotlib axis (or the two axes for `"both"`).

    ```python
    out = gdgan.train(game, y0, optax.sgd(0.01), 1000, stride=100)
    spec = gdgan.spectra_along(field, out.ys, k=2)
    gdgan.plot.eigenvalues_over_time(spec, steps=out.ts)
    ```
    """
    import matplotlib.pyplot as plt

    eig = np.asarray(getattr(spectra, "eigenvalues", spectra))
    if eig.ndim != 2:
        raise InputError(f"spectra: expected a (T, k) array of eigenvalues, got shape {eig.shape}")
    T, k = eig.shape
    steps = np.arange(T) if steps is None else np.asarray(steps)
    if steps.shape != (T,):
        raise InputError(f"steps: expected shape ({T},), got {steps.shape}")
    if part not in ("real", "complex", "both"):
        raise InputError(f"part: expected 'real', 'complex' or 'both', got {part!r}")
    if part == "both":
        if ax is None:
            _, ax = plt.subplots(1, 2, figsize=(10, 4))
        eigenvalues_over_time(eig, steps, ax=ax[0], part="real", title=title)
        eigenvalues_over_time(eig, steps, ax=ax[1], part="complex")
        return ax
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    if part == "real":
        for j in range(k):
            ax.plot(steps, eig[:, j].real, lw=1.2, label=f"λ{j + 1}")
        ax.axhline(0.0, color="k", lw=0.8, ls="--")
        ax.set_xlabel("step")
        ax.set_ylabel("Re λ (rightmost)")
        if k <= 8:
            ax.legend(fontsize="small")
    else:
        sc = ax.scatter(
            eig.real.ravel(), eig.imag.ravel(), c=np.repeat(steps, k), s=10, cmap="viridis"
        )
        ax.axvline(0.0, color="k", lw=0.8, ls="--")
        ax.set_xlabel("Re λ")
        ax.set_ylabel("Im λ")
        ax.figure.colorbar(sc, ax=ax, label="step")
    if title:
        ax.set_title(title)
    return ax
