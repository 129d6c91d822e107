"""Which environment variables a backend may take its API keys from: never lip's own, and a system one only with a
warning (its value would be sent upstream as the key)."""

from __future__ import annotations

import re

from lip.config.models import Config, ServerConfig, StoreConfig

SYSTEM_VARIABLES = frozenset(
    {
        "HOME", "PATH", "USER", "USERNAME", "LOGNAME", "SHELL", "PWD", "OLDPWD", "LANG", "LANGUAGE", "TERM",
        "TMPDIR", "TMP", "TEMP", "HOSTNAME", "HOST", "MAIL", "EDITOR", "VISUAL", "PAGER", "DISPLAY", "TZ", "SHLVL",
        "PS1", "IFS", "UID", "EUID", "VIRTUAL_ENV", "CONDA_PREFIX",
    }
)  # fmt: skip
SYSTEM_PREFIXES = ("LC_", "XDG_", "SSH_", "LD_", "PYTHON", "DBUS_", "SUDO_", "SYSTEMD_")


def lip_variables(config: Config | None) -> dict[str, str]:
    """The variables lip reads for itself, each with the setting that names it."""
    server = config.server if config is not None else ServerConfig()
    store = config.store if config is not None else StoreConfig()
    return {
        server.client_api_key_env_var_root.strip(): "server.client_api_key_env_var_root, lip's client keys",
        store.url_env.strip(): "store.url_env, the Redis URL",
    }


def in_series(root: str, name: str) -> bool:
    """Whether ``name`` is ``root`` or one of its numbered variables (``ROOT_2``, ...)."""
    return name == root or re.fullmatch(re.escape(root) + r"_[0-9]+", name) is not None


def own_variable(root: str, own: dict[str, str]) -> tuple[str, str] | None:
    """(variable, setting) of lip's own that the key variables of ``root`` would read, or None. Both are series
    (ROOT, ROOT_2, ...), so either may hold the other."""
    for name, setting in own.items():
        if name and (in_series(root, name) or in_series(name, root)):
            return name, setting
    return None


def looks_like_system(root: str) -> bool:
    return root in SYSTEM_VARIABLES or root.startswith(SYSTEM_PREFIXES)
