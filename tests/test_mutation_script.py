"""The pure parts of ``benchmarks/mutation.py``'s re-checks (``--only``, ``--survivors``): which
module a mutant name belongs to, which mutants are re-tested, and the merge of their statuses."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "mutation.py"


@pytest.fixture(scope="module")
def mutation():
    spec = importlib.util.spec_from_file_location("mutation_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and typing resolve names through it
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_a_mutant_name_gives_its_module(mutation):
    assert mutation.module_of("roga_bench.records.x_mark_done__mutmut_3") == "records"
    assert mutation.module_of("roga_bench.sweep._jobs.x_validate_jobs__mutmut_16") == "jobs"
    assert mutation.module_of("roga_bench.sweep._jobs.x_*") == "jobs"
    assert mutation.module_of("roga_bench.optim.sam.xǁSAMǁstep__mutmut_2") == "optim"
    assert mutation.module_of("roga_bench.sweep._jobs") is None  # a module, not a mutant
    assert mutation.module_of("roga_bench.sweep.x_main__mutmut_1") is None  # not listed


def test_survivors_are_what_neither_killed_nor_timed_out(mutation):
    statuses = {"a": "killed", "b": "survived", "c": "timeout", "d": "no tests",
                "e": "caught by type check", "f": "suspicious"}  # fmt: skip
    assert mutation.not_killed(statuses) == ["b", "d", "f"]


def test_merge_updates_only_the_re_tested_mutants(mutation):
    old = {
        "m.x_f__mutmut_1": "survived",
        "m.x_f__mutmut_2": "survived",
        "m.x_g__mutmut_1": "killed",
    }
    # mutmut lists every mutant; those not re-tested are "not checked"
    new = {
        "m.x_f__mutmut_1": "killed",
        "m.x_f__mutmut_2": "not checked",
        "m.x_g__mutmut_1": "not checked",
    }
    merged, unmatched = mutation.merge_statuses(old, new, ["m.x_f__mutmut_1", "m.x_h__mutmut_1"])
    assert merged == {**old, "m.x_f__mutmut_1": "killed"}
    assert unmatched == ["m.x_h__mutmut_1"]
    assert old["m.x_f__mutmut_1"] == "survived"  # the stored statuses are not changed in place
    new = {"m.x_f__mutmut_1": "killed", "m.x_f__mutmut_2": "survived", "m.x_g__mutmut_1": "timeout"}
    merged, unmatched = mutation.merge_statuses(old, new, ["m.x_f__*"])
    assert merged == {**old, "m.x_f__mutmut_1": "killed"} and unmatched == []


def test_re_checks_refuse_results_of_another_version_of_the_file(mutation, tmp_path, monkeypatch):
    (tmp_path / "roga_bench").mkdir()
    source = tmp_path / "roga_bench" / "records.py"
    source.write_text("A = 1\n", encoding="utf-8")
    monkeypatch.setattr(mutation, "ROOT", tmp_path)
    monkeypatch.setattr(mutation, "OUT", tmp_path / "out")
    monkeypatch.setitem(mutation.MODULES, "records", (["roga_bench/records.py"], []))
    assert not mutation._may_merge("records")  # no json yet
    hashes = mutation.source_hashes(tmp_path, ["roga_bench/records.py"])
    (tmp_path / "out").mkdir()
    json_path = tmp_path / "out" / "records.json"
    json_path.write_text(json.dumps({"sha256": hashes}), encoding="utf-8")
    assert mutation._may_merge("records")
    source.write_text("A = 2\n", encoding="utf-8")
    assert not mutation._may_merge("records")
    json_path.write_text('{"statuses": {}}')  # made before the hashes were recorded
    assert mutation._may_merge("records")


def test_score_counts_listed_equivalents_apart_and_names_the_wrong_and_stale_ones(mutation):
    r = "roga_bench.records.x_mark_done__mutmut_"
    statuses = {f"{r}1": "killed", f"{r}2": "survived", f"{r}3": "survived", f"{r}4": "timeout"}
    equivalent = {
        f"{r}1": "killed after all",
        f"{r}3": "no input tells it apart",
        f"{r}9": "its function changed since it was listed",
        "roga_bench.sweep._jobs.x_job_hash__mutmut_11": "another module's",
    }
    row = mutation.score_row("records", statuses, equivalent)
    assert (row["killed"], row["survived"], row["timeout"], row["equivalent"]) == (0, 1, 1, 2)
    assert row["survivors"] == [f"{r}2"]
    assert row["wrongly_equivalent"] == [f"{r}1"]
    assert row["stale_equivalent"] == [f"{r}9"]
    assert row["score"] == pytest.approx(1 / 2)
