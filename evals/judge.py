"""An LLM judge of answer correctness (strict or loose), used only when a model is configured.

The deterministic scorers decide CI; the judge adds a graded opinion with its reasoning.
A reply that is not the JSON asked for counts as "not judged", never as correct.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from opsloop import prompts

MODES = ("strict", "loose")
_OBJECT = re.compile(r"\{.*\}", re.S)


@dataclass
class Judge:
    """Grade (question, reference, answer) with a chat model."""

    model: BaseChatModel
    mode: str = "strict"

    @classmethod
    def from_settings(cls, settings: Any, mode: str = "strict") -> Judge:
        """Use the configured OpenAI-compatible endpoint as the judge."""
        from opsloop.agent.llm.client import make_llm

        named = settings.model_copy(update={"llm_model": settings.judge_model})
        model = make_llm(named if settings.judge_model else settings)
        if model is None:
            raise ValueError("no LLM endpoint is configured for the judge (OPSLOOP_LLM_BASE_URL)")
        return cls(model, mode)

    def __call__(self, question: str, answer: str, reference: str = "") -> dict[str, Any]:
        """Return {"correct": bool, "reasoning": str, "mode": str, "judged": bool}."""
        if self.mode not in MODES:
            raise ValueError(f"judge mode must be strict or loose, not {self.mode!r}")
        system = prompts.render("judge", mode=self.mode)
        user = json.dumps({"question": question, "reference": reference, "answer": answer})
        try:
            reply = self.model.invoke([SystemMessage(system), HumanMessage(user)])
            found = _OBJECT.search(str(reply.content))
            verdict = json.loads(found.group(0)) if found else {}
        except Exception as exc:  # a dead judge must not fail the deterministic suite
            return {"correct": False, "judged": False, "mode": self.mode, "reasoning": str(exc)}
        if not isinstance(verdict.get("correct"), bool):
            said = str(reply.content)[:200]
            return {"correct": False, "judged": False, "mode": self.mode,
                    "reasoning": f"the judge did not answer in JSON: {said}"}  # fmt: skip
        return {
            "correct": verdict["correct"],
            "judged": True,
            "mode": self.mode,
            "reasoning": str(verdict.get("reasoning", ""))[:1000],
        }
