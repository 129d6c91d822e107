"""State that lip processes share: a small async store with an in-memory default and a Redis implementation."""

from lip.store.base import MemoryStore, Store, open_store

__all__ = ["MemoryStore", "Store", "open_store"]
