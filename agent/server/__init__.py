"""`opsloop serve`: the HTTP intake, the durable incident queue and its workers."""
