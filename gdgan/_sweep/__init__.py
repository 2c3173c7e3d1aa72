"""Many runs at once: initial conditions × hyperparameters, vmapped, chunked, sharded.

`_samplers` (initial states), `_problem` (what `make` builds), `_runners` (the compiled
chunk), `_store` (the directory: manifest, checksums, resume), `_result` (`SweepResult`),
`_run` (`sweep`, which ties them together)."""

from ._result import SweepResult as SweepResult
from ._run import sweep as sweep
from ._samplers import Box as Box
from ._samplers import Lattice as Lattice
from ._samplers import box as box
from ._samplers import lattice as lattice
