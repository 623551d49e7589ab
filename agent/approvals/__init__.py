"""Who may approve a write (policy) and the append-only record of every decision (audit)."""
