"""roga_bench.sweep (under construction)."""
