"""Statistics of the tables, sweeps and analysis: paired tests, Holm, TOST, power, decisions.

One home for the numbers behind every decision line (``roga_bench.reporting`` keeps tables and
words). Maintained libraries do the work where they can: scipy.stats (``wilcoxon``,
``ttest_1samp``/``ttest_rel``), statsmodels (``ttost_paired``, ``TTestPower``; Holm is
``multipletests(method="holm")`` written out, without its ``gc.collect()`` per call); what none
provides (Wilcoxon's floor and power, TOST power, the trials to decide, the decision rule) is
written here::

    from roga_bench.stats import Comparison, DecisionRule, decide
    rule = DecisionRule(alpha=0.05, margin=1.0)  # margin in AUC points
    for v in decide([Comparison("RoGA vs ERM", roga_aucs, erm_aucs, trials_run=3)], rule):
        print(v.line())

``roga_bench.stats.sequential``: the group-sequential design of ``sweep launch --until_decided``
(planned looks, α spent across them, Holm with α recycling, a sequential TOST).
"""

from roga_bench.stats._decide import (
    DEFAULT_MARGIN,
    Comparison,
    DecisionRule,
    Verdict,
    decide,
)
from roga_bench.stats._power import (
    POWER,
    Need,
    floor_reason,
    min_detectable_effect,
    power_difference,
    power_equivalence,
    trials_to_decide,
)
from roga_bench.stats._tests import (
    ALPHA,
    MIN_WILCOXON_PAIRS,
    PairedTest,
    Tost,
    holm,
    holm_levels,
    paired_test,
    tost_paired,
    wilcoxon_min_p,
)
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
    "ALPHA",
    "DEFAULT_MARGIN",
    "MIN_WILCOXON_PAIRS",
    "POWER",
    "Comparison",
    "DecisionRule",
    "Need",
    "PairedTest",
    "Tost",
    "Verdict",
    "decide",
    "floor_reason",
    "holm",
    "holm_levels",
    "min_detectable_effect",
    "paired_test",
    "power_difference",
    "power_equivalence",
    "tost_paired",
    "trials_to_decide",
    "wilcoxon_min_p",
    "SequentialDesign",
    "SequentialResult",
    "default_looks",
    "fixed_design_trials",
    "look_stats",
    "run_design",
    "simulate_design",
    "t_boundaries",
]
