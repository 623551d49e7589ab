"""The alert path: parse alerts, scope, gather, rank hypotheses, report, propose a fix."""
