"""`System`: a named game with its known equilibrium; the registry of builders."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable

import jax

from .._checks import InputError
from .._field import vector_field
from .._game import Game, ValueGame


@dataclasses.dataclass(frozen=True)
class System:
    """A named game: `game`, `equilibrium` (state or `None`), `init` (a default initial
    state), `conserved(y)` (a first integral of the unregularised flow, or `None`),
    `params` (the builder's arguments) and a one-line `description`."""

    name: str
    game: Game | ValueGame
    equilibrium: dict | None
    init: dict
    params: dict
    description: str
    conserved: Callable | None = None

    def field(self, *regularizers):
        """`gdgan.vector_field(self.game, *regularizers)`."""
        return vector_field(self.game, *regularizers)

    @property
    def n(self) -> int:
        return sum(x.size for x in jax.tree_util.tree_leaves(self.init))


REGISTRY: dict[str, Callable[..., System]] = {}


def register(name: str):
    """Decorator: add a system builder to the registry under `name`."""

    def deco(builder):
        REGISTRY[name] = builder
        return builder

    return deco


def names() -> list[str]:
    return list(REGISTRY)


def parameters(name: str) -> dict:
    """The builder's keyword parameters and their defaults."""
    builder = _builder(name)
    return {k: p.default for k, p in inspect.signature(builder).parameters.items()}


def _builder(name):
    if name not in REGISTRY:
        raise InputError(f"system: expected one of {names()}, got {name!r}")
    return REGISTRY[name]


def get(name: str, **params) -> System:
    """Build the named system; unknown parameters raise a one-line `ValueError`."""
    allowed = parameters(name)
    for key in params:
        if key not in allowed:
            raise InputError(
                f"param: system {name!r} has parameters {sorted(allowed)}, got {key!r}"
            )
    return _builder(name)(**params)
