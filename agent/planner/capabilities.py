"""Which tool answers each intent, and what to configure when that tool is absent."""

# Which tool answers each intent (tools of later capabilities may be absent).
INTENT_TOOL = {
    "alerts": "list_alerts",
    "metrics": "query_metrics",
    "metric": "query_metrics",
    "patterns": "log_patterns",
    "health": "golden_signals",
    "logs": "search_logs",
    "anomaly": "detect_anomalies",
    "drift": "check_drift",
    "forecast": "forecast",
    "model_status": "model_status",
    "jobs": "job_status",
    "changes": "recent_changes",
    "compare": "compare_model_versions",
    "retrain": "retrain_model",
    "rollback": "rollback_model",
    "promote": "promote_model",
    "incidents": "search_incidents",
    "incident_queue": "list_incidents",
    "incident_status": "incident_status",
}
# What to set so a capability's tools appear.
SETUP_HINT = {
    "the model registry": ": set OPSLOOP_MLFLOW_TRACKING_URI",
    "retraining": ": set OPSLOOP_MLFLOW_TRACKING_URI",
    "model rollback": ": set OPSLOOP_MLFLOW_TRACKING_URI",
    "model promotion": ": set OPSLOOP_MLFLOW_TRACKING_URI",
    "drift checks": ": set OPSLOOP_FEATURE_LOG_DIR",
}
CAPABILITY = {
    "search_logs": "log search",
    "log_patterns": "log search",
    "detect_anomalies": "anomaly detection",
    "check_drift": "drift checks",
    "forecast": "forecasting",
    "model_status": "the model registry",
    "compare_model_versions": "the model registry",
    "job_status": "retraining",
    "recent_changes": "the change feed",
    "retrain_model": "retraining",
    "rollback_model": "model rollback",
    "promote_model": "model promotion",
    "search_incidents": "incident memory",
    "list_alerts": "Alertmanager",
    "list_silences": "Alertmanager",
    "list_incidents": "the incident queue",
    "incident_status": "the incident queue",
}
