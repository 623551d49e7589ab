"""The sandbox's ML side: synthetic data, the training pipeline and a seeded MLflow registry."""

import os

# Set before anything imports mlflow: the sandbox never phones home.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
