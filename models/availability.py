"""Which registry models can be loaded here and now: embedded ones always; Hub ones when already in
the local Hugging Face cache, or when the Hub answers and `HF_HUB_OFFLINE` is not set."""

from __future__ import annotations

import os
import socket

from huggingface_hub import try_to_load_from_cache

from models.errors import InputError
from models.registry import FAMILIES, REGISTRY, spec

_hub_reachable: bool | None = None


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")


def hub_reachable(timeout: float = 1.5) -> bool:
    """One quick, cached check that the Hub answers (never when HF_HUB_OFFLINE is set)."""
    global _hub_reachable
    if hub_offline():
        return False
    if _hub_reachable is None:
        try:
            socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
            _hub_reachable = True
        except OSError:
            _hub_reachable = False
    return _hub_reachable


def hub_cache_dir() -> str | None:
    """Read at call time (not import time), so a test or a Space can point it elsewhere."""
    return os.environ.get("HF_HUB_CACHE") or None


def in_hf_cache(repo_id: str) -> bool:
    for name in ("config.json", "unet/config.json", "model_index.json"):
        found = try_to_load_from_cache(repo_id, name, cache_dir=hub_cache_dir())
        if isinstance(found, str):
            return True
    return False


def is_available(key: str, check_network: bool = True) -> bool:
    s = spec(key)
    if s.source == "embedded":
        return True
    return in_hf_cache(s.location) or (check_network and hub_reachable())


def available(family: str | None = None, check_network: bool = True) -> list[str]:
    """Registry keys of `family` (or all) that can be loaded now, embedded first."""
    if family is not None and family not in FAMILIES:
        raise InputError(f"family must be one of {FAMILIES}, not {family!r}")
    return [k for k, s in REGISTRY.items()
            if (family is None or s.family == family) and is_available(k, check_network)]
