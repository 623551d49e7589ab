"""opsloop's tools: what the model calls (toolsets/), the clients behind them (backends/),
pure analysis (analysis/), and the contract every tool follows (base.py)."""
