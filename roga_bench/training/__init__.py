"""roga_bench.training (under construction)."""
