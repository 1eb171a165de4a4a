"""sciformers.neuro: Neuroformer for multimodal spiking data, with a simulated circuit whose wiring is known."""

from sciformers.neuro.contrastive import ContrastiveHead, info_nce
from sciformers.neuro.model import Neuroformer
from sciformers.neuro.spikes import Behavior, SpikeData, SpikeDataError, Stimulus
from sciformers.neuro.tokenizer import Tokenizer, TruncationReport
from sciformers.neuro.circuit import Circuit, CircuitConfig, simulate_circuit
from sciformers.neuro.connectivity import attention_connectivity, attribution_connectivity
from sciformers.neuro.generation import generate, sample_id_sets, sample_windows
from sciformers.neuro.peers import (
    CCGConnectivity,
    HomogeneousPoisson,
    PoissonGLM,
    RidgeDecoder,
    ccg_connectivity,
    poisson_loglik,
)
from sciformers.neuro.windows import WindowDataset, window_batch

#: The harness side (the task, its metrics, the ``neuro.circuit`` dataset and ``sciformers predict neuro``),
#: imported on demand by ``sciformers.evaluation``: importing this package loads no harness and no matplotlib.
TASK_MODULES = ("sciformers.neuro.metrics", "sciformers.neuro.data", "sciformers.neuro.task", "sciformers.neuro.predict")
