"""The RoGA paper's Tables I–VI, declared once: families, each table's rows, the runs it reads.

Everything else in ``roga_bench.paper`` reads these names: the builders (``_tables``,
``_indomain``), the mapping of the paper's labels onto ours (``ROW_MAP``, ``PAPER_COLUMNS``, used
by ``_reported`` and ``_reproduce``), the suite's blocks (``paper_blocks``, what ``python -m
roga_bench.sweep launch --suite paper`` runs) and the demo sweep (``testing``). Changing a table's
rows, grid or backbones is a change here; e.g. Table VI's α × ρ grid is ``SENSITIVITY_GRID``.

Families: a dataset family (``FFpp``, ``SynthFF``) names its datasets by role
(``roga_bench.sweep.FAMILIES``); the environments of each dataset are reporting's
``KNOWN_ENVIRONMENTS``; what the paper calls them is ``PAPER_COLUMNS`` here.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from roga_bench.reporting import KNOWN_ENVIRONMENTS
from roga_bench.sweep import FAMILIES, Block

__all__ = [
    "ABLATION",
    "ADAM_LR",
    "CELEBDF",
    "CHEAP",
    "CROSS_ORDER",
    "GID",
    "GID_ALGORITHMS",
    "GID_DF_OPTIMIZERS",
    "GRID_SYMBOLS",
    "OPTIMIZERS",
    "OURS_ALGORITHMS",
    "OURS_OPTIMIZERS",
    "PAPER_BACKBONES",
    "PAPER_COLUMNS",
    "ROW_MAP",
    "SENSITIVITY_GRID",
    "TABLE_NUMBERS",
    "TABLE_V_BACKBONES",
    "UADFV",
    "grid_label",
    "our_column_name",
    "paper_blocks",
]

TABLE_NUMBERS = ("I", "II", "III", "IV", "V", "VI")  # DESIGN §7's numbering

# --- families -------------------------------------------------------------------------------
#: the four manipulations (the LOMO envs, the GID columns)
GID = list(KNOWN_ENVIRONMENTS[FAMILIES["FFpp"]["LOMO"]])
#: each family's cross-dataset targets in the paper's column order (Table I)
CROSS_ORDER = {
    family: list(KNOWN_ENVIRONMENTS[roles["CrossDataset"]][len(GID) :])
    for family, roles in FAMILIES.items()
}
#: the paper's column name -> ours, per family (a name not listed is the same in both). On
#: SynthFF, DF..NT keep their names; CDF-v1 and DFDCP have no counterpart.
PAPER_COLUMNS = {
    "FFpp": {"CelebDF": "CDF-v2"},
    "SynthFF": {
        "CDF-v2": "SynthCDF",
        "CelebDF": "SynthCDF",
        "UADFV": "SynthUADFV",
        "DFDC": "SynthDFDC",
    },
}


def our_column_name(family: str, paper_column: str) -> str:
    """Our environment for the paper's column ``paper_column`` on ``family``."""
    return PAPER_COLUMNS.get(family, {}).get(paper_column, paper_column)


UADFV = {family: our_column_name(family, "UADFV") for family in PAPER_COLUMNS}
CELEBDF = {family: our_column_name(family, "CelebDF") for family in PAPER_COLUMNS}

# --- Table I (cross-dataset) and II (GID) ---------------------------------------------------
GID_ALGORITHMS = ("ERM", "SAM", "SAGM", "RoGA")  # Table II's rows

# --- Table III (ablation): (paper's row, our row, algorithm) ----------------------------------
ABLATION = [
    ("Base-optimizer (SGD)", "base optimizer (ERM)", "ERM"),
    ("+ robust term", "+robust (RoGA_Robust)", "RoGA_Robust"),
    ("+ alignment term", "+align (RoGA_Align)", "RoGA_Align"),
    ("RoGA", "RoGA", "RoGA"),
]

# --- Table IV (optimizers): (our row, algorithm) ----------------------------------------------
OPTIMIZERS = [
    ("Adam", "ERM (Adam)"),
    ("SGD", "ERM"),
    ("SAM", "SAM"),
    ("ASAM", "ASAM"),
    ("SAGM", "SAGM"),
    ("GSAM", "GSAM"),
    ("RoGA", "RoGA"),
]
# Extra rows, ours and not in the paper (issue 26): shown only when their runs exist, never given
# paper numbers (ROW_MAP has none for them), run at k = 5 (the cheap sharpness-aware optimizers).
OURS_OPTIMIZERS = [
    ("LookSAM (ours)", "LookSAM"),
    ("RoGA_Look (ours)", "RoGA_Look"),
]
OURS_ALGORITHMS = frozenset(alg for _, alg in OURS_OPTIMIZERS)
CHEAP = tuple(alg for _, alg in OURS_OPTIMIZERS)
GID_DF_OPTIMIZERS = ("ASAM", "GSAM")  # Table IV's optimizers outside Table II: GID-DF only
# ERM (Adam) runs at Adam's own learning rate, not SGD's: at SynthFF's SGD lr (0.05) Adam did not
# learn (GID-DF AUC 0.54 +- 0.01 over 3 trials, ACC 0.50). Not tuned: Kingma & Ba's default 1e-3
# on SynthFF's from-scratch CNN, DeepfakeBench's detector configs' 2e-4 on FF++.
ADAM_LR = {"SynthFF": 1e-3, "FFpp": 2e-4}

