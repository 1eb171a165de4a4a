"""sciformers.core: configs, seeding, devices, the model registry, the Trainer, checkpoints, distributed."""

from sciformers.core.cache import cache_dir, cached_file
from sciformers.core.config import (
    Config,
    ConfigError,
    apply_overrides,
    deep_merge,
    load_yaml,
    parse_override,
)
from sciformers.core.registry import (
    create_model,
    SHARED_PORTIONS,
    domain_names,
    domain_of,
    ModelSpec,
    get_model_factory,
    get_model_spec,
    import_all_domains,
    import_domain,
    list_models,
    register_model,
    registering_portions,
)

# --- training: seeding, device, Trainer, checkpoints, distributed ---
from sciformers.core import distributed
from sciformers.core.checkpoint import load_checkpoint, load_model, load_model_state, save_checkpoint, save_model
from sciformers.core.device import autocast_context, resolve_device
from sciformers.core.module import TrainModule
from sciformers.core.progress import progress_bar
from sciformers.core.seeding import rng_state, seed_everything, set_rng_state
from sciformers.core.trainer import FitResult, TrainConfig, Trainer
