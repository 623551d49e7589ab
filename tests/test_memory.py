"""Incident memory on a real Chroma store: offline embeddings, search, updates, import, recall."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from opsloop.agent.cli.main import app
from opsloop.agent.stores.embeddings import HashingEmbedding, embed, make_embedding
from opsloop.agent.stores.memory import Incident, IncidentMemory, parse_postmortem
from opsloop.evals.memory import run as run_eval

POSTMORTEM = """---
id: PM-7
date: 2026-10-02
services: [fraud-api]
models: fraud-detector
root_cause_kind: model_version
root_cause_target: fraud-detector
---
# fraud-detector v8 approved every transaction

## Root cause
Version 8 was trained with device_score inverted.

## Resolution
Rolled back fraud-detector 8 → 7.
"""


@pytest.fixture
def memory(tmp_path: Path) -> IncidentMemory:
    m = IncidentMemory.open(tmp_path / "memory")
    m.add(
        Incident(
            id="INC-1",
            title="checkout pods OOMKilled",
            text="MemorySaturation on checkout: OOMKilled every 40 min after deploy 2.3.1",
            services=["checkout"],
            cause_kind="service",
            cause_target="checkout",
            resolution="rolled back checkout 2.3.1",
            outcome="resolved",
        )
    )
    m.add(Incident(id="INC-2", title="postgres disk full", text="WAL filled the disk on db-1"))
    return m


def test_embedding_is_offline_deterministic_and_unit_length():
    a, b = embed("fraud-api ModelQualityDrop"), embed("fraud-api ModelQualityDrop")
    assert np.array_equal(a, b) and abs(float(np.linalg.norm(a)) - 1.0) < 1e-6
    # camel case and hyphenated names share features with their spelled-out words
    near = float(embed("ModelQualityDrop on fraud-api") @ embed("model quality drop fraud api"))
    far = float(embed("ModelQualityDrop on fraud-api") @ embed("disk full on postgres"))
    assert near > 0.3 > far
    ef = HashingEmbedding.build_from_config(HashingEmbedding(256).get_config())
    assert ef.dims == 256 and len(ef(["x"])[0]) == 256
    with pytest.raises(ValueError, match="unknown memory embedding"):
        make_embedding("word2vec")


def test_search_finds_the_same_cause_and_nothing_unrelated(memory):
    [hit] = memory.search("checkout containers keep getting OOMKilled, memory climbing", k=3)
    assert hit.incident.id == "INC-1" and hit.score >= memory.threshold
    assert hit.incident.resolution == "rolled back checkout 2.3.1"
    assert hit.incident.services == ["checkout"]
    assert memory.search("SAML login loop on the admin console") == []
    assert memory.search("   ") == []


def test_update_feedback_forget_and_list(memory):
    updated = memory.update("INC-2", feedback="root cause was a stuck replication slot")
    memory.update("INC-2", feedback="confirmed by the DBA", cause_kind="infra")
    again = memory.get("INC-2")
    assert again.feedback == "root cause was a stuck replication slot; confirmed by the DBA"
    assert again.cause_kind == "infra" and updated.id == "INC-2"
    assert memory.search("replication slot stuck on postgres")[0].incident.id == "INC-2"
    with pytest.raises(KeyError):
        memory.update("INC-404", feedback="x")
    assert {i.id for i in memory.list()} == {"INC-1", "INC-2"}
    assert memory.forget("INC-2") and not memory.forget("INC-2") and memory.count() == 1


def test_records_survive_reopening(tmp_path, memory):
    reopened = IncidentMemory.open(tmp_path / "memory")
    assert reopened.count() == 2 and reopened.get("INC-1").title == "checkout pods OOMKilled"


def test_postmortem_front_matter_and_sections():
    inc = parse_postmortem(POSTMORTEM, "fallback")
    assert (inc.id, inc.title, inc.cause_kind, inc.cause_target) == (
        "PM-7",
        "fraud-detector v8 approved every transaction",
        "model_version",
        "fraud-detector",
    )
    assert inc.resolution == "Rolled back fraud-detector 8 → 7."
    assert inc.services == ["fraud-api"] and inc.models == ["fraud-detector"]
    assert inc.when == "2026-10-02" and inc.source == "postmortem"
    bare = parse_postmortem("# Kafka lag\n\nConsumers fell behind.", "2026-01-kafka")
    assert bare.id == "2026-01-kafka" and bare.title == "Kafka lag"


def test_memory_commands(tmp_path, opsloop_home):
    (tmp_path / "pm").mkdir()
    (tmp_path / "pm" / "fraud.md").write_text(POSTMORTEM)
    runner = CliRunner()
    assert runner.invoke(app, ["memory", "import", str(tmp_path / "pm")]).exit_code == 0
    found = runner.invoke(app, ["memory", "search", "fraud-detector approving fraud", "--json"])
    assert found.exit_code == 0 and '"PM-7"' in found.stdout
    feedback = runner.invoke(app, ["memory", "feedback", "PM-7", "root cause confirmed"])
    assert feedback.exit_code == 0
    listed = runner.invoke(app, ["memory", "list", "--json"])
    assert "root cause confirmed" in listed.stdout
    assert runner.invoke(app, ["memory", "forget", "PM-7"]).exit_code == 0
    missing = runner.invoke(app, ["memory", "forget", "PM-7"])
    assert missing.exit_code == 2 and "no incident PM-7" in missing.stderr


def test_memory_eval_meets_the_bar():
    report = run_eval()
    assert report["incidents"] >= 40 and report["no_match_queries"] >= 10
    assert report["recall_at_3"] >= 0.9, report["misses"]
    assert report["no_match_clean"], report["false_matches"]


def test_paraphrases_name_stored_incidents_and_the_suite_keeps_hashing_names(monkeypatch):
    from opsloop.evals import memory as memory_eval
    from opsloop.evals.suites import run_memory

    stored = {case["id"] for case in memory_eval.load()["incidents"]}
    queries = memory_eval.load(memory_eval.PARAPHRASES)["paraphrases"]
    assert len(queries) >= 40 and {q["id"] for q in queries} <= stored
    report = memory_eval.run_paraphrases(embedding="hashing")
    assert report["queries"] == len(queries)
    assert report["recall_at_1"] <= report["recall_at_3"] <= report["ranked_recall_at_3"]
    monkeypatch.setattr(memory_eval, "embeddings", lambda: ["hashing"])
    metrics = run_memory(lambda _: None)["metrics"]
    assert {"recall_at_1", "recall_at_3", "paraphrase_recall_at_3"} <= set(metrics)
    assert not any(name.startswith("minilm_") for name in metrics)


def test_only_incident_conversations_are_remembered_and_recalled(settings):
    from opsloop.agent.assistant import Assistant
    from opsloop.agent.factory import build_deps

    assistant = Assistant(build_deps(settings))
    plain = assistant.ask("any errors in checkout logs in the last hour?")
    assert plain["tool_calls"][0]["name"] == "search_logs"
    assert assistant.deps.memory.get(f"Q-{plain['thread_id']}") is None  # a plain question
    first = assistant.ask("why is checkout failing? any errors in its logs in the last hour?")
    assert first["tool_calls"][0]["name"] == "search_logs"
    record = assistant.deps.memory.get(f"Q-{first['thread_id']}")
    assert record is not None and record.services == ["checkout"]
    second = assistant.ask("why does checkout fail? errors in the checkout logs since this morning")
    assert "Similar past incidents: Q-" in second["answer"]
    assert plain["thread_id"] not in second["answer"]
    assert second["evals"]["grounded"], second
    found = assistant.ask("has this happened before with checkout errors in logs")
    assert found["tool_calls"][0]["name"] == "search_incidents"
    assert found["tool_calls"][0]["status"] == "ok"


def test_plain_questions_of_older_stores_leave_similarity_search(tmp_path: Path):
    old = IncidentMemory.open(tmp_path / "m")
    meta = Incident(id="x", title="", text="").metadata()
    del meta["kind"]  # written before memory held incidents only
    old.collection.upsert(
        ids=["Q-plain", "Q-fixed", "INC-9"],
        documents=["what changed in the last hour on checkout"] * 3,
        metadatas=[
            {**meta, "outcome": "answered"},
            {**meta, "outcome": "answered", "resolution": "rolled back checkout"},
            {**meta, "outcome": "resolved"},
        ],
    )
    memory = IncidentMemory.open(tmp_path / "m")
    hits = {m.incident.id for m in memory.search("what changed on checkout", k=5, threshold=0)}
    assert hits == {"Q-fixed", "INC-9"}
    assert memory.get("Q-plain").kind == "question" and memory.count() == 3


def test_updates_do_not_grow_the_record(memory):
    before = memory.get("INC-1")
    for _ in range(3):
        memory.update("INC-1", resolution="rolled back checkout 2.3.1")
    after = memory.get("INC-1")
    assert after.text == before.text and after.document() == before.document()


def test_past_incidents_quoted_in_a_report_are_not_this_incidents_claims():
    from types import SimpleNamespace

    from opsloop.agent.graph.nodes.check import UNVERIFIED, check_node

    past = "INC-3 on 2026-10-02 — fraud-detector online auc 0.601 is below its objective"
    deps = SimpleNamespace(
        tools={},
        catalog=SimpleNamespace(services=lambda: ["fraud-api"], models=lambda: []),
        llm=None,
        is_write=lambda _name: False,
    )
    state = {
        "answer": f"Similar past incidents:\n- {past}\n\nOnline auc is 0.7 [E1].",
        "evidence": [{"id": "E1", "tool": "t", "query": "q", "summary": "online auc 0.7"}],
        "incidents": [{"id": "INC-3", "line": past}],
        "tool_calls": [],
    }
    checked = check_node(state, {"configurable": {"thread_id": "inc-1"}}, deps)
    assert UNVERIFIED not in checked["answer"] and checked["evals"]["grounded"], checked
    state["answer"] += " It was 0.601 last time."  # this answer's own claim is still checked
    assert not check_node(state, {"configurable": {}}, deps)["evals"]["grounded"]
