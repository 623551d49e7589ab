"""Graph nodes: each takes the state (and injected deps) and returns a state update."""
