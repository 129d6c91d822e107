"""lip: LLM Interactive Proxy."""

__version__ = "0.1.0"
