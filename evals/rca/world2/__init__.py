"""World 2: an independent RCA eval world, written from docs/conventions.md alone.

A marketplace (edge-proxy, orders ⇄ inventory, payments, search, ranking, catalog, notifier,
retention; PostgreSQL `pg-main` and the external API `paygate` seen only by their clients;
models `search-ranker` and `churn-scorer`) whose history is generated with one fault injected,
backfilled into a fresh Prometheus, and investigated through opsloop's public API with the
alerts its rules (rules.yaml) would fire. Scored with the sandbox eval's `judge()` and
`summarise()`, so both worlds' figures compare.

    python -m opsloop.evals.rca.world2 [--seeds N] [--case NAME] [--json]

Modules: world (services, models, topology), cases (cases.yaml, rules.yaml), plan (a seed's
timeline and pods), dynamics / propagate / modelmon (the simulation), export_http /
export_k8s (the exporters' series), store (OpenMetrics), generate, firing (rule replay and
webhook payloads), runner.
"""
