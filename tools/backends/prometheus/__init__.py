"""Prometheus: the HTTP client, PromQL text, signal recipes, name discovery, links."""
