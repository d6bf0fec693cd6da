"""Drafting a plan from call notes: extractors (pure; the default one offline and
deterministic, an optional LLM one behind the same interface), and how a
proposal compares to an expected plan (the benchmark and its floor test)."""
