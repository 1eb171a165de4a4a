"""sciformers.core: configs, seeding, devices, the model registry, the Trainer, checkpoints, distributed."""

from sciformers.core.cache import cache_dir
from sciformers.core.config import (
    Config,
    ConfigError,
    apply_overrides,
    deep_merge,
    load_yaml,
    parse_override,
)
from sciformers.core.registry import create_model, get_model_factory, import_domain, list_models, register_model

# --- training: seeding, device, Trainer, checkpoints, distributed ---
