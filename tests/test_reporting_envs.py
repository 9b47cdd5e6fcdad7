"""Environment names in the tables come from the run's own record when it has them."""

from __future__ import annotations

import math

from roga_bench.reporting._envs import env_name


def test_recorded_environments_win_over_the_class_list() -> None:
    # FFppCrossDataset without CDF-v1 on disk: index 4 is CDF-v2, not the class's CDF-v1
    present = ("DF", "F2F", "FS", "NT", "CDF-v2", "UADFV")
    assert env_name("FFppCrossDataset", 4) == "CDF-v1"
    assert env_name("FFppCrossDataset", 4, present) == "CDF-v2"
    assert env_name("FFppCrossDataset", 5, list(present)) == "UADFV"


def test_missing_recorded_names_fall_back() -> None:
    # older records have no dataset_environments: pandas gives NaN for the column
    assert env_name("SynthFFLOMO", 2, math.nan) == "FS"
    assert env_name("SomeUnknownDataset", 1, None) == "env1"
    assert env_name("FFppLOMO", 7, ("DF", "F2F")) == "env7"
