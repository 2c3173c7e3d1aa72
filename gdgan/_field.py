r"""The vector field $h(θ)$ of simultaneous gradient play."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ._checks import InputTypeError
from ._game import Game, ValueGame, check_state
from ._regularizers import REGULARIZERS, Regularizer


class VectorField(eqx.Module):
    r"""$h(θ) = (-\nabla_{θ_D} L_D, -\nabla_{θ_G} L_G)$ after the regularizers, with
    diffrax's signature `field(t, y, args)`. It is a pytree whose leaves include every
    hyperparameter, so it can be passed through `jit` and `vmap` like any other argument.

    Non-array leaves of `y` (e.g. activation functions of `equinox` modules) are held fixed;
    the output has `None` in their place.
    """

    game: Game | ValueGame
    regularizers: tuple[Regularizer, ...]

    def player_losses(self, y):
        """`(L_D, L_G)` after the loss-stage regularizers."""
        return self._losses_fn(y)(y)

    def _losses_fn(self, y):
        _, static = eqx.partition(y, eqx.is_inexact_array)

        def fn(p):
            return self.game.losses(eqx.combine(p, static))

        for reg in self.regularizers:
            fn = reg.losses(self.game, fn)
        return fn

    def __call__(self, t, y, args=None):
        check_state(y)
        params, _ = eqx.partition(y, eqx.is_inexact_array)
        fn = self._losses_fn(y)

        def h(p):
            (l_d, l_g), vjp = jax.vjp(fn, p)
            one, zero = jnp.ones_like(l_d), jnp.zeros_like(l_d)
            (g_d,) = vjp((one, zero))
            (g_g,) = vjp((zero, one))
            neg = lambda tree: jax.tree_util.tree_map(jnp.negative, tree)  # noqa: E731
            return {"disc": neg(g_d["disc"]), "gen": neg(g_g["gen"])}

        for reg in self.regularizers:
            h = reg.field(h)
        return h(params)

    def value(self, y):
        """The game's value $V(y)$ (without regularizers)."""
        return self.game.value(y)


def vector_field(game, *regularizers) -> VectorField:
    r"""The field of simultaneous gradient play on `game`, with `regularizers` applied.

    Without regularizers it is $(\nabla_{θ_D} V, -\nabla_{θ_G} V)$ for zero-sum games
    (Nagarajan & Kolter 2017, §2) and $(-\nabla_{θ_D} L_D, -\nabla_{θ_G} L_G)$ in general.
    Loss-stage regularizers apply first, in order, then field-stage ones.

    **Arguments:** `game` (`gdgan.Game` or `gdgan.ValueGame`), `*regularizers`.

    **Returns:** a `VectorField`, callable as `field(t, y, args)` and usable as
    `diffrax.ODETerm(field)`.

    ```python
    field = gdgan.vector_field(game, gdgan.GradientPenalty(0.25))
    field(0.0, {"disc": {"w": 0.0}, "gen": {"a": 1.0}}, None)
    ```
    """
    if not isinstance(game, (Game, ValueGame)):
        raise InputTypeError(f"game: expected a gdgan.Game or gdgan.ValueGame, got {game!r}")
    for reg in regularizers:
        if not isinstance(reg, Regularizer):
            raise InputTypeError(
                f"regularizers: expected instances of {', '.join(REGULARIZERS)}, got {reg!r}"
            )
    return VectorField(game, tuple(regularizers))
