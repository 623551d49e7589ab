"""Pods as cAdvisor (via the kubelet) and kube-state-metrics report them, and model metrics."""

from __future__ import annotations

import numpy as np
from scipy.stats import beta

from opsloop.evals.rca.world2.dynamics import MIB, PodState, State
from opsloop.evals.rca.world2.export_http import add_histogram, counter, observe
from opsloop.evals.rca.world2.modelmon import ModelState
from opsloop.evals.rca.world2.store import Store
from opsloop.evals.rca.world2.world import BY_NAME, SCORE_BUCKETS, SERVICES

NODES = 6
CFS_PERIODS_PER_S = 10.0  # 100 ms CFS periods
KSM = {"job": "kube-state-metrics", "instance": "10.42.0.9:8080"}


def node_of(pod: str) -> tuple[str, str]:
    """Return (node name, kubelet address) a pod runs on."""
    i = sum(ord(c) for c in pod) % NODES
    return f"ip-10-0-{i + 1}-{17 + 9 * i}.ec2.internal", f"10.0.{i + 1}.{17 + 9 * i}:10250"


def export_k8s(state: State, store: Store) -> None:
    """Add cAdvisor and kube-state-metrics series for every pod and deployment."""
    for name, kind, help_text in (
        ("container_cpu_usage_seconds", "counter", "Cumulative cpu time consumed in seconds."),
        ("container_memory_working_set_bytes", "gauge", "Current working set in bytes."),
        ("container_cpu_cfs_periods", "counter", "Number of elapsed enforcement periods."),
        ("container_cpu_cfs_throttled_periods", "counter", "Number of throttled periods."),
        ("kube_pod_container_resource_limits", "gauge", "The number of limit resource."),
        ("kube_pod_container_resource_requests", "gauge", "The number of request resource."),
        ("kube_pod_container_status_restarts", "counter", "The number of container restarts."),
        ("kube_pod_container_status_last_terminated_reason", "gauge", "Last terminated reason."),
        ("kube_pod_status_ready", "gauge", "Describes whether the pod is ready."),
        ("kube_pod_labels", "gauge", "Kubernetes labels converted to Prometheus labels."),
        ("kube_pod_owner", "gauge", "Information about the Pod's owner."),
        ("kube_deployment_metadata_generation", "gauge", "Sequence number of the desired state."),
        ("kube_deployment_status_observed_generation", "gauge", "The generation observed."),
        ("kube_deployment_status_replicas_unavailable", "gauge", "Unavailable replicas."),
        ("kube_deployment_spec_replicas", "gauge", "Number of desired pods."),
    ):
        store.family(name, kind, help_text)
    for s in SERVICES:
        for p in state.pods[s.name]:
            _cadvisor(state, store, s, p)
            _ksm_pod(state, store, s, p)
        _ksm_deployment(state, store, s)


def _cadvisor(state: State, store: Store, s, p: PodState) -> None:
    node, kubelet = node_of(p.pod.name)
    scrape = {"job": "kubelet", "metrics_path": "/metrics/cadvisor", "instance": kubelet,
              "node": node}  # fmt: skip
    image = f"registry.example.internal/{s.namespace}/{s.deployment}:r{p.pod.revision}"
    mine = {**scrape, "namespace": s.namespace, "pod": p.pod.name, "container": s.container,
            "image": image}  # fmt: skip
    whole = {**scrape, "namespace": s.namespace, "pod": p.pod.name, "container": ""}
    cpu = np.nan_to_num(p.cpu) * state.dt
    used = counter(cpu, p.epoch, p.up)
    store.add("container_cpu_usage_seconds", "container_cpu_usage_seconds_total", mine, used)
    pod_cpu = counter(cpu + 0.001 * state.dt, np.zeros_like(p.epoch), p.exists)
    store.add("container_cpu_usage_seconds", "container_cpu_usage_seconds_total", whole, pod_cpu)
    store.add("container_memory_working_set_bytes", "container_memory_working_set_bytes", mine,
              p.mem)  # fmt: skip
    store.add("container_memory_working_set_bytes", "container_memory_working_set_bytes", whole,
              np.where(p.exists, np.nan_to_num(p.mem) + 1.2 * MIB, np.nan))  # fmt: skip
    busy = np.clip(0.3 + np.nan_to_num(p.cpu) / s.cpu_limit, 0.0, 1.0)
    periods = np.round(CFS_PERIODS_PER_S * busy * state.dt)
    throttled = np.round(periods * np.nan_to_num(p.throttled))
    store.add("container_cpu_cfs_periods", "container_cpu_cfs_periods_total", mine,
              counter(periods, p.epoch, p.up))  # fmt: skip
    store.add("container_cpu_cfs_throttled_periods", "container_cpu_cfs_throttled_periods_total",
              mine, counter(throttled, p.epoch, p.up))  # fmt: skip


