"""Two-pass optimizers as drop-in ``torch.optim.Optimizer`` wrappers over any base optimizer.

``SAM`` (``adaptive=True``: ASAM), ``SAGM``, ``GSAM`` and ``LookSAM`` take one closure per step;
``RoGA`` and ``RoGALook`` take one closure per training domain (``RoGALook`` also a ``joint`` one
for its reuse steps). ``RhoFollowsLR`` makes ρ follow the learning rate (GSAM's
schedule) for any of them. Each shares ``param_groups`` and ``state`` with its base optimizer
(LR schedulers and ``state_dict`` work on either object); ``rho``/``alpha`` are group keys.
``disable_running_stats(model)`` is the BatchNorm bypass all of them use for the second pass.
See DESIGN §4 for the maths and the README section "Use the optimizers in your own loop".
"""

from roga_bench.optim._batchnorm import disable_running_stats
from roga_bench.optim._foreach import ETA
from roga_bench.optim._two_pass import TwoPassOptimizer
from roga_bench.optim._wrapper import WrapperOptimizer
from roga_bench.optim.gsam import GSAM
from roga_bench.optim.looksam import LOOKSAM_ALPHA, LOOKSAM_K, LookSAM
from roga_bench.optim.roga import ALIGN_TARGETS, RoGA
from roga_bench.optim.roga_look import RoGALook
from roga_bench.optim.sagm import SAGM
from roga_bench.optim.sam import ADAPTIVE_RULES, ASAM_RHO, SAM, SAM_RHO
from roga_bench.optim.schedule import RhoFollowsLR

__all__ = [
    "ADAPTIVE_RULES",
    "ALIGN_TARGETS",
    "ASAM_RHO",
    "ETA",
    "GSAM",
    "LOOKSAM_ALPHA",
    "LOOKSAM_K",
    "LookSAM",
    "RhoFollowsLR",
    "RoGA",
    "RoGALook",
    "SAGM",
    "SAM",
    "SAM_RHO",
    "TwoPassOptimizer",
    "WrapperOptimizer",
    "disable_running_stats",
]
