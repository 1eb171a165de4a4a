"""sciformers.neuro: Neuroformer for multimodal spiking data, with a simulated circuit whose wiring is known."""

from sciformers.neuro.contrastive import ContrastiveHead, info_nce
from sciformers.neuro.model import Neuroformer
from sciformers.neuro.spikes import Behavior, SpikeData, SpikeDataError, Stimulus
from sciformers.neuro.tokenizer import Tokenizer, TruncationReport
from sciformers.neuro.circuit import Circuit, CircuitConfig, simulate_circuit
from sciformers.neuro.connectivity import attention_connectivity
from sciformers.neuro.data import CircuitData, Recording, load_recording
from sciformers.neuro.generation import generate, sample_windows
from sciformers.neuro.peers import HomogeneousPoisson, PoissonGLM, ccg_connectivity, ridge_decoder
from sciformers.neuro.task import SIMULATED_CIRCUIT, SimulatedCircuitTask
from sciformers.neuro.windows import WindowDataset, window_batch
