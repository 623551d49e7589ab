"""`opsloop token new NAME`: a personal token for approving through `opsloop serve`."""

from __future__ import annotations

import json
import re
from typing import Annotated

import typer

from opsloop.agent.approvals.people import new_token
from opsloop.agent.cli.common import JsonFlag, out

token_app = typer.Typer(help="Personal tokens: who approves over HTTP (opsloop serve).")


@token_app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="The person, as the approval policy names them.")],
    as_json: JsonFlag = False,
) -> None:
    """Print a fresh token for NAME and the config line that lets the server recognise it.

    Give the token to NAME only; the server's opsloop.toml keeps only its SHA-256.
    """
    token, digest = new_token()
    if as_json:
        print(json.dumps({"name": name, "token": token, "token_sha256": digest}))
        return
    out.print(f"Token for {name} (shown once; give it to {name} only):\n", markup=False)
    print(token)  # plain: copied as is, never wrapped
    out.print("\nAdd to the server's opsloop.toml (then restart `opsloop serve`):\n")
    key = name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)
    print(f'[people.{key}]\ntoken_sha256 = "{digest}"')
    out.print(
        f"\n{name} then sets OPSLOOP_SERVER_URL and OPSLOOP_TOKEN=<token>; "
        "`opsloop approve THREAD` goes through the server, checked against the policy.",
        markup=False,
    )