def _ksm_pod(state: State, store: Store, s, p: PodState) -> None:
    t, exists = state.t, p.exists
    node, _ = node_of(p.pod.name)
    on = np.where(exists, 1.0, np.nan)
    pod = {**KSM, "namespace": s.namespace, "pod": p.pod.name}
    box = {**pod, "container": s.container}
    for resource, unit, limit, request in (
        ("cpu", "core", s.cpu_limit, s.cpu_limit / 2),
        ("memory", "byte", s.mem_limit_mb * MIB, 0.75 * s.mem_limit_mb * MIB),
    ):
        labels = {**box, "node": node, "resource": resource, "unit": unit}
        store.add("kube_pod_container_resource_limits", "kube_pod_container_resource_limits",
                  labels, on * limit)  # fmt: skip
        store.add("kube_pod_container_resource_requests", "kube_pod_container_resource_requests",
                  labels, on * request)  # fmt: skip
    store.add("kube_pod_container_status_restarts", "kube_pod_container_status_restarts_total",
              box, on * p.restarts)  # fmt: skip
    if p.reason:
        reason, since = p.reason
        store.add("kube_pod_container_status_last_terminated_reason",
                  "kube_pod_container_status_last_terminated_reason", {**box, "reason": reason},
                  np.where(exists & (t >= since), 1.0, np.nan))  # fmt: skip
    for condition, value in (("true", p.ready), ("false", ~p.ready), ("unknown", False)):
        store.add("kube_pod_status_ready", "kube_pod_status_ready",
                  {**pod, "condition": condition}, on * np.asarray(value, dtype=float))  # fmt: skip
    rs_hash = p.pod.name[len(s.deployment) + 1 :].rsplit("-", 1)[0]
    store.add("kube_pod_labels", "kube_pod_labels",
              {**pod, "label_app_kubernetes_io_name": s.name,
               "label_app_kubernetes_io_part_of": "marketplace",
               "label_pod_template_hash": rs_hash}, on)  # fmt: skip
    store.add("kube_pod_owner", "kube_pod_owner",
              {**pod, "owner_kind": "ReplicaSet", "owner_name": f"{s.deployment}-{rs_hash}",
               "owner_is_controller": "true"}, on)  # fmt: skip


def _ksm_deployment(state: State, store: Store, s) -> None:
    t, plan = state.t, state.plan
    labels = {**KSM, "namespace": s.namespace, "deployment": s.deployment}
    generation = np.full(len(t), float(plan.generation0[s.name]))
    for d in plan.deploys:
        if d.service == s.name:
            generation += t >= d.at
    ready = sum(p.ready.astype(float) for p in state.pods[s.name])
    unavailable = np.clip(s.pods - ready, 0.0, None)
    for name, values in (
        ("kube_deployment_metadata_generation", generation),
        ("kube_deployment_status_observed_generation", generation),
        ("kube_deployment_status_replicas_unavailable", unavailable),
        ("kube_deployment_spec_replicas", np.full(len(t), float(s.pods))),
    ):
        store.add(name, name, labels, values)


def export_models(state: State, store: Store, models: dict[str, ModelState]) -> None:
    """Add the serving pods' prediction metrics and the monitor's quality and drift gauges."""
    rng, dt = state.plan.rng, state.dt
    store.family("model_predictions", "counter", "Predictions served, by model version.")
    store.family("model_prediction_score", "histogram", "Predicted scores.")
    for name, kind, help_text in (
        ("model_quality", "gauge", "Online model quality from delayed labels."),
        ("model_quality_objective", "gauge", "The quality below which the model is failing."),
        ("model_feature_drift", "gauge", "Drift of live inputs against the training reference."),
    ):
        store.family(name, kind, help_text)
    monitor = {"job": "model-monitor", "instance": "model-monitor-0"}
    for ms in models.values():
        m = ms.model
        s = BY_NAME[m.service]
        for p in state.pods[s.name]:
            ident = {"job": s.job(), "instance": p.pod.name, "model": m.name}
            served = counter(p.rps * dt, p.epoch, p.up)
            store.add("model_predictions", "model_predictions_total",
                      {**ident, "version": ms.version[p.pod.name]}, np.round(served))  # fmt: skip
            a, b = ms.scores[p.pod.name]
            cdfs = [beta.cdf(le, a, b) for le in SCORE_BUCKETS[:-1]] + [np.ones(len(dt))]
            drawn = observe(rng, p.rps * dt, cdfs, a / (a + b))
            add_histogram(store, "model_prediction_score", ident, SCORE_BUCKETS, drawn, p)
        store.add("model_quality", "model_quality", {**monitor, "model": m.name, "metric": "auc"},
                  np.round(ms.auc, 4))  # fmt: skip
        store.add("model_quality_objective", "model_quality_objective",
                  {**monitor, "model": m.name, "metric": "auc"},
                  np.full(len(dt), m.objective))  # fmt: skip
        for feature, psi in ms.psi.items():
            store.add("model_feature_drift", "model_feature_drift",
                      {**monitor, "model": m.name, "feature": feature, "method": "psi"},
                      np.round(psi, 4))  # fmt: skip
