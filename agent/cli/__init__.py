"""The `opsloop` command line: one module per command group, the chat REPL, rendering."""
