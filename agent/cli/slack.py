"""`opsloop slack …`: the app manifest to install opsloop in a Slack workspace."""

from __future__ import annotations

import json
from importlib import resources
from typing import Annotated, Any

import typer
import yaml

from opsloop.agent.cli.common import JsonFlag, fail

slack_app = typer.Typer(help="Install and check the Slack app.", no_args_is_help=True)
EXAMPLE_URL = "https://opsloop.example.com/slack/events"


def manifest(url: str | None = None, socket: bool = False) -> dict[str, Any]:
    """Return the app manifest, pointed at `url` (HTTP mode) or set up for Socket Mode."""
    text = resources.files("opsloop.agent.slack").joinpath("manifest.yaml").read_text()
    data = yaml.safe_load(text)
    settings, command = data["settings"], data["features"]["slash_commands"][0]
    if socket:
        settings["socket_mode_enabled"] = True
        settings["event_subscriptions"].pop("request_url", None)
        settings["interactivity"].pop("request_url", None)
        command.pop("url", None)
        return data
    target = (url or EXAMPLE_URL).rstrip("/")
    if not target.endswith("/slack/events"):
        target += "/slack/events"
    settings["event_subscriptions"]["request_url"] = target
    settings["interactivity"]["request_url"] = target
    command["url"] = target
    return data


@slack_app.command("manifest")
def manifest_command(
    url: Annotated[
        str | None,
        typer.Option(help="Public base URL of opsloop serve, e.g. https://opsloop.corp.example"),
    ] = None,
    socket: Annotated[
        bool, typer.Option("--socket", help="Socket Mode: no public URL, an app token instead.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Print the Slack app manifest (paste it at api.slack.com/apps → From a manifest)."""
    if url and socket:
        raise fail("choose --url (HTTP mode) or --socket (Socket Mode), not both")
    if url and not url.startswith("https://"):
        raise fail(f"Slack only calls https:// URLs; got {url!r}")
    data = manifest(url, socket)
    if as_json:
        print(json.dumps(data, indent=2))
    else:
        print(yaml.safe_dump(data, sort_keys=False, width=100), end="")
