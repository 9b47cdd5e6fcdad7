"""roga_bench.algorithms (under construction)."""
