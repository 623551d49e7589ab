"""The incident console: server-rendered pages for incidents, their evidence and approvals."""
