"""Client-facing endpoints: one per client protocol, plus models and health."""
