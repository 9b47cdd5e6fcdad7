"""Statistics shared by tables, sweeps and analysis.

``roga_bench.stats.sequential``: the group-sequential design of ``sweep launch --until_decided``
(planned looks, α spent across them, Holm with α recycling, a sequential TOST).
"""

from roga_bench.stats.sequential import (
    SequentialDesign,
    SequentialResult,
    default_looks,
    fixed_design_trials,
    look_stats,
    run_design,
    simulate_design,
    t_boundaries,
)

__all__ = [
    "SequentialDesign",
    "SequentialResult",
    "default_looks",
    "fixed_design_trials",
    "look_stats",
    "run_design",
    "simulate_design",
    "t_boundaries",
]
