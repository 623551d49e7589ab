"""Self-monitoring: answer records as Prometheus metrics and OpenTelemetry traces."""