# --- Table V (backbones) ----------------------------------------------------------------------
# The backbones besides the family's default (small_cnn on SynthFF, xception on FF++).
# SynthFF: every backbone that fits 2 CPU cores at 64 px in the suite's 60 min; meso4 is
# measured to (docs/performance.md). A reduced-width large backbone (resnet34_slim) joins the
# moment it is registered: measure its job time first (benchmarks/bench_job_overhead.py
# --hparams '{"backbone": "resnet34_slim"}'), since the suite's budget is not checked here.
# FF++: the paper's Table V rows (MesoNet, ResNet34, EfficientNet-B4; Xception is the default).
TABLE_V_BACKBONES = {
    "SynthFF": ("meso4", "resnet34_slim"),
    "FFpp": ("meso4", "resnet34", "efficientnet_b4"),
}
#: the paper's backbone row -> ours (resnet34_slim: the reduced-width ResNet34 of the CPU suite,
#: compared for ordering only)
PAPER_BACKBONES = {
    "Meso4": ["meso4"],
    "Xception": ["xception"],
    "EfficientNet-B4": ["efficientnet_b4"],
    "ResNet34": ["resnet34", "resnet34_slim"],
}

# --- Table VI (sensitivity of RoGA): the grid, {hparam: values} -------------------------------
# Every point is a RoGA run; a value equal to RoGA's default is no override, so the default point
# is the plain RoGA run of Table I. Rows are labelled "α=A, ρ=R" (the paper's "alpha=A, rho=R");
# the heatmap puts the first hparam on its rows, the second on its columns.
SENSITIVITY_GRID = {"alpha": (0.001, 0.002), "rho": (0.05, 0.1)}
GRID_SYMBOLS = {"alpha": "α", "rho": "ρ"}  # how our rows, title and figure name each hparam


def grid_label(values: Sequence[Any]) -> str:
    """Our row of one grid point (values in ``SENSITIVITY_GRID``'s order): ``"α=0.001, ρ=0.05"``."""
    names = list(SENSITIVITY_GRID)
    return ", ".join(f"{GRID_SYMBOLS[n]}={float(v):g}" for n, v in zip(names, values, strict=True))


def _paper_grid_label(values: Sequence[Any]) -> str:
    """The paper's row of one grid point: ``"alpha=0.001, rho=0.05"``."""
    return ", ".join(f"{n}={float(v):g}" for n, v in zip(SENSITIVITY_GRID, values, strict=True))


# --- the paper's row labels -> ours, per table (paper rows not listed are context only) -------
ROW_MAP: dict[str, dict[str, list[str]]] = {
    "I": {"RoGA": ["RoGA"]},
    "II": {"RoGA": ["RoGA"]},
    "III": {paper: [ours] for paper, ours, _ in ABLATION},
    "IV": {name: [name] for name in ("Adam", "SGD", "SAM", "SAGM", "RoGA")},
    "V": {
        **PAPER_BACKBONES,
        **{
            f"{paper} + RoGA": [f"{b} + RoGA" for b in ours]
            for paper, ours in PAPER_BACKBONES.items()
        },
    },
    "VI": {
        _paper_grid_label(point): [grid_label(point)]
        for point in itertools.product(*SENSITIVITY_GRID.values())
    },
}


# --- the runs: the suite's blocks (python -m roga_bench.sweep launch --suite paper) -----------
def paper_blocks(family: str) -> list[Block]:
    """Every run Tables I-VI need (the lead's contract, issue 9 section 2)."""
    two_pass = ("SAM", "ASAM", "SAGM", "GSAM", "RoGA", "RoGA_Robust", "RoGA_Align")
    adam = {"optimizer": "adam", "lr": ADAM_LR[family]}
    cross = "crossdataset"
    return [
        Block("A", "I, III, IV (UADFV), V (default backbone), VI (default point)",
              "CrossDataset", ("ERM", *two_pass), test_envs_mode=cross),
        Block("A-adam", "IV (UADFV, Adam)", "CrossDataset", ("ERM",), adam, test_envs_mode=cross),
        Block("B", "II (GID), IV (DF)", "LOMO", GID_ALGORITHMS),
        Block("C", "IV (DF)", "LOMO", GID_DF_OPTIMIZERS, test_envs=(0,)),
        Block("C-adam", "IV (DF, Adam)", "LOMO", ("ERM",), adam, test_envs=(0,)),
        Block("D", "V (backbones)", "CrossDataset", ("ERM", "RoGA"), test_envs_mode=cross,
              backbones=TABLE_V_BACKBONES[family]),
        Block("E", "VI (alpha x rho)", "CrossDataset", ("RoGA",), test_envs_mode=cross,
              grid=SENSITIVITY_GRID),
        # Ours, not in the paper (issue 26): Table IV's cheap-sharpness rows, at k = 5.
        Block("F", "IV (UADFV; ours: LookSAM, RoGA_Look)", "CrossDataset", CHEAP,
              test_envs_mode=cross),
        Block("F-gid", "IV (DF; ours: LookSAM, RoGA_Look)", "LOMO", CHEAP, test_envs=(0,)),
    ]  # fmt: skip
