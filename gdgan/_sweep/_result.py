"""`SweepResult`: the arrays of a sweep, their names and shapes, and ways out (`.npz`,
xarray, pandas)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np

from .._analysis import Verdict
from .._checks import require
from .._results import enum_names
from .._simulate import Outcome
from ._store import atomic_savez

OUTCOMES = enum_names(Outcome)
VERDICTS = enum_names(Verdict)
RUN_FIELDS = (
    "outcome",
    "y0",
    "y_final",
    "t_final",
    "steps",
    "t_converge",
    "residual",
    "distance",
    "nearest",
    "verdict",
    "max_real",
)
GRID_FIELDS = ("grid_verdict", "grid_max_real", "grid_spectral_radius", "grid_max_stable_step")
STATE_FIELDS = ("y0", "y_final")


def _array(name, doc):
    def get(self):
        return self.arrays[name]

    return property(get, doc=doc)


def _jsonable(x):
    x = np.asarray(x)
    return x.item() if x.size == 1 else x.tolist()


@dataclasses.dataclass
class SweepResult:
    r"""Result of `gdgan.sweep` (NumPy arrays; runs ordered grid-major, initial state last).

    Per run (leading axis `n_runs` = (grid points) × (initial states)):

    - `outcome` (`int`, `gdgan.Outcome` codes; `outcome_name` gives strings);
    - `y0`, `y_final`: flattened states `(n_runs, d)`, columns named by `leaf_names`
      (`state(i)` rebuilds run `i`'s final state as a pytree);
    - `t_final`: where the run stopped (time, or training steps); `steps`: solver steps
      (continuous) or iterations (discrete); `t_converge`: time / iteration of convergence,
      NaN unless `converged`;
    - `residual` $\|h(y_{final})\|$; `distance` to the nearest known equilibrium and its
      index `nearest` (NaN / -1 without equilibria);
    - `verdict`, `max_real`: `gdgan.stability` at the final state of converged runs
      (`Verdict` code, -1 / NaN otherwise or when the spectrum was skipped);
    - `params`: the grid value of each run, by name.

    Per grid point (`grid_*`, leading axis = number of grid points, `grid_shape`):
    `grid_verdict`, `grid_max_real`, `grid_max_stable_step` (continuous time:
    `gdgan.stability` at the equilibrium) or `grid_spectral_radius` (discrete time:
    `gdgan.discrete_stability`), NaN / -1 without an equilibrium.

    Every array is an attribute (`res.outcome`, ...) backed by the dict `arrays`;
    `to_xarray()` and `to_dataframe()` export them with named dimensions.
    """

    grid: dict
    leaf_names: list
    n_inits: int
    config: dict
    arrays: dict
    wall_time: float = float("nan")

    outcome = _array("outcome", "`gdgan.Outcome` code of each run, `(n_runs,)` int.")
    y0 = _array("y0", "Initial state of each run, flattened, `(n_runs, d)`.")
    y_final = _array("y_final", "Final state of each run, flattened, `(n_runs, d)`.")
    t_final = _array("t_final", "Time (or iteration) where each run stopped, `(n_runs,)`.")
    steps = _array("steps", "Accepted solver steps (or iterations) of each run.")
    t_converge = _array("t_converge", "Time of convergence, NaN unless converged.")
    residual = _array("residual", r"$\|h(y_{final})\|$ of each run.")
    distance = _array("distance", "Distance to the nearest known equilibrium (NaN: none).")
    nearest = _array("nearest", "Index of the nearest known equilibrium (-1: none).")
    verdict = _array("verdict", "`gdgan.Verdict` code at converged final states (-1: n/a).")
    max_real = _array("max_real", "Largest real part of the spectrum there (NaN: n/a).")
    grid_verdict = _array("grid_verdict", "`Verdict` code at each grid point's equilibrium.")
    grid_max_real = _array("grid_max_real", "Largest real part at each grid point.")
    grid_spectral_radius = _array(
        "grid_spectral_radius", "Spectral radius of the discrete map at each grid point."
    )
    grid_max_stable_step = _array(
        "grid_max_stable_step", "Largest stable step size of gradient descent per grid point."
    )

    @property
    def params(self) -> dict:
        return {k: self.arrays[f"param_{k}"] for k in self.grid}

    @property
    def grid_shape(self) -> tuple:
        return tuple(len(v) for v in self.grid.values())

    @property
    def shape(self) -> tuple:
        """`grid_shape + (n_inits,)`: reshape any per-run array with `reshape`."""
        return self.grid_shape + (self.n_inits,)

    @property
    def n_runs(self) -> int:
        return int(np.prod(self.shape))

    def reshape(self, values):
        """A per-run array reshaped to `shape + trailing` (grid axes first)."""
        values = np.asarray(values)
        return values.reshape(self.shape + values.shape[1:])

    @property
    def outcome_name(self):
        return np.asarray(OUTCOMES, dtype=object)[self.arrays["outcome"]].astype(str)

    @property
    def grid_verdict_name(self):
        v = self.arrays["grid_verdict"]
        return np.where(v >= 0, np.asarray(VERDICTS + ["n/a"])[v], "n/a")

    def state(self, i, which="y_final"):
        """Run `i`'s `"y_final"` or `"y0"` as a state pytree (inexact leaves)."""
        flat = np.asarray(self.arrays[which][i])
        out, k = {}, 0
        for name, shape in zip(self.leaf_names, self.config["leaf_shapes"]):
            size = int(np.prod(shape, dtype=int))
            node = out
            *heads, last = name.split(".")
            for h in heads:
                node = node.setdefault(h, {})
            node[last] = flat[k : k + size].reshape(shape)
            k += size
        return out

    @property
    def coord_names(self) -> list:
        """Names of the columns of `y0` / `y_final` (leaf names, with `[i]` per element of
        non-scalar leaves)."""
        names = []
        for name, shape in zip(self.leaf_names, self.config["leaf_shapes"]):
            if not shape:
                names.append(name)
            else:
                names += [f"{name}[{','.join(map(str, i))}]" for i in np.ndindex(*shape)]
        return names

    def counts(self) -> dict:
        """Number of runs per outcome name."""
        c = np.bincount(self.arrays["outcome"], minlength=len(OUTCOMES))
        return {name: int(n) for name, n in zip(OUTCOMES, c)}

    def summary(self) -> dict:
        """A JSON-able summary: configuration, outcome counts overall and per grid point."""
        out = {
            "n_runs": self.n_runs,
            "n_inits": self.n_inits,
            "grid": {
                k: [float(x) for x in np.ravel(v)] if np.ndim(v) == 1 else np.shape(v)
                for k, v in self.grid.items()
            },
            "outcomes": self.counts(),
            "wall_time_s": self.wall_time,
            "runs_per_s": self.n_runs / self.wall_time if self.wall_time > 0 else None,
            "config": self.config,
        }
        g = int(np.prod(self.grid_shape))
        if 0 < g <= 1000 and self.grid:
            oc = self.arrays["outcome"].reshape(g, self.n_inits)
            rows = []
            for j, idx in enumerate(np.ndindex(*self.grid_shape)):
                row = {k: _jsonable(v[i]) for (k, v), i in zip(self.grid.items(), idx)}
                row["verdict"] = str(self.grid_verdict_name[j])
                for f in ("grid_max_real", "grid_spectral_radius"):
                    x = float(self.arrays[f][j])
                    row[f[5:]] = x if math.isfinite(x) else None
                cnt = np.bincount(oc[j], minlength=len(OUTCOMES))
                row["outcomes"] = {n: int(c) for n, c in zip(OUTCOMES, cnt) if c}
                rows.append(row)
            out["per_grid_point"] = rows
        return out

    # -- ways out -------------------------------------------------------------------------
    def _grid_coords(self):
        coords, extra = {}, {}
        for k, v in self.grid.items():
            v = np.asarray(v)
            if v.ndim == 1:
                coords[k] = v
            else:  # array-valued grid points: an index coordinate and the values aside
                coords[k] = np.arange(v.shape[0])
                extra[f"grid_values_{k}"] = v
        return coords, extra

    def to_xarray(self):
        """The arrays as an `xarray.Dataset` (needs the `export` extra).

        Dimensions: one per grid axis (named and indexed by the grid's names and values),
        `init` (the initial-state index) for per-run arrays, and `coord` (named by
        `coord_names`) for `y0` / `y_final`; `grid_*` arrays have the grid dimensions only.
        `outcome_name` and `grid_verdict_name` are string variables beside the codes.

        **Returns:** an `xarray.Dataset` with the configuration in `attrs["config"]` (JSON).
        """
        xr = require("xarray", "export")
        gdims = list(self.grid)
        coords, extra = self._grid_coords()
        coords["init"] = np.arange(self.n_inits)
        coords["coord"] = self.coord_names
        data = {}
        for k in RUN_FIELDS:
            dims = gdims + ["init"] + (["coord"] if k in STATE_FIELDS else [])
            data[k] = (dims, self.reshape(self.arrays[k]))
        data["outcome_name"] = (gdims + ["init"], self.reshape(self.outcome_name))
        for k in GRID_FIELDS:
            data[k] = (gdims, np.asarray(self.arrays[k]).reshape(self.grid_shape))
        data["grid_verdict_name"] = (gdims, self.grid_verdict_name.reshape(self.grid_shape))
        for k, v in extra.items():
            data[k] = ([k.removeprefix("grid_values_")] + [f"{k}_{i}" for i in range(1, v.ndim)], v)
        attrs = {
            "config": json.dumps(self.config),
            "n_inits": self.n_inits,
            "leaf_names": json.dumps(self.leaf_names),
            "wall_time": self.wall_time,
        }
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def to_dataframe(self):
        """One row per run as a `pandas.DataFrame` (needs the `export` extra): the grid
        values (one column per grid name, for 1-D grids), `init` (the initial-state index),
        every per-run scalar array, `outcome_name`, one column per state coordinate as
        `y0[NAME]` and `y_final[NAME]` (see `coord_names`), and the grid point's
        `grid_*` values repeated on its runs."""
        pd = require("pandas", "export")
        n = self.n_runs
        g, i = np.divmod(np.arange(n), self.n_inits)
        cols = {}
        for k, v in self.grid.items():
            if np.ndim(v) == 1:
                cols[k] = np.asarray(self.arrays[f"param_{k}"])
        cols["init"] = i
        for k in RUN_FIELDS:
            if k not in STATE_FIELDS:
                cols[k] = np.asarray(self.arrays[k])
        cols["outcome_name"] = self.outcome_name
        for k in STATE_FIELDS:
            a = np.asarray(self.arrays[k])
            for j, name in enumerate(self.coord_names):
                cols[f"{k}[{name}]"] = a[:, j]
        for k in GRID_FIELDS:
            cols[k] = np.asarray(self.arrays[k])[g]
        return pd.DataFrame(cols)

    def save(self, path):
        """Write every array (and the configuration) to one `.npz` file."""
        meta = {
            "grid_names": list(self.grid),
            "leaf_names": self.leaf_names,
            "n_inits": self.n_inits,
            "config": self.config,
            "wall_time": self.wall_time,
        }
        arrays = {f"grid__{k}": np.asarray(v) for k, v in self.grid.items()}
        atomic_savez(path, meta=np.array(json.dumps(meta)), **arrays, **self.arrays)

    @classmethod
    def load(cls, path) -> SweepResult:
        """Read a file written by `save` (e.g. `DIR/results.npz`)."""
        with np.load(path) as z:
            meta = json.loads(str(z["meta"]))
            grid = {k: z[f"grid__{k}"] for k in meta["grid_names"]}
            arrays = {k: z[k] for k in z.files if k != "meta" and not k.startswith("grid__")}
        return cls(
            grid, meta["leaf_names"], meta["n_inits"], meta["config"], arrays, meta["wall_time"]
        )
