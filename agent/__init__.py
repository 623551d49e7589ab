"""The assistant: the graph and its two paths (question, alert), and every way in and out.

Folders by purpose (docs/architecture.md): graph/ the state machine and the question path,
rca/ the alert path, planner/ the deterministic brain, llm/ the LLM brain, grounding/ the
self-check, stores/ and approvals/ what is kept, server/ the HTTP intake, cli/ and slack/
the interfaces.
"""
