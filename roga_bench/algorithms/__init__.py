"""DomainBed algorithms: ERM, SAM, ASAM, SAGM, GSAM, LookSAM, RoGA, RoGA_Robust, RoGA_Align,
RoGA_Look.

Each is registered in ``roga_bench._registry.ALGORITHMS`` and declares its hparams next to its
class. Look one up with ``get_algorithm_class("RoGA")``; list with ``list_algorithms("RoGA*")``.
"""

from roga_bench._registry import ALGORITHMS, list_algorithms, register_algorithm
from roga_bench.algorithms._base import Algorithm, build_base_optimizer
from roga_bench.algorithms.erm import ERM
from roga_bench.algorithms.roga import RoGA, RoGA_Align, RoGA_Look, RoGA_Robust
from roga_bench.algorithms.sharpness import ASAM, GSAM, SAGM, SAM, LookSAM

__all__ = [
    "ASAM",
    "Algorithm",
    "ERM",
    "GSAM",
    "LookSAM",
    "RoGA",
    "RoGA_Align",
    "RoGA_Look",
    "RoGA_Robust",
    "SAGM",
    "SAM",
    "build_base_optimizer",
    "get_algorithm_class",
    "list_algorithms",
    "register_algorithm",
]


def get_algorithm_class(name: str) -> type[Algorithm]:
    """The registered algorithm class called ``name``.

    Raises:
        UnknownNameError: (a KeyError) whose message lists the registered names.
    """
    return ALGORITHMS.get(name)
