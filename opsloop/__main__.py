"""`python -m opsloop`: the same as the `opsloop` command."""

from opsloop.agent.cli.main import main

main()
