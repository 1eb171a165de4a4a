"""sciformers.pde: FactFormer surrogates for PDEs, Kolmogorov-flow and 3-D smoke generators, PDE data formats.

>>> from sciformers.pde import FactFormer2D
>>> model = FactFormer2D(in_steps=4, out_steps=1)
"""

from sciformers.pde.factformer import FactFormer, FactFormer2D, FactFormer3D, LatentMarching, PeriodicRotary
from sciformers.pde.peers import FNOSurrogate, Persistence, fno_width_for
from sciformers.pde.solver import KolmogorovPhysics, KolmogorovSolver, gaussian_random_field, spectral_downsample
from sciformers.pde.surrogate import Surrogate, relative_l2_loss
from sciformers.pde.formats import (
    export_neuraloperator,
    export_pdebench,
    read_dataset,
    read_fields,
    read_pdebench,
    write_netcdf,
    write_zarr,
)
from sciformers.pde.kolmogorov_data import KolmogorovData, generate_kolmogorov, load_kolmogorov

#: The harness side (the task and its dataset, the rollout metrics, the ``predict pde`` command),
#: imported on demand by ``sciformers.evaluation``: importing this package loads no harness.
TASK_MODULES = ("sciformers.pde.task", "sciformers.pde.metrics", "sciformers.pde.predict")
