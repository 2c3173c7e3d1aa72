"""gdgan: GAN training dynamics as continuous-time dynamical systems, in JAX."""

from . import systems as systems
from ._analysis import Assumptions as Assumptions
from ._analysis import StabilityReport as StabilityReport
from ._analysis import Verdict as Verdict
from ._analysis import assumptions as assumptions
from ._analysis import jacobian as jacobian
from ._analysis import stability as stability
from ._distributions import Dirac as Dirac
from ._distributions import Distribution as Distribution
from ._distributions import Empirical as Empirical
from ._distributions import Mixture as Mixture
from ._distributions import MonteCarlo as MonteCarlo
from ._distributions import Normal as Normal
from ._distributions import Quadrature as Quadrature
from ._distributions import Uniform as Uniform
from ._equilibria import find_equilibrium as find_equilibrium
from ._field import VectorField as VectorField
from ._field import vector_field as vector_field
from ._game import Game as Game
from ._game import ValueGame as ValueGame
from ._losses import LOSSES as LOSSES
from ._losses import Loss as Loss
from ._regularizers import SGA as SGA
from ._regularizers import WGANGP as WGANGP
from ._regularizers import Consensus as Consensus
from ._regularizers import GradientPenalty as GradientPenalty
from ._regularizers import R1 as R1
from ._regularizers import R2 as R2
from ._regularizers import Regularizer as Regularizer
from ._regularizers import TimeScale as TimeScale
from ._regularizers import Unrolled as Unrolled

__version__ = "0.1.0"
