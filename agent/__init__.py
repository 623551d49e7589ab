"""opsloop: an on-call assistant for teams that run ML models in production."""

__version__ = "0.1.0"
