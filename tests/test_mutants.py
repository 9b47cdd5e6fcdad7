"""Direct tests that kill the mutants ``benchmarks/mutation.py`` found alive: each pins one
behaviour of ``sweep/_jobs.py``, ``_ranking.py`` and selection that no other fast test checked.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest

from roga_bench._ranking import best_index, is_better, mean_over_envs
from roga_bench.sweep import (
    DONE,
    INCOMPLETE,
    NOT_LAUNCHED,
    Job,
    job_hash,
    make_jobs,
    train_argv,
    validate_jobs,
)

ARGS = {"dataset": "SynthFFLOMO", "algorithm": "ERM", "test_envs": [0, 2], "hparams_seed": 1,
        "trial_seed": 3, "seed": 7, "steps": 5}  # fmt: skip


# ------------------------------------------------------------------ sweep/_jobs.py


def test_job_hash_is_domainbeds_md5_of_the_sorted_json():
    want = hashlib.md5(json.dumps(ARGS, sort_keys=True).encode("utf-8")).hexdigest()
    assert job_hash(ARGS) == want and len(want) == 32
    assert job_hash({**ARGS, "keep": "all"}) == want


def test_train_argv_spells_lists_flags_and_values():
    argv = train_argv({"test_envs": [0, 2], "steps": 5, "amp": True, "cpu": False, "x": "a b"})
    assert argv == ["--amp", "--steps", "5", "--test_envs", "0", "2", "--x", "a b"]
    assert train_argv({"envs": (1,)}) == ["--envs", "1"] and train_argv({}) == []


def test_job_folder_state_and_description(tmp_path):
    job = Job.from_args({**ARGS, "hparams": '{"lr": 0.1}'}, tmp_path)
    assert job.output_dir == tmp_path / job_hash({**ARGS, "hparams": '{"lr": 0.1}'})
    assert job.name == job.output_dir.name
    assert job.train_args["output_dir"] == str(job.output_dir)
    assert "output_dir" not in ARGS  # the caller's dict is not changed
    assert job.state == NOT_LAUNCHED
    job.output_dir.mkdir()
    assert job.state == INCOMPLETE
    (job.output_dir / "done").write_text("done\n")
    assert job.state == DONE
    assert job.describe() == (
        'SynthFFLOMO ERM test_envs=[0, 2] hparams_seed=1 trial_seed=3 hparams={"lr": 0.1}'
    )
    assert Job.from_args(ARGS, tmp_path).describe().endswith("trial_seed=3")
    assert str(job) == f"Done: {job.output_dir} ({job.describe()})"
    assert job.argv() == train_argv(job.train_args)
    assert "--output_dir" in job.argv()


def test_train_args_are_copied_deeply(tmp_path):
    args = {**ARGS, "test_envs": [0]}
    job = Job.from_args(args, tmp_path)
    args["test_envs"].append(1)
    assert job.train_args["test_envs"] == [0]


def test_make_jobs_keeps_the_first_of_duplicates_in_order(tmp_path):
    a, b = {**ARGS, "keep": "best"}, {**ARGS, "trial_seed": 4}
    jobs = make_jobs([a, b, {**ARGS, "keep": "all"}], str(tmp_path))
    assert [j.train_args.get("keep") for j in jobs] == ["best", None]
    assert [j.train_args["trial_seed"] for j in jobs] == [3, 4]
    assert all(j.output_dir.parent == tmp_path for j in jobs)


def test_validate_jobs_names_the_job_of_a_bad_hparam(tmp_path):
    bad = Job.from_args({**ARGS, "hparams": '{"no_such_hparam": 1}'}, tmp_path)
    with pytest.raises(ValueError, match=r"no_such_hparam.*\(job ERM on SynthFFLOMO\)$"):
        validate_jobs([bad])
    with pytest.raises(ValueError, match=r"--my_flag"):
        validate_jobs([bad], {"no_such_hparam": "--my_flag"})
    assert not bad.output_dir.exists()


# ------------------------------------------------------------------ _ranking.py


def test_mean_over_envs_reads_the_split_and_metric_asked():
    rec = {"env0_out_auc": 0.6, "env1_out_auc": 0.8, "env1_in_auc": 0.1, "env1_out_acc": 0.2,
           "env2_out_auc": math.nan, "env3_out_auc": None}  # fmt: skip
    assert mean_over_envs(rec, [0, 1], "out", "auc") == pytest.approx(0.7)
    assert mean_over_envs(rec, [1, 2, 3], "out", "auc") == pytest.approx(0.8)
    assert mean_over_envs(rec, [1], "in", "auc") == pytest.approx(0.1)
    assert mean_over_envs(rec, [1], "out", "acc") == pytest.approx(0.2)
    assert math.isnan(mean_over_envs(rec, [2, 3, 4], "out", "auc"))
    assert math.isnan(mean_over_envs(rec, [], "out", "auc"))
    assert mean_over_envs({"env0_out_auc": "0.5"}, [0], "out", "auc") == 0.5  # numbers as text


def test_best_index_hand_cases():
    assert best_index([0.5, 0.9, 0.9, 0.1]) == 1
    assert best_index([math.nan, 0.2, math.nan, 0.3]) == 3
    assert best_index([math.nan, math.nan]) == 0 and best_index([]) == 0
    assert best_index([0.0, -1.0]) == 0  # zero is a score, not "nothing yet"
    assert best_index([-2.0, -1.0]) == 1
    assert is_better(0.1, math.nan) and not is_better(math.nan, math.nan)
    assert is_better(0.2, 0.1) and not is_better(0.1, 0.2) and not is_better(0.1, 0.1)


def test_job_folder_name_is_stable(tmp_path):
    # the folder of an unchanged job never moves (a sweep relaunch finds its Done jobs)
    assert Job.from_args(ARGS, tmp_path).name == Job.from_args(dict(ARGS), Path(tmp_path)).name
