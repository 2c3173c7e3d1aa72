"""Many runs at once: initial conditions × hyperparameters, vmapped, chunked, sharded."""

from ._run import Box as Box
from ._run import Lattice as Lattice
from ._run import SweepResult as SweepResult
from ._run import box as box
from ._run import lattice as lattice
from ._run import sweep as sweep
