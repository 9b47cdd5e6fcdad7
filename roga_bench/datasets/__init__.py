"""roga_bench.datasets (under construction)."""
