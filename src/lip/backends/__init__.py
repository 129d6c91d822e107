"""Backends: one upstream protocol each; compatible HTTP providers, presets as data rows, and the local stub."""
