"""Helpers for the enumerations that carry results (`Outcome`, `Verdict`, ...)."""

from __future__ import annotations

import numpy as np


def enum_name(enum, item) -> str | np.ndarray:
    """The member name(s) of an enumeration item, e.g. `"stable"` (vectorised)."""
    names = enum_names(enum)
    values = np.asarray(enum_code(item))
    if values.ndim == 0:
        return names[int(values)]
    return np.vectorize(lambda v: names[v])(values)


def enum_names(enum) -> list[str]:
    """The member names of an enumeration, in code order (code `i` is `enum_names(enum)[i]`)."""
    return list(enum._name_to_item)


def enum_code(item):
    """The integer code(s) of an enumeration item (an int32 array; vmapped items give arrays)."""
    return item._value
