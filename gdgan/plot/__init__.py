r"""Figures: phase portraits, time series and spectra (matplotlib, imported inside).

Every function returns a `matplotlib.figure.Figure` built without `pyplot` (so no global
backend is touched; saving uses Agg) with labelled axes, a title and a legend. Pass `ax=`
to draw into an existing axes instead (its figure is returned).

```python
fig = gdgan.plot.phase_portrait(system.field(), system.equilibrium, trajectories=[out])
fig.savefig("phase.png")
```
"""

from ._basin import basin_radius as basin_radius
from ._basin import basin_slice as basin_slice
from ._bifurcation import bifurcation_diagram as bifurcation_diagram
from ._bifurcation import periodic_orbit as periodic_orbit
from ._maps import basins as basins
from ._maps import stability_region as stability_region
from ._modified import modified_flow as modified_flow
from ._phase import eigenvalues as eigenvalues
from ._phase import phase_portrait as phase_portrait
from ._phase import time_series as time_series
from ._spectra import eigenvalues_over_time as eigenvalues_over_time

__all__ = [
    "basin_radius",
    "basin_slice",
    "basins",
    "bifurcation_diagram",
    "eigenvalues",
    "eigenvalues_over_time",
    "modified_flow",
    "periodic_orbit",
    "phase_portrait",
    "stability_region",
    "time_series",
]
