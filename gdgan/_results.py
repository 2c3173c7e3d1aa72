"""Helpers for the enumerations that carry results (`Outcome`, `Verdict`, ...)."""

from __future__ import annotations

import numpy as np


def enum_name(enum, item) -> str | np.ndarray:
    """The member name(s) of an enumeration item, e.g. `"stable"` (vectorised)."""
    names = list(enum._name_to_item)
    values = np.asarray(item._value)
    if values.ndim == 0:
        return names[int(values)]
    return np.vectorize(lambda v: names[v])(values)
