"""The LangGraph state machine: state, dependencies, wiring, and the question path's nodes."""
