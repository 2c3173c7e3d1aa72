r"""Ready-made games with their known equilibria (see the docs' Theory page).

Each builder takes keyword parameters and returns a `System`: the `game`, a known
`equilibrium` (or `None`), a default initial state `init`, and, where one exists, the
`conserved` quantity of the unregularised flow. The registry is for the edges (CLI, tests,
reproductions); the library itself takes games and fields.

```python
sys = gdgan.systems.get("lq", sigma=2.0, loss="wgan")
rep = gdgan.stability(sys.field(gdgan.GradientPenalty(0.1)), sys.equilibrium)
```
"""

from ._registry import REGISTRY as REGISTRY
from ._registry import System as System
from ._registry import get as get
from ._registry import names as names
from ._registry import parameters as parameters
from ._registry import register as register
from ._ring import ring as ring
from ._table import stability_rows as stability_rows
from ._toy import dirac as dirac
from ._toy import lq as lq
from ._toy import uniform as uniform
from ._two_gaussians import TwoGaussiansValue as TwoGaussiansValue
from ._two_gaussians import two_gaussians as two_gaussians

# The registry, in the order `names()` lists it (the CLI, tables and reports follow it).
for _name, _builder in (
    ("dirac", dirac),
    ("lq", lq),
    ("uniform", uniform),
    ("ring", ring),
    ("two_gaussians", two_gaussians),
):
    register(_name)(_builder)

__all__ = [
    "dirac",
    "get",
    "lq",
    "names",
    "parameters",
    "register",
    "REGISTRY",
    "ring",
    "stability_rows",
    "System",
    "two_gaussians",
    "TwoGaussiansValue",
    "uniform",
]
