"""opsloop tools: one module per backend or capability, each a typed LangChain tool."""
