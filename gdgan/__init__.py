"""gdgan: GAN training dynamics as continuous-time dynamical systems, in JAX."""

from . import li_madry as li_madry
from . import plot as plot  # noqa: E402  (matplotlib is imported inside its functions)
from . import systems as systems
from ._analysis import Assumptions as Assumptions
from ._analysis import StabilityReport as StabilityReport
from ._analysis import Verdict as Verdict
from ._analysis import assumptions as assumptions
from ._analysis import jacobian as jacobian
from ._analysis import stability as stability
from ._basin import BasinRadius as BasinRadius
from ._basin import BasinSlice as BasinSlice
from ._basin import LyapunovCertificate as LyapunovCertificate
from ._basin import basin_radius as basin_radius
from ._basin import basin_slice as basin_slice
from ._basin import default_horizon as default_horizon
from ._basin import lyapunov_certificate as lyapunov_certificate
from ._checks import GdganError as GdganError
from ._checks import InputError as InputError
from ._checks import InputTypeError as InputTypeError
from ._checks import MissingExtraError as MissingExtraError
from ._continuation import Bifurcation as Bifurcation
from ._continuation import Branch as Branch
from ._continuation import continuation as continuation
from ._continuation import continuation_discrete as continuation_discrete
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
from ._modified import DriftCorrection as DriftCorrection
from ._modified import modified_field as modified_field
from ._periodic import OrbitResult as OrbitResult
from ._periodic import PeriodGuess as PeriodGuess
from ._periodic import PeriodicOrbit as PeriodicOrbit
from ._periodic import estimate_period as estimate_period
from ._periodic import periodic_orbit as periodic_orbit
from ._regularizers import R1 as R1
from ._regularizers import R2 as R2
from ._regularizers import SGA as SGA
from ._regularizers import WGANGP as WGANGP
from ._regularizers import Consensus as Consensus
from ._regularizers import GradientPenalty as GradientPenalty
from ._regularizers import Regularizer as Regularizer
from ._regularizers import TimeScale as TimeScale
from ._regularizers import Unrolled as Unrolled
from ._reproduce import reproduce as reproduce
from ._reproduce import reproductions as reproductions
from ._sde import CovarianceEstimate as CovarianceEstimate
from ._sde import SDEResult as SDEResult
from ._sde import empirical_covariance as empirical_covariance
from ._sde import gradient_covariance as gradient_covariance
from ._sde import sde as sde
from ._sde import stationary_covariance as stationary_covariance
from ._simulate import Outcome as Outcome
from ._simulate import SimulateResult as SimulateResult
from ._simulate import simulate as simulate
from ._spectra import Eigenvalues as Eigenvalues
from ._spectra import max_stable_step as max_stable_step
from ._spectra import rightmost_eigenvalues as rightmost_eigenvalues
from ._spectra import spectra_along as spectra_along
from ._spectra import spectral_abscissa as spectral_abscissa
from ._spectra import update_spectral_radius as update_spectral_radius
from ._sweep import Box as Box
from ._sweep import Lattice as Lattice
from ._sweep import SweepResult as SweepResult
from ._sweep import box as box
from ._sweep import lattice as lattice
from ._sweep import sweep as sweep
from ._train import DiscreteStabilityReport as DiscreteStabilityReport
from ._train import Extragradient as Extragradient
from ._train import TrainResult as TrainResult
from ._train import discrete_stability as discrete_stability
from ._train import extragradient as extragradient
from ._train import train as train
from ._train import update_jacobian as update_jacobian
from .systems._digits import digit_classifier as digit_classifier
from .systems._digits import digit_metrics as digit_metrics
from .systems._digits import digits_system as digits_system
from .systems._digits import load_digits as load_digits
from .systems._metrics import mode_coverage as mode_coverage

__version__ = "0.1.0"

# The public API: every name here is documented in the docs' API reference (checked by
# tests/test_docs.py). Add a new public name here and to a page under docs/api/.
__all__ = [
    "Assumptions",
    "assumptions",
    "basin_radius",
    "basin_slice",
    "BasinRadius",
    "BasinSlice",
    "Bifurcation",
    "Box",
    "box",
    "Branch",
    "Consensus",
    "continuation",
    "continuation_discrete",
    "CovarianceEstimate",
    "default_horizon",
    "digit_classifier",
    "digit_metrics",
    "digits_system",
    "Dirac",
    "discrete_stability",
    "DiscreteStabilityReport",
    "Distribution",
    "DriftCorrection",
    "Eigenvalues",
    "Empirical",
    "empirical_covariance",
    "estimate_period",
    "Extragradient",
    "extragradient",
    "find_equilibrium",
    "Game",
    "GdganError",
    "gradient_covariance",
    "GradientPenalty",
    "InputError",
    "InputTypeError",
    "jacobian",
    "Lattice",
    "lattice",
    "li_madry",
    "load_digits",
    "Loss",
    "LOSSES",
    "lyapunov_certificate",
    "LyapunovCertificate",
    "max_stable_step",
    "MissingExtraError",
    "Mixture",
    "mode_coverage",
    "modified_field",
    "MonteCarlo",
    "Normal",
    "OrbitResult",
    "Outcome",
    "periodic_orbit",
    "PeriodicOrbit",
    "PeriodGuess",
    "plot",
    "Quadrature",
    "R1",
    "R2",
    "Regularizer",
    "reproduce",
    "reproductions",
    "rightmost_eigenvalues",
    "sde",
    "SDEResult",
    "SGA",
    "simulate",
    "SimulateResult",
    "spectra_along",
    "spectral_abscissa",
    "stability",
    "StabilityReport",
    "stationary_covariance",
    "sweep",
    "SweepResult",
    "systems",
    "TimeScale",
    "train",
    "TrainResult",
    "Uniform",
    "Unrolled",
    "update_jacobian",
    "update_spectral_radius",
    "ValueGame",
    "vector_field",
    "VectorField",
    "Verdict",
    "WGANGP",
]
