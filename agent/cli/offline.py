"""Commands over files, no backend needed: `opsloop detect` and `opsloop logs templates`."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from opsloop.agent.cli.common import JsonFlag, fail


def detect(
    csv_path: Annotated[
        Path, typer.Option("--csv", help="A `timestamp,value` table (the NAB convention).")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Score every row for anomaly in [0,1], each from that row and earlier rows only."""
    from opsloop.tools.analysis.detectors.streaming import read_nab_csv, score_series

    try:
        timestamps, values = read_nab_csv(csv_path)
    except OSError as exc:
        raise fail(f"cannot read {csv_path}: {exc.strerror}") from None
    except (ValueError, IndexError) as exc:
        raise fail(f"{csv_path} is not a `timestamp,value` table: {exc}") from None
    scores = score_series(timestamps, values)
    if as_json:
        print(json.dumps({"scores": [round(float(s), 6) for s in scores]}))
        return
    with csv_path.open(newline="") as handle:
        rows = [row for row in csv.reader(handle) if row][1:]
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["timestamp", "value", "anomaly_score"])
    for row, score in zip(rows, scores, strict=True):
        writer.writerow([row[0], row[1] if len(row) > 1 else "", f"{float(score):.6f}"])


logs_app = typer.Typer(help="Work with log files.", no_args_is_help=True)


@logs_app.command("templates")
def logs_templates(
    path: Annotated[Path, typer.Argument(help="A log file, any common format or JSON lines.")],
    as_json: JsonFlag = False,
) -> None:
    """Mine message templates: print each line's template id and template."""
    from opsloop.tools.analysis.logtemplates import mine

    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from None
    ids, templates = mine(lines)
    text = {t.id: t.text for t in templates}
    if as_json:
        print(
            json.dumps(
                {
                    "lines": [
                        {"line": i + 1, "template_id": tid, "template": text[tid]}
                        for i, tid in enumerate(ids)
                    ],
                    "templates": [
                        {"id": t.id, "template": t.text, "count": t.count} for t in templates
                    ],
                }
            )
        )
        return
    sys.stdout.writelines(f"{tid}\t{text[tid]}\n" for tid in ids)
