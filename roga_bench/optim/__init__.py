"""roga_bench.optim (under construction)."""
