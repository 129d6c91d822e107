"""Configuration: typed models, loading and validation."""

from lip.config.load import (
    AliasSpec,
    BackendSpec,
    ConfigError,
    Settings,
    join_url,
    load_default,
    load_file,
    load_text,
    mask_url,
)
from lip.config.models import Config

__all__ = [
    "AliasSpec",
    "BackendSpec",
    "Config",
    "ConfigError",
    "Settings",
    "join_url",
    "load_default",
    "load_file",
    "load_text",
    "mask_url",
]
