"""The live scan's rows through the offline ranker's scoring core (`rca_peers.peer_table`).

Each move is set against the biggest relative move of the same signal over
all services: the service whose latency doubled beside callers that rose 20 % is where it
starts. `severity` weighs a row by that share, so both rankers judge a move the same way.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from opsloop.agent.rca.evidence import MODEL_SIGNALS
from opsloop.tools.analysis.rca_peers import peer_table


def add_peer_shares(rows: list[dict[str, Any]]) -> None:
    """Set each moved service row's `peer`: its relative shift over its signal's biggest."""
    cells = []
    for i, row in enumerate(rows):
        if row["signal"] in MODEL_SIGNALS or row.get("direction") in (None, "flat"):
            continue
        base = row.get("baseline")
        now = row.get("peak") if row["direction"] == "up" else row.get("current")
        if base is None or now is None:
            continue
        shift = abs(float(now) - float(base))
        cells.append({"row": i, "kind": row["signal"], "shift": shift, "base": float(base)})
    if not cells:
        return
    frame = pd.DataFrame(cells)
    frame["level"] = frame["base"].abs()
    table = peer_table(frame)
    for i, peer in zip(table["row"], table["peer"], strict=True):
        rows[int(i)]["peer"] = round(float(peer), 4)
