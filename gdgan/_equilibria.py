"""Finding equilibria $h(θ^*) = 0$ with optimistix."""

from __future__ import annotations

import equinox as eqx
import optimistix as optx

from ._checks import InputError, check_finite_tree
from ._game import check_state
from ._tree import as_arrays

METHODS = ("newton", "least_squares")


def find_equilibrium(
    field,
    y0,
    *,
    method="newton",
    rtol=1e-10,
    atol=1e-10,
    max_steps=256,
    throw=True,
    t=0.0,
    args=None,
):
    r"""Solve $h(θ) = 0$ from `y0`.

    **Arguments:** `field(t, y, args)`, starting state `y0`; `method`: `"newton"`
    (`optimistix.Newton`, quadratic convergence near a regular equilibrium) or
    `"least_squares"` (`optimistix.LevenbergMarquardt` on $\|h\|^2$, robust where $J$ is
    singular, e.g. a continuum of equilibria); `rtol`, `atol`, `max_steps`; `throw`: raise if
    the solver fails (otherwise return its last iterate).

    **Returns:** the equilibrium, a state with the structure of `y0`.

    ```python
    y0 = {"disc": {"w": jnp.array(0.1)}, "gen": {"a": jnp.array(0.8)}}
    y_star = gdgan.find_equilibrium(field, y0)   # {"disc": {"w": 0}, "gen": {"a": 1}}
    ```
    """
    y0 = as_arrays(check_state(y0, "y0"))
    check_finite_tree(y0, "find_equilibrium", "y0")
    if method not in METHODS:
        raise InputError(f"method: expected one of {list(METHODS)}, got {method!r}")
    params, static = eqx.partition(y0, eqx.is_inexact_array)

    def fn(p, _):
        return field(t, eqx.combine(p, static), args)

    if method == "newton":
        sol = optx.root_find(
            fn, optx.Newton(rtol=rtol, atol=atol), params, max_steps=max_steps, throw=throw
        )
    else:
        sol = optx.least_squares(
            fn,
            optx.LevenbergMarquardt(rtol=rtol, atol=atol),
            params,
            max_steps=max_steps,
            throw=throw,
        )
    return eqx.combine(sol.value, static)
