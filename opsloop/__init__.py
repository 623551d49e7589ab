"""opsloop: an on-call assistant for teams that run ML models in production.

The build maps the folders at the repository root into this package: `agent/` is
`opsloop.agent`, `tools/` is `opsloop.tools`, and so on (see docs/architecture.md).
"""

__version__ = "0.1.0"
