"""Shared fixtures: fake providers and a running lip server."""
