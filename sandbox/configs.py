"""Configuration files for the sandbox's Prometheus and Alertmanager, and its alert rules."""

from __future__ import annotations

from pathlib import Path

import yaml

RUNBOOKS = "https://github.com/opsloop/opsloop/blob/main/docs/runbooks.md"
SCRAPE_INTERVAL = "1s"


def _alert(
    name: str, expr: str, severity: str, summary: str, description: str, for_: str = "5s"
) -> dict:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity},
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": f"{RUNBOOKS}#{name.lower()}",
        },
    }


def alert_rules() -> dict:
    """Return the sandbox alert rules (one group, evaluated every second), written over the
    names real exporters use: OpenTelemetry HTTP metrics, cAdvisor, kube-state-metrics."""
    requests = "http_server_request_duration_seconds"
    ratio = (
        f'sum by (service_name) (rate({requests}_count{{http_response_status_code=~"5.."}}[30s])) '
        f"/ sum by (service_name) (rate({requests}_count[30s]))"
    )
    slow = (
        f'1 - sum by (service_name) (rate({requests}_bucket{{le="0.5"}}[30s])) '
        f"/ sum by (service_name) (rate({requests}_count[30s]))"
    )
    memory = 'container_memory_working_set_bytes{container!=""}'
    cpu = 'rate(container_cpu_usage_seconds_total{container!=""}[30s])'
    rules = [
        _alert(
            "HighErrorRatio",
            f"({ratio}) > 0.05",
            "page",
            "{{ $labels.service_name }}: {{ $value | humanizePercentage }} of requests fail",
            "More than 5% of {{ $labels.service_name }} requests returned 5xx over 30s.",
        ),
        _alert(
            "LatencySLOBurn",
            f"({slow}) > 0.05",
            "page",
            "{{ $labels.service_name }} is burning its latency SLO",
            "{{ $value | humanizePercentage }} of {{ $labels.service_name }} requests took over "
            "500ms; the SLO allows 1% (burn rate above 5x).",
        ),
        _alert(
            "ModelQualityDrop",
            "min by (service_name, model, metric) (model_quality) "
            "< on (service_name, model, metric) min by (service_name, model, metric) "
            "(model_quality_objective)",
            "page",
            '{{ $labels.model }} online {{ $labels.metric }} {{ $value | printf "%.3f" }} '
            "is below its objective",
            "Online quality of {{ $labels.model }} on delayed labels fell under its objective.",
        ),
        _alert(
            "FeatureDrift",
            'max by (service_name, model, feature) (model_feature_drift{method="psi"}) > 0.25',
            "ticket",
            "{{ $labels.model }} feature {{ $labels.feature }} drifted "
            '(PSI {{ $value | printf "%.2f" }})',
            "The live distribution of {{ $labels.feature }} moved away from training data "
            "(PSI above 0.25).",
        ),
        _alert(
            "MemorySaturation",
            f"max by (namespace, pod, container) ({memory} / on (namespace, pod, container) "
            'kube_pod_container_resource_limits{resource="memory"}) > 0.9',
            "page",
            "{{ $labels.pod }} uses {{ $value | humanizePercentage }} of its memory limit",
            "Memory of {{ $labels.pod }} ({{ $labels.container }}) is above 90% of its limit; "
            "it will be OOM-killed.",
        ),
        _alert(
            "RestartLoop",
            "sum by (namespace, container) "
            "(increase(kube_pod_container_status_restarts_total[2m])) > 1",
            "page",
            "{{ $labels.container }} pods keep restarting",
            "{{ $labels.container }} restarted more than once in 2 minutes.",
        ),
        _alert(
            "CPUSaturation",
            f"max by (namespace, pod, container) ({cpu} / on (namespace, pod, container) "
            'kube_pod_container_resource_limits{resource="cpu"}) > 0.9',
            "page",
            "{{ $labels.pod }} runs at {{ $value | humanizePercentage }} of its CPU limit",
            "{{ $labels.pod }} ({{ $labels.container }}) is CPU-throttled.",
        ),
        _alert(
            "TrafficSurge",
            f"sum by (service_name) (rate({requests}_count[30s])) "
            f"> 1.6 * sum by (service_name) (rate({requests}_count[5m] offset 30m))",
            "ticket",
            "{{ $labels.service_name }} traffic is 60% above 30 minutes ago",
            "Request rate of {{ $labels.service_name }} jumped; check whether this is expected.",
        ),
    ]
    return {"groups": [{"name": "opsloop-sandbox", "interval": SCRAPE_INTERVAL, "rules": rules}]}


def prometheus_config(exporter_port: int, alertmanager_port: int, rules_file: Path) -> dict:
    """Return prometheus.yml: scrape the simulator, evaluate rules, notify Alertmanager."""
    return {
        "global": {
            "scrape_interval": SCRAPE_INTERVAL,
            "evaluation_interval": SCRAPE_INTERVAL,
            "external_labels": {"cluster": "sandbox"},
        },
        "rule_files": [str(rules_file)],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}]
        },
        "scrape_configs": [
            {
                "job_name": "sandbox",
                "honor_labels": True,
                "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}],
            }
        ],
    }


def alertmanager_config(webhook_url: str) -> dict:
    """Return alertmanager.yml routing every alert to opsloop's webhook, fast."""
    return {
        "route": {
            "receiver": "opsloop",
            "group_by": ["alertname", "service_name", "container", "model"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "4h",
        },
        "receivers": [
            {
                "name": "opsloop",
                "webhook_configs": [{"url": webhook_url, "send_resolved": True, "max_alerts": 0}],
            }
        ],
    }


def write_yaml(path: Path, data: dict) -> Path:
    """Write `data` as YAML and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=120))
    return path
