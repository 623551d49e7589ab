"""The Model Context Protocol both ways: opsloop's tools served to MCP hosts, and other
MCP servers' tools given to opsloop's brain, with the approval gate on every write."""
