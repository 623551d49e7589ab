"""Slack ChatOps: the Bolt app (HTTP or Socket Mode), Block Kit, approvals, alert reports.

app.py answers people and builds the app from settings (`build_slack`); actions.py handles
the buttons; reports.py posts alert reports; blocks.py lays messages out; store.py keeps
what must survive a restart.
"""
