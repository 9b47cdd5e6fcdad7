"""roga_bench.reporting (under construction)."""
