"""Two-pass optimizers as drop-in ``torch.optim.Optimizer`` wrappers over any base optimizer.

``SAM`` (``adaptive=True``: ASAM), ``SAGM``, ``GSAM`` take one closure per step; ``RoGA`` takes one
closure per training domain. Each shares ``param_groups`` and ``state`` with its base optimizer
(LR schedulers and ``state_dict`` work on either object); ``rho``/``alpha`` are group keys.
``disable_running_stats(model)`` is the BatchNorm bypass all of them use for the second pass.
See DESIGN §4 for the maths and the README section "Use the optimizers in your own loop".
"""

from roga_bench.optim._batchnorm import disable_running_stats
from roga_bench.optim._foreach import ETA
from roga_bench.optim._two_pass import TwoPassOptimizer
from roga_bench.optim._wrapper import WrapperOptimizer
from roga_bench.optim.gsam import GSAM
from roga_bench.optim.roga import ALIGN_TARGETS, RoGA
from roga_bench.optim.sagm import SAGM
from roga_bench.optim.sam import SAM

__all__ = [
    "ALIGN_TARGETS",
    "ETA",
    "GSAM",
    "RoGA",
    "SAGM",
    "SAM",
    "TwoPassOptimizer",
    "WrapperOptimizer",
    "disable_running_stats",
]
