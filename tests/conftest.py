"""Shared fixtures: fake providers (tests/fakes) and a running lip server (tests/harness.py)."""

from __future__ import annotations

from tests.fakes.fixtures import fake_provider, fake_provider_factory

__all__ = ["fake_provider", "fake_provider_factory"]
