"""Answers eval: questions asked of the live sandbox, scored on tools, facts and grounding.

The sandbox runs `questions.yaml`'s scenario; once its alert fires, every question is asked
through the real graph (deterministic brain, or the LLM brain driven by a scripted model
that makes the case's tool calls and answers from their results). Facts are resolved from
the sandbox at answer time: live PromQL values, the registry's champion, the scenario's
ground truth. An optional LLM judge grades correctness when a judge model is configured.
"""

from __future__ import annotations

import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import yaml
from langchain_core.messages import BaseMessage, ToolMessage

from opsloop.agent.llm.scripted import ScriptedChatModel, tool_call
from opsloop.evals import scorers

READY_DEADLINE_S = 240.0
_EVIDENCE_ID = re.compile(r"\[(E\d+)\]")


def load(name: str = "questions") -> dict[str, Any]:
    """Read an answers dataset shipped with opsloop."""
    return yaml.safe_load(resources.files(__package__).joinpath(f"{name}.yaml").read_text())


def scripted_model(script: list[list[dict[str, Any]]]) -> ScriptedChatModel:
    """Return a model that makes the script's tool calls, then answers from their results."""
    turns: list[Any] = [[tool_call(c["name"], **(c.get("args") or {})) for c in t] for t in script]
    return ScriptedChatModel().enqueue(*turns, _answer_from_tools)


def _answer_from_tools(messages: list[BaseMessage]) -> str:
    """Answer with what the tools said, each line citing its evidence (as a model would)."""
    lines = []
    for message in messages:
        if not isinstance(message, ToolMessage):
            continue
        text = str(message.content)
        body, _, cites = text.partition("\nevidence to cite: ")
        summary = body.split("\n", 1)[1] if body.startswith("status:") and "\n" in body else body
        cite = " ".join(f"[{e}]" for e in dict.fromkeys(_EVIDENCE_ID.findall(cites)))
        lines.append(f"{summary.strip()} {cite}".strip())
    return "\n".join(lines) or "The tools returned nothing."


class Truth:
    """Ground truth read from the running sandbox."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self.prometheus = state["urls"]["prometheus"]

    def promql(self, expr: str) -> float | None:
        resp = httpx.get(f"{self.prometheus}/api/v1/query", params={"query": expr}, timeout=10)
        result = resp.json()["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    def champion(self, model: str) -> str:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=self.state["mlflow"]["tracking_uri"])
        return str(client.get_model_version_by_alias(model, "champion").version)

    def resolve(self, fact: dict[str, Any]) -> dict[str, Any]:
        """Turn a fact about the sandbox into a plain fact (contains / any_of / number)."""
        if "promql" in fact:
            value = self.promql(fact["promql"])
            if value is None:
                return {"contains": f"(no data for {fact['promql']})"}
            scaled = value * float(fact.get("scale", 1.0))
            return {"number": scaled, "tolerance": fact.get("tolerance", 0.15)}
        if "champion" in fact:
            v = self.champion(fact["champion"])
            return {"any_of": [f"v{v}", f"version {v}", f"version: {v}", f"→ {v}"]}
        if "truth" in fact:
            return {"contains": self.state["ground_truth"][fact["truth"]]}
        return fact


@contextmanager
def sandbox(scenario: str, ready_alert: str | None, seed: int | None = None) -> Iterator[dict]:
    """Run the scenario in a fresh home until its alert fires; yield the sandbox state."""
    from opsloop.sandbox.manager import down, up

    with tempfile.TemporaryDirectory(prefix="opsloop-answers-eval-") as tmp:
        home = Path(tmp)
        old = os.environ.get("OPSLOOP_HOME")
        os.environ["OPSLOOP_HOME"] = str(home)
        try:
            state = up(home, scenario, seed=seed)
            try:
                if ready_alert:
                    _wait_alert(state["urls"]["prometheus"], ready_alert)
                yield {**state, "home": str(home)}
            finally:
                down(home)
        finally:
            if old is None:
                os.environ.pop("OPSLOOP_HOME", None)
            else:
                os.environ["OPSLOOP_HOME"] = old


def _wait_alert(prometheus: str, name: str) -> None:
    deadline = time.monotonic() + READY_DEADLINE_S
    query = f'ALERTS{{alertname="{name}",alertstate="firing"}}'
    while time.monotonic() < deadline:
        got = httpx.get(f"{prometheus}/api/v1/query", params={"query": query}, timeout=10)
        if got.json()["data"]["result"]:
            return
        time.sleep(1)
    raise TimeoutError(f"{name} did not fire within {READY_DEADLINE_S:.0f} s")


def _wait_notified(alertmanager: str) -> None:
    """Wait until Alertmanager holds a firing alert (Prometheus sends it every second)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = httpx.get(f"{alertmanager}/api/v2/alerts", params={"active": "true"}, timeout=10)
        if got.json():
            return
        time.sleep(1)
    raise TimeoutError("Alertmanager holds no firing alert after 60 s")


