"""``roga_bench.records`` on what ``tests/test_records.py`` left open: the bytes of a record file
on a platform whose default text encoding is not UTF-8, the quoted part of a bad line, where a
torn-line warning points, and ``repair_results(path, None)`` on any step.

Kills the mutants ``benchmarks/mutation.py records`` found alive; the ones no input can tell
apart are listed, with why, in ``benchmarks/mutation_equivalent.txt``.
"""

from __future__ import annotations

import builtins
import io
import json
from pathlib import Path

import pytest

from roga_bench import records
from roga_bench.records import (
    RecordsFileError,
    TornLineWarning,
    append_records,
    mark_done,
    read_records,
    repair_results,
)


@pytest.fixture
def latin1_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Text files opened without an encoding are Latin-1, as on Windows (cp1252) or a Linux
    with a Latin-1 locale: ``open`` as ``records`` sees it, and ``pathlib``'s default."""
    real_open, real_text_encoding = builtins.open, io.text_encoding

    def open_latin1(file, mode="r", buffering=-1, encoding=None, *args, **kwargs):
        if "b" not in mode and encoding is None:
            encoding = "latin-1"
        return real_open(file, mode, buffering, encoding, *args, **kwargs)

    def text_encoding(encoding, stacklevel=2):
        return "latin-1" if encoding is None else real_text_encoding(encoding)

    monkeypatch.setattr(records, "open", open_latin1, raising=False)
    monkeypatch.setattr(io, "text_encoding", text_encoding)


def test_non_ascii_records_are_read_and_repaired_as_utf8_on_any_platform(tmp_path, latin1_default):
    # a line written by another tool with ensure_ascii=False (or edited by hand): raw UTF-8
    note = '{"note": "café ✓", "step": 1}'
    path = tmp_path / "results.jsonl"
    path.write_bytes(f'{note}\n{{"step": 2}}\n'.encode())
    assert [r["note"] for r in read_records(path)[:1]] == ["café ✓"]
    assert repair_results(path, 1) == 1
    assert path.read_bytes() == f"{note}\n".encode()  # the kept line keeps its UTF-8 bytes


def test_written_records_and_the_marker_are_ascii(tmp_path, latin1_default):
    # why append_records' and mark_done's encoding cannot matter (mutation_equivalent.txt):
    # json.dumps escapes every non-ASCII character and "done" is ASCII
    path = tmp_path / "results.jsonl"
    append_records(path, [{"note": "café ✓", "step": 1}])
    assert path.read_bytes() == b'{"note": "caf\\u00e9 \\u2713", "step": 1}\n'
    assert read_records(path) == [{"note": "café ✓", "step": 1}]
    mark_done(tmp_path)
    assert (tmp_path / "done").read_bytes() == b"done"


def test_a_line_that_is_not_an_object_is_quoted_up_to_40_characters(tmp_path):
    line = json.dumps(list(range(30)))  # JSON, but not an object, 110 characters
    path = tmp_path / "results.jsonl"
    path.write_text(f"{line}\n", encoding="utf-8")
    with pytest.raises(RecordsFileError) as info:
        read_records(path)
    assert str(info.value) == f"{path}:1: expected a JSON object, got {line[:40]!r}"


def test_the_torn_line_warning_points_at_the_reader_not_at_records(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"step": 1}\n{"step": 2', encoding="utf-8")
    with pytest.warns(TornLineWarning) as caught:
        read_records(path)
    assert Path(caught[0].filename).resolve() != Path(records.__file__).resolve()


def test_repair_without_a_checkpoint_drops_every_line_whatever_its_step(tmp_path):
    path = tmp_path / "results.jsonl"
    lines = [{"step": -2}, {"step": -1}, {"step": 0}, {"step": 3}]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    assert repair_results(path, None) == 4 and path.read_text(encoding="utf-8") == ""
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    assert repair_results(path, -1) == 2
    assert read_records(path) == lines[:2]
