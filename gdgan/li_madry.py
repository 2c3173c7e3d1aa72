r"""Li, Madry, Peebles & Schmidt (2018): two unit Gaussians learned against a two-interval
discriminator — the optimal discriminator, the optimal-discriminator and first-order
dynamics (discrete and continuous time), their failure modes, and a vmapped grid runner.

```python
import jax, jax.numpy as jnp, gdgan
mu_star = jnp.array([-0.5, 0.5])
gdgan.li_madry.tv(jnp.array([0.0, 1.0]), mu_star)
run = gdgan.li_madry.first_order(jnp.array([-1.0, 0.8]),
                                 gdgan.li_madry.random_disc(jax.random.PRNGKey(0)),
                                 mu_star, 0.1, 1000)
run.result_name
```
"""

from .systems._li_madry import BIG as BIG
from .systems._li_madry import FAILURE_MODES as FAILURE_MODES
from .systems._li_madry import Grid as Grid
from .systems._li_madry import OptimalField as OptimalField
from .systems._li_madry import Result as Result
from .systems._li_madry import Run as Run
from .systems._li_madry import best_response as best_response
from .systems._li_madry import classify as classify
from .systems._li_madry import first_order as first_order
from .systems._li_madry import first_order_field as first_order_field
from .systems._li_madry import gradients as gradients
from .systems._li_madry import grid as grid
from .systems._li_madry import objective as objective
from .systems._li_madry import optimal as optimal
from .systems._li_madry import optimal_field as optimal_field
from .systems._li_madry import optimal_gradient as optimal_gradient
from .systems._li_madry import random_disc as random_disc
from .systems._li_madry import result_name as result_name
from .systems._li_madry import state as state
from .systems._li_madry import success_of as success_of
from .systems._li_madry import tv as tv

__all__ = [
    "best_response",
    "BIG",
    "classify",
    "FAILURE_MODES",
    "first_order",
    "first_order_field",
    "gradients",
    "Grid",
    "grid",
    "objective",
    "optimal",
    "optimal_field",
    "optimal_gradient",
    "OptimalField",
    "random_disc",
    "Result",
    "result_name",
    "Run",
    "state",
    "success_of",
    "tv",
]