def ask(case: dict[str, Any], home: Path) -> dict[str, Any]:
    """Ask one case's question with its brain; return the answer JSON."""
    from opsloop.agent.assistant import Assistant
    from opsloop.agent.config import Settings
    from opsloop.agent.factory import build_deps

    settings = Settings(home=home)
    llm = scripted_model(case.get("script") or []) if case.get("brain") == "llm" else None
    assistant = Assistant(build_deps(settings, llm=llm))
    try:
        return assistant.ask(case["q"])
    finally:
        assistant.close()


def score_case(case: dict[str, Any], result: dict[str, Any], truth: Truth) -> dict[str, Any]:
    """Score one answer: trajectory, facts, groundedness and policy."""
    mode = case.get("mode", "superset")
    checks = [
        scorers.trajectory(result.get("tool_calls", []), case.get("tools") or [], mode),
        scorers.facts(result.get("answer", ""), [truth.resolve(f) for f in case.get("facts", [])]),
        # A paused write's text is its dry run (tool output); the self-check runs after it.
        scorers.Score("groundedness", True, 1.0)
        if result.get("approval")
        else scorers.groundedness(result),
        scorers.policy(result),
    ]
    return {
        "q": case["q"],
        "brain": case.get("brain", "deterministic"),
        "ok": all(c.ok for c in checks),
        "scores": {c.name.split("_")[0]: c.value for c in checks},
        "passed": {c.name.split("_")[0]: c.ok for c in checks},
        "problems": [p for c in checks for p in c.problems],
        "tools": [c["name"] for c in result.get("tool_calls", [])],
        "latency_s": float(result.get("usage", {}).get("latency_s", 0.0)),
        "tokens": int(result.get("usage", {}).get("input_tokens", 0))
        + int(result.get("usage", {}).get("output_tokens", 0)),
        "answer": result.get("answer", "")[:600],
    }


def run(
    dataset: str = "questions",
    progress: Callable[[str], None] = lambda _: None,
    judge: Callable[[str, str, str], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Bring the scenario up, ask every question, and summarise the scores."""
    data = load(dataset)
    cases = []
    with sandbox(data["scenario"], data.get("ready_alert")) as state:
        truth = Truth(state)
        if data.get("queue"):
            from opsloop.agent.config import Settings
            from opsloop.evals.answers.queue import open_incident

            _wait_notified(state["urls"]["alertmanager"])
            open_incident(Settings(home=Path(state["home"])), state["urls"]["alertmanager"])
        for case in data["cases"]:
            result = ask(case, Path(state["home"]))
            scored = score_case(case, result, truth)
            if judge is not None:
                reference = "\n".join(e["summary"] for e in result.get("evidence", []))
                scored["judge"] = judge(case["q"], result.get("answer", ""), reference)
            cases.append(scored)
            mark = "✓" if scored["ok"] else "✗ " + "; ".join(scored["problems"])[:160]
            progress(f"[{scored['brain'][:3]}] {case['q']}: {mark}")
    return summarise(cases, dataset)


def summarise(cases: list[dict[str, Any]], dataset: str = "questions") -> dict[str, Any]:
    """Return the suite's metrics: pass rates per scorer, overall and per brain, latency."""

    def rate(group: list[dict[str, Any]], key: str) -> float:
        return round(sum(c["passed"][key] for c in group) / len(group), 4) if group else 0.0

    metrics: dict[str, float] = {"cases": float(len(cases))}
    for key in ("trajectory", "facts", "groundedness", "policy"):
        metrics[f"{key}_pass_rate"] = rate(cases, key)
    metrics["pass_rate"] = round(sum(c["ok"] for c in cases) / len(cases), 4) if cases else 0.0
    for brain in ("deterministic", "llm"):
        group = [c for c in cases if c["brain"] == brain]
        metrics[f"pass_rate_{brain}"] = (
            round(sum(c["ok"] for c in group) / len(group), 4) if group else 0.0
        )
    latencies = sorted(c["latency_s"] for c in cases)
    if latencies:
        metrics["latency_median_s"] = round(statistics.median(latencies), 3)
        metrics["latency_p95_s"] = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    judged = [c["judge"] for c in cases if c.get("judge")]
    if judged:
        metrics["judge_correct_rate"] = round(sum(j["correct"] for j in judged) / len(judged), 4)
        metrics["judge_judged_rate"] = round(sum(j["judged"] for j in judged) / len(judged), 4)
    return {
        "suite": "answers",
        "dataset": dataset,
        "metrics": metrics,
        "cases": cases,
        "failures": [c for c in cases if not c["ok"]],
    }
