"""Clients of the systems behind the tools: Prometheus, MLflow, logs, orchestrators, stores."""
