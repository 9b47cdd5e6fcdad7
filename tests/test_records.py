"""roga_bench.records: the one reader/writer of results.jsonl, the done marker and metric keys.

Each test pins one rule a run folder's readers rely on; the comment says the bug it catches.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roga_bench import records
from roga_bench.records import (
    METRICS,
    SPLITS,
    MetricKey,
    RecordsFileError,
    TornLineWarning,
    append_record,
    append_records,
    env_indices,
    is_done,
    job_seconds,
    key_prefix,
    last_record,
    mark_done,
    metric_key,
    parse_metric_key,
    read_records,
    repair_results,
)

A, B, C = {"step": 0, "x": 1.5}, {"step": 5, "x": math.nan}, {"step": 10, "b": [1, 2]}


def _line(record: dict) -> str:
    return json.dumps(record, sort_keys=True) + "\n"


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "results.jsonl"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _quiet_read(path: Path) -> list[dict]:
    """read_records, failing on any warning (a whole file must not warn)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_records(path)


def _same(a: list[dict], b: list[dict]) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)  # NaN == NaN here


# ---------------------------------------------------------------- append


def test_append_writes_sorted_whole_lines_and_appends(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    path = tmp_path / "results.jsonl"
    append_record(path, {"z": 1, "a": math.nan, "step": 0})
    append_records(path, [B, C])
    # sorted keys, NaN as DomainBed's json writes it, one line each, appended (never rewritten)
    assert path.read_text() == '{"a": NaN, "step": 0, "z": 1}\n' + _line(B) + _line(C)
    assert len(synced) == 2  # each call fsyncs (a kill then tears at most the last line)
    assert _same(_quiet_read(path), [{"a": math.nan, "step": 0, "z": 1}, B, C])


def test_append_records_of_nothing_creates_an_empty_file(tmp_path):
    path = tmp_path / "results.jsonl"
    append_records(path, [])
    assert path.exists() and path.read_text() == "" and _quiet_read(path) == []


# ---------------------------------------------------------------- read


def test_read_keeps_every_record_in_order(tmp_path):
    path = _write(tmp_path, _line(A) + _line(B) + _line(C))
    assert _same(_quiet_read(path), [A, B, C])
    assert math.isnan(_quiet_read(path)[1]["x"])  # NaN read back as a float NaN


@pytest.mark.parametrize(
    "tail",
    [
        '{"step": 10, "env0_ou',  # a kill mid-append: no newline
        _line(C).rstrip("\n"),  # complete JSON, but the newline never made it: not line-complete
        '{"step": 10, "env0_ou\n',  # whole-looking but cut (a crash's partial block)
        "\x00\x00\x00\x00",  # a crash's unwritten block
        "\n",  # an empty last line
    ],
)
def test_torn_last_line_is_left_out_with_a_warning(tmp_path, tail):
    path = _write(tmp_path, _line(A) + _line(B) + tail)
    with pytest.warns(TornLineWarning, match=r"results\.jsonl:3: torn last line"):
        got = read_records(path)
    assert _same(got, [A, B])
    assert path.read_text() == _line(A) + _line(B) + tail  # reading never changes the file


def test_torn_multibyte_character_is_a_torn_line_not_a_decode_error(tmp_path):
    path = _write(tmp_path, _line(A).encode() + b'{"name": "\xe2\x82')  # "€" cut in two
    with pytest.warns(TornLineWarning):
        assert _same(read_records(path), [A])


@pytest.mark.parametrize(
    "bad, message",
    [
        ('{"step": 5, "x"\n', r"results\.jsonl:2: not valid JSON"),
        ("\n", r"results\.jsonl:2: not valid JSON"),  # a blank line inside the file
        ("[1, 2]\n", r"results\.jsonl:2: expected a JSON object"),
    ],
)
def test_bad_line_before_the_last_names_file_and_line(tmp_path, bad, message):
    path = _write(tmp_path, _line(A) + bad + _line(C))
    with pytest.raises(RecordsFileError, match=message) as info:
        read_records(path)
    assert str(info.value).startswith(f"{path}:2: ")
    assert isinstance(info.value, ValueError)  # callers that catch ValueError keep working


def test_only_one_line_may_be_torn(tmp_path):
    # the last whole line is bad AND a torn tail follows it: that line is not the torn one
    path = _write(tmp_path, _line(A) + '{"step": 5, "x"\n' + '{"step": 10, "y')
    with pytest.raises(RecordsFileError, match=r"results\.jsonl:2: not valid JSON"):
        read_records(path)


def test_a_last_line_that_is_json_but_no_object_is_an_error_not_a_torn_line(tmp_path):
    path = _write(tmp_path, _line(A) + "5\n")  # no append cut short ever parses as a number
    with pytest.raises(RecordsFileError, match=r"results\.jsonl:2: expected a JSON object"):
        read_records(path)


def test_empty_and_missing_files(tmp_path):
    assert _quiet_read(_write(tmp_path, "")) == []
    with pytest.raises(FileNotFoundError):
        read_records(tmp_path / "nope" / "results.jsonl")


# ---------------------------------------------------------------- last record


@pytest.mark.parametrize(
    "text",
    [
        _line(A) + _line(B) + _line(C),
        _line(A) + _line(B) + '{"step": 10',
        _line(A) + _line(B) + '{"step": 10\n',
        _line(A),
        _line(A) + "\n",
    ],
)
def test_last_record_is_the_readers_last(tmp_path, text):
    path = _write(tmp_path, text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TornLineWarning)
        expected = read_records(path)[-1]
    assert _same([last_record(path)], [expected])


@pytest.mark.parametrize("text", ["", '{"step": 0', '{"step": 0\n', "\n"])
def test_last_record_of_a_file_without_a_whole_record_is_none(tmp_path, text):
    assert last_record(_write(tmp_path, text)) is None
    assert last_record(tmp_path / "missing.jsonl") is None  # a job that has not written yet


def test_last_record_reads_only_the_tail(tmp_path):
    # a status table over a thousand jobs must not parse every line of every file
    path = _write(tmp_path, '{"bad\n' + _line(B) + _line(C))
    assert last_record(path) == C


@pytest.mark.parametrize(
    "text, message",
    [
        (_line(A) + '{"bad\n' + '{"step": 10', r"results\.jsonl:2: not valid JSON"),
        (_line(A) + "[1]\n", r"results\.jsonl:2: expected a JSON object"),
        (_line(A) + "[1]\n" + '{"ste\n', r"results\.jsonl:2: expected a JSON object"),
    ],
)
def test_last_record_errors_like_the_reader(tmp_path, text, message):
    path = _write(tmp_path, text)
    for read in (read_records, last_record):
        with pytest.raises(RecordsFileError, match=message):
            read(path)


# ---------------------------------------------------------------- repair


def test_repair_drops_the_torn_line_and_steps_past_the_checkpoint(tmp_path):
    odd = '{"step":5,  "x": 1}'  # kept lines keep their bytes (never re-serialised)
    path = _write(tmp_path, _line(A) + odd + "\n" + _line(C) + '{"step": 1')
    assert repair_results(path, 5) == 2  # step 10 and the torn line; step 5 == max_step stays
    assert path.read_text() == _line(A) + odd + "\n"
    assert repair_results(path, None) == 2 and path.read_text() == ""
    assert [p.name for p in tmp_path.iterdir()] == ["results.jsonl"]  # no temp file left


def test_repair_of_a_whole_looking_torn_line(tmp_path):
    path = _write(tmp_path, _line(A) + '{"step": 5, "x"\n')
    assert repair_results(path, 100) == 1 and path.read_text() == _line(A)


def test_repair_leaves_a_sound_file_alone(tmp_path):
    path = _write(tmp_path, _line(A) + _line(B))
    inode, mtime = path.stat().st_ino, path.stat().st_mtime_ns
    assert repair_results(path, 5) == 0
    assert path.stat().st_ino == inode and path.stat().st_mtime_ns == mtime  # not rewritten
    assert repair_results(tmp_path / "missing.jsonl", 5) == 0
    assert not (tmp_path / "missing.jsonl").exists()


@pytest.mark.parametrize(
    "text, message",
    [
        (_line(A) + '{"st\n' + _line(C), r"results\.jsonl:2: not valid JSON"),
        (_line(A) + _line({"x": 1}) + _line(C), r"results\.jsonl:2: expected an integer 'step'"),
        (_line({"step": "3"}), r"results\.jsonl:1: expected an integer 'step'"),
        (_line({"step": True}), r"results\.jsonl:1: expected an integer 'step'"),
    ],
)
def test_repair_refuses_a_corrupt_file_and_leaves_it(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(RecordsFileError, match=message):
        repair_results(path, 0)
    assert path.read_text() == text


# ---------------------------------------------------------------- done marker, job time


def test_done_marker_roundtrip(tmp_path):
    job = tmp_path / "job"
    job.mkdir()
    assert not is_done(job)
    mark_done(job)
    assert is_done(job) and (job / "done").read_text() == "done"  # DomainBed's file, as before
    assert not is_done(tmp_path / "other")  # a job folder that does not exist


def test_the_sweep_and_the_tables_see_the_marker(tmp_path):
    from roga_bench.reporting import load_records
    from roga_bench.reporting.testing import checkpoint, write_run
    from roga_bench.sweep import DONE, INCOMPLETE, Job

    ck = checkpoint(0, 2, lambda key: 0.5)
    run = write_run(tmp_path, dataset="FFppLOMO", algorithm="ERM", test_envs=[0], checkpoints=[ck])
    job = Job({}, run)
    assert (run / "results.jsonl").is_file()  # the on-disk names DomainBed and old sweeps use
    assert job.state == DONE and load_records(tmp_path).n_done == 1
    (run / "done").unlink()
    assert job.state == INCOMPLETE
    mark_done(run)
    assert job.state == DONE


def test_job_seconds_is_done_minus_lock(tmp_path):
    # the file names are on-disk format: sweeps already written hold `.lock` and `done`
    assert job_seconds(tmp_path) is None  # neither file
    (tmp_path / ".lock").write_text("1\n")
    os.utime(tmp_path / ".lock", (1000.0, 1000.0))
    assert job_seconds(tmp_path) is None  # not done
    mark_done(tmp_path)
    os.utime(tmp_path / "done", (1042.5, 1042.5))
    assert job_seconds(tmp_path) == pytest.approx(42.5)
    (tmp_path / ".lock").unlink()
    assert job_seconds(tmp_path) is None  # run without a launcher: no start time


def test_the_sweep_locks_the_file_job_seconds_reads(tmp_path):
    from roga_bench.sweep import job_lock

    with job_lock(tmp_path):
        pass
    assert (tmp_path / ".lock").exists() and records.LOCK_NAME == ".lock"


# ---------------------------------------------------------------- metric keys


def test_metric_key_grammar():
    assert metric_key(3, "out", "auc") == "env3_out_auc"
    assert metric_key(12, "test", "auc_se") == "env12_test_auc_se"
    assert key_prefix(0, "in") == "env0_in"
    assert metric_key(0, "in", "video_auc") == key_prefix(0, "in") + "_video_auc"


def test_every_recorded_key_parses_back():
    for env in (0, 1, 7, 10, 123):
        for split in SPLITS:
            for metric in (*METRICS, "auc_se"):
                parsed = parse_metric_key(metric_key(env, split, metric))
                assert parsed == MetricKey(env, split, metric)
    assert parse_metric_key("env0_uda_acc") == (0, "uda", "acc")  # DomainBed's UDA split


@given(
    env=st.integers(min_value=0, max_value=10**6),
    split=st.from_regex(r"[a-z]{1,6}", fullmatch=True),
    metric=st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True),
)
@settings(max_examples=200, deadline=None)
def test_parse_inverts_build(env, split, metric):
    assert parse_metric_key(metric_key(env, split, metric)) == (env, split, metric)


@pytest.mark.parametrize(
    "key",
    [
        "step",
        "loss",
        "env",
        "envx_out_auc",
        "env_out_auc",
        "env01_out_auc",  # never written: would not round-trip
        "env-1_out_auc",
        "env3_out",
        "env3__auc",
        "env3_out_",
        "env3_OUT_auc",
        "xenv3_out_auc",
        "env3_out_auc ",
        "env3_out_auc\n",
        "dataset_environments",
    ],
)
def test_other_keys_do_not_parse(key):
    assert parse_metric_key(key) is None


def test_the_recorded_metrics_are_what_evaluation_computes():
    import numpy as np

    from roga_bench.metrics import compute_metrics

    labels, scores = np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.4, 0.6])
    computed = compute_metrics(labels, scores, ["a", "b", "c", "d"])
    assert set(computed) | {"loss"} == set(METRICS)  # training adds loss (and auc_se)


def test_env_indices_from_dataset_environments_else_from_keys():
    assert env_indices({"dataset_environments": ["A", "B", "C"], "env7_out_auc": 0.5}) == [0, 1, 2]
    assert env_indices({"dataset_environments": ("A",)}) == [0]
    old = {
        "env0_out_auc": 0.5,
        "env2_in_acc": 0.1,
        "env5_out_auc": math.nan,  # a column of another run in the same frame
        "env6_out_auc": None,
        "env4_note": 1,  # not a metric key
        "envx": 1,
        "step": 3,
    }
    assert env_indices(old) == [0, 2]
    assert env_indices({**old, "dataset_environments": []}) == [0, 2]  # empty: fall back
    # numeric order, whatever the key order (a set of 8 and 0 iterates as [8, 0])
    assert env_indices({"env8_out_auc": 0.5, "env0_out_auc": 0.1}) == [0, 8]
