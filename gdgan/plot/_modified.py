"""The modified flow of discrete training against its iterates and the plain flow."""

from __future__ import annotations

import numpy as np

from .._checks import InputError
from ._phase import _figure, _leaf_labels, _rows, _template


def _flow_points(field, y0, ts):
    import diffrax
    import jax.numpy as jnp

    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(field),
        diffrax.Tsit5(),
        0.0,
        float(ts[-1]),
        None,
        y0,
        saveat=diffrax.SaveAt(ts=jnp.asarray(ts)),
        stepsize_controller=diffrax.PIDController(rtol=1e-10, atol=1e-10),
        max_steps=100_000,
        throw=False,
    )
    return _rows(sol.ys)


def modified_flow(
    field, y0, lr, steps, *, order="simultaneous", method="gd", n_points=400, title=None, ax=None
):
    r"""Phase portrait of backward error analysis on a 2-parameter system: the discrete
    iterates of training with step `lr` (`gdgan.train`'s step on `field`), the flow of the
    plain field $h$ and the flow of the modified field $\tilde h$ of
    `gdgan.modified_field`, all from `y0` over the same time $T = \mathrm{steps}\cdot
    \mathrm{lr}$. The legend gives each flow's distance to the last iterate: $O(α)$ for the
    plain flow, $O(α^2)$ for the modified one (Rosca et al. 2021; Lu 2020).

    **Arguments:** `field` (or a `gdgan.systems.System`: its unregularised field), `y0`
    (a 2-parameter state), `lr` (> 0), `steps` (iterations), `order`, `method` (as in
    `gdgan.modified_field`), `n_points` (samples of each flow), `title`, `ax`.

    **Returns:** the `matplotlib.figure.Figure`.

    ```python
    s = gdgan.systems.get("dirac", loss="wgan")
    fig = gdgan.plot.modified_flow(s, s.init, 0.1, 60)   # simultaneous gd spirals out
    ```
    """
    from .._modified import discrete_iterates, modified_field

    if hasattr(field, "game") and hasattr(field, "equilibrium") and hasattr(field, "init"):
        field = field.field()
    mf = modified_field(field, lr, order=order, method=method)  # validates the arguments
    params, v0, unravel = _template(y0)
    if v0.size != 2:
        raise InputError(f"modified_flow: y0: expected a 2-parameter state, got n = {v0.size}")
    ys = discrete_iterates(field, y0, lr, steps, order=order, method=method)
    labels = _leaf_labels(params)
    y0 = unravel(v0)
    iters = _rows(ys)
    T = float(steps) * float(lr)
    ts = np.linspace(0.0, T, int(n_points))
    plain = _flow_points(field, y0, ts)
    modified = _flow_points(mf, y0, ts)
    err_plain = float(np.linalg.norm(plain[-1] - iters[-1]))
    err_mod = float(np.linalg.norm(modified[-1] - iters[-1]))

    fig, (ax,) = _figure(ax, size=(6.0, 5.5))
    ax.plot(plain[:, 0], plain[:, 1], "--", color="tab:orange", lw=1.6,
            label=f"plain flow θ' = h (distance at T: {err_plain:.2g})")  # fmt: skip
    ax.plot(modified[:, 0], modified[:, 1], "-", color="tab:green", lw=1.8,
            label=f"modified flow θ' = h̃ (distance at T: {err_mod:.2g})")  # fmt: skip
    ax.plot(iters[:, 0], iters[:, 1], "o", color="tab:blue", ms=3.0, mfc="none", mew=0.9,
            label=f"discrete iterates ({steps} steps)")  # fmt: skip
    ax.plot([v0[0]], [v0[1]], "k*", ms=11, label="start y0", zorder=5)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8, framealpha=0.85)
    ax.set_title(
        title or f"{method} ({order}), α = {float(lr):g}: iterates vs plain and modified flow",
        fontsize=10,
    )
    return fig
