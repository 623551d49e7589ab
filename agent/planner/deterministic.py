"""The deterministic brain: a question becomes tool calls without an LLM."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Any

from opsloop.agent.planner import comparison
from opsloop.agent.planner.capabilities import CAPABILITY, INTENT_TOOL, SETUP_HINT
from opsloop.agent.planner.catalog import Catalog
from opsloop.agent.planner.entities import extract, resolve_latency
from opsloop.agent.planner.intents import classify
from opsloop.agent.planner.lexicon import has_phrase, normalise
from opsloop.agent.planner.oncall import ONCALL_BUILDERS
from opsloop.agent.planner.plans import Plan, PlannedCall
from opsloop.agent.planner.timerange import TimeWindow
from opsloop.tools.backends.prometheus.discovery import closest
from opsloop.tools.backends.prometheus.promql import matcher, selector
from opsloop.tools.backends.prometheus.signals import TITLES, build_signal

MAX_CALLS = 6
_ERROR_WORDS = tuple(
    "error|errors|exception|exceptions|stack trace|stacktrace|traceback|5xx|500s|failures|"
    "failing|panic|panics|err|errs|fatal".split("|")
)
_QUOTED = re.compile(r"[\"'“‘`]([^\"'”’`]{2,80})[\"'”’`]")
_CONTAINING = re.compile(r"\b(?:containing|matching|mentioning|with the text|saying)\s+(\S+)")


def plan_question(
    question: str,
    catalog: Catalog,
    now: datetime,
    *,
    tz: tzinfo | None = None,
    available: set[str] | None = None,
) -> Plan:
    """Turn a question into tool calls (or notes) using names discovered by `catalog`."""
    services, models = catalog.services(), catalog.models()
    ent = extract(question, services, models, catalog.metric_names())
    ent.signals = resolve_latency(ent.signals)
    norm = normalise(question)
    intent = classify(norm, ent)
    if ent.metrics and intent in ("metrics", "health", "model_status", "list", "unknown"):
        intent = "metric"  # a metric named verbatim is the most specific thing asked for
    try:
        window = comparison.parse(question, now, tz)
    except ValueError as exc:
        return Plan(
            intent, notes=[f"I could not read the time in your question: {exc}."], entities=ent
        )
    plan = Plan(intent, entities=ent, window=window)
    builder = _BUILDERS.get(intent)
    if builder is None:
        plan.notes.append(_help_text(services, models) if intent == "help" else _unknown(services))
        return plan
    tool = INTENT_TOOL.get(intent)
    if available is not None and tool is not None and tool not in available:
        # Plan the call anyway (routing evals read it) but answer that it is not configured.
        builder(plan, question, norm, catalog)
        plan.unavailable, plan.calls = plan.calls[:MAX_CALLS], []
        plan.notes = [
            f"I can't do that yet: {CAPABILITY.get(tool, tool)} (`{tool}`) is not configured "
            f"in this opsloop installation{SETUP_HINT.get(CAPABILITY.get(tool, ''), '')}."
        ]
        return plan
    builder(plan, question, norm, catalog)
    plan.calls = plan.calls[:MAX_CALLS]
    return plan


def _needs_service(plan: Plan, catalog: Catalog) -> bool:
    """Add a clear note when the question names no known service; return True if so."""
    ent = plan.entities
    if ent.services:
        return False
    services = catalog.services()
    if ent.unknown:
        for name in ent.unknown:
            hint = closest(name, services)
            plan.notes.append(
                f"I don't know a service called '{name}'. "
                + (f"Did you mean {', '.join(hint)}? " if hint else "")
                + f"Known services: {', '.join(services) or 'none found'}."
            )
        return True
    return False


def _metrics(plan: Plan, question: str, norm: str, catalog: Catalog) -> None:
    if _needs_service(plan, catalog):
        return
    ent, tw = plan.entities, plan.window
    targets: list[str | None] = list(ent.services) or [None]
    for service in targets:
        metric_map = catalog.metric_map(service)
        for signal in ent.signals:
            # Restarts are a count over the whole window, so ask for one increase() at the end.
            counting = signal == "restarts"
            built = build_signal(
                signal,
                service,
                metric_map,
                service_label=catalog.service_label,
                window=tw.range if counting else catalog.rate_window,
            )
            who = service or "all services"
            if built is None:
                plan.notes.append(f"{who} exposes no {TITLES[signal]} metric that I recognise.")
                continue
            args = {
                "query": built.promql,
                "range": tw.range,
                "end": tw.end_arg(),
                "instant": tw.instant or counting,
                "title": f"{who} {built.title}",
                "unit": built.unit,
            }
            plan.calls.append(PlannedCall("query_metrics", _compared(args, tw)))


def _metric(plan: Plan, question: str, norm: str, catalog: Catalog) -> None:
    """Query metrics named verbatim, scoped to the named service or model."""
    ent, tw = plan.entities, plan.window
    matchers = [matcher(catalog.service_label, s) for s in ent.services[:1]]
    matchers += [matcher("model", m) for m in ent.models[:1]]
    for name in ent.metrics[:MAX_CALLS]:
        sel = selector(name, matchers)
        by = "model, version" if name.startswith("model_") else catalog.service_label
        window = catalog.rate_window
        if name.endswith("_bucket"):
            query = f"histogram_quantile(0.99, sum by (le) (rate({sel}[{window}])))"
        elif name.endswith(("_total", "_count", "_sum")):
            query = f"sum by ({by}) (rate({sel}[{window}]))"
        else:
            query = sel
        args = {"query": query, "range": tw.range, "end": tw.end_arg(), "instant": tw.instant}
        plan.calls.append(PlannedCall("query_metrics", _compared(args | {"title": name}, tw)))


def _compared(args: dict[str, Any], tw: TimeWindow) -> dict[str, Any]:
    """Add the comparison window a question asks for ("vs yesterday") to query arguments."""
    if offset := tw.compare_arg():
        args["compare"] = offset
    return args


def _health(plan: Plan, question: str, norm: str, catalog: Catalog) -> None:
    if _needs_service(plan, catalog):
        return
    if not plan.entities.services:
        plan.notes.append("Which service? Known services: " + ", ".join(catalog.services()) + ".")
        return
    for service in plan.entities.services:
        plan.calls.append(
            PlannedCall(
                "golden_signals",
                {"service": service, "range": plan.window.range, "end": plan.window.end_arg()},
            )
        )


def _list(plan: Plan, question: str, norm: str, catalog: Catalog) -> None:
    if has_phrase(norm, "metrics") or has_phrase(norm, "metric"):
        args: dict[str, Any] = {}
        if plan.entities.services:
            args["service"] = plan.entities.services[0]
        if match := _QUOTED.search(question) or re.search(r"\bwith (\w+) in", question.lower()):
            args["contains"] = match.group(1)
        plan.calls.append(PlannedCall("list_metrics", args))
    else:
        plan.calls.append(PlannedCall("list_services", {}))


def _scoped(plan: Plan) -> dict[str, Any]:
    """Arguments shared by window-and-service tools: the window and the first service."""
    args: dict[str, Any] = {"range": plan.window.range, "end": plan.window.end_arg()}
    if plan.entities.services:
        args["service"] = plan.entities.services[0]
    return args


def _logs(plan: Plan, question: str, norm: str, catalog: Catalog) -> None:
    if _needs_service(plan, catalog):
        return
    args = _scoped(plan)
    if any(has_phrase(norm, w) for w in ("warn", "warning", "warnings")):
        args["level"] = "warn"
    elif any(has_phrase(norm, w) for w in _ERROR_WORDS):
        args["level"] = "error"
    if match := _QUOTED.search(question) or _CONTAINING.search(question):
        args["query"] = match.group(1)
    plan.calls.append(PlannedCall("search_logs", args))


def _patterns(plan: Plan, question: str, norm: str, catalog: Catalog) -> None:
    if _needs_service(plan, catalog):
        return
    args = _scoped(plan)
    if any(has_phrase(norm, w) for w in _ERROR_WORDS):
        args["level"] = "error"
    plan.calls.append(PlannedCall("log_patterns", args))


def _anomaly(plan: Plan, question: str, norm: str, catalog: Catalog) -> None:
    if _needs_service(plan, catalog):
        return
    args = _scoped(plan)
    if plan.window.instant:  # "anything weird rn?": judge the last minutes, not the hour
        args["range"] = "15m"
    elif not plan.window.explicit:
        args["range"] = "30m"
    if plan.entities.signals:
        args["signal"] = plan.entities.signals[0]
    plan.calls.append(PlannedCall("detect_anomalies", args))


def _forecast(plan: Plan, question: str, norm: str, catalog: Catalog) -> None:
    if _needs_service(plan, catalog):
        return
    signal = next((s for s in plan.entities.signals if s in ("memory", "cpu")), "memory")
    args = {"signal": signal}
    if plan.entities.services:
        args["service"] = plan.entities.services[0]
    plan.calls.append(PlannedCall("forecast", args))


def _model_for(plan: Plan, catalog: Catalog) -> str | None:
    """Return the model a question is about: named, or served by the named service."""
    if plan.entities.models:
        return plan.entities.models[0]
    for service in plan.entities.services:
        served = catalog.models_of(service)
        if len(served) == 1:
            return served[0]
    models = catalog.models()
    return models[0] if len(models) == 1 else None


def _model_call(name: str, needs_model: bool = True):
    def build(plan: Plan, question: str, norm: str, catalog: Catalog) -> None:
        model = _model_for(plan, catalog)
        if model is None and needs_model:
            plan.notes.append(
                "Which model? Known models: " + (", ".join(catalog.models()) or "none found") + "."
            )
            return
        args: dict[str, Any] = {"model": model} if model else {}
        versions = plan.entities.versions
        if name == "compare_model_versions":
            args["version_a"] = versions[0] if versions else None
            args["version_b"] = versions[1] if len(versions) > 1 else None
        elif name == "rollback_model" and versions:
            args["version"] = versions[-1]
        elif name == "retrain_model" and plan.window.explicit:
            args["window"] = plan.window.range
        elif name == "check_drift":
            args["range"] = plan.window.range
        plan.calls.append(PlannedCall(name, args))

    return build


_JOB_ID = re.compile(r"\bJ-[0-9a-f]{4,}\b", re.IGNORECASE)


def _jobs(plan: Plan, question: str, norm: str, catalog: Catalog) -> None:
    args: dict[str, Any] = {}
    if found := _JOB_ID.search(question):
        args["job_id"] = "J-" + found.group()[2:].lower()
    elif plan.entities.models:
        args["model"] = plan.entities.models[0]
    plan.calls.append(PlannedCall("job_status", args))


def _changes(plan: Plan, question: str, norm: str, catalog: Catalog) -> None:
    args: dict[str, Any] = {"range": plan.window.range if plan.window.explicit else "24h"}
    target = (plan.entities.models or plan.entities.services or [None])[0]
    if target:
        args["target"] = target
    plan.calls.append(PlannedCall("recent_changes", args))


def _incidents(plan: Plan, question: str, norm: str, catalog: Catalog) -> None:
    args: dict[str, Any] = {"query": question.strip()}
    if target := (plan.entities.services or plan.entities.models or [None])[0]:
        args["service"] = target
    plan.calls.append(PlannedCall("search_incidents", args))


_BUILDERS = {
    **ONCALL_BUILDERS,
    "metrics": _metrics,
    "metric": _metric,
    "health": _health,
    "list": _list,
    "logs": _logs,
    "patterns": _patterns,
    "anomaly": _anomaly,
    "forecast": _forecast,
    "incidents": _incidents,
    "jobs": _jobs,
    "changes": _changes,
    "drift": _model_call("check_drift"),
    "model_status": _model_call("model_status", needs_model=False),
    "compare": _model_call("compare_model_versions"),
    "retrain": _model_call("retrain_model"),
    "rollback": _model_call("rollback_model"),
    "promote": _model_call("promote_model"),
}


def _help_text(services: list[str], models: list[str]) -> str:
    return (
        "I answer on-call questions from your metrics and act on models with approval. Try:\n"
        '- "p99 latency of checkout over the last hour"\n'
        '- "error rate for fraud-api since 14:00"\n'
        '- "how is recommender doing?"\n'
        '- "which services are there?"\n'
        f"Known services: {', '.join(services) or 'none found'}. "
        f"Known models: {', '.join(models) or 'none found'}."
    )


def _unknown(services: list[str]) -> str:
    return (
        "I couldn't tell what you want to know. Name a service and a signal, e.g. "
        '"p99 latency of checkout last 30m" or "5xx rate of gateway today". '
        f"Known services: {', '.join(services) or 'none found'}. Type `help` for more."
    )
