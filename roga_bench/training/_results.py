"""results.jsonl: one whole JSON line per checkpoint, and repair of a file a killed run left behind.

Lines are written with ``json.dumps(sort_keys=True)`` (NaN stays ``NaN``, which Python's and
DomainBed's ``json.loads`` accept), then flushed and fsynced: a crash tears at most the last line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["append_record", "read_records", "repair_results"]


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Append ``record`` as one line, flushed and fsynced before returning."""
    line = json.dumps(record, sort_keys=True) + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every record of a results.jsonl (no repair; a torn line raises).

    Raises:
        ValueError: a line is not valid JSON (names the file and line number).
    """
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not a JSON line ({exc})") from None
    return records


def _whole_lines(path: Path) -> tuple[list[str], int]:
    """The complete lines of ``path`` and how many torn lines were dropped (0 or 1).

    A torn line is the last one when it lacks its newline or does not parse: an append that a
    kill interrupted. A bad line anywhere else is corruption, not a torn write, and raises.
    """
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.split("\n")
    tail = lines.pop()  # "" when the file ends with a newline
    torn = 1 if tail else 0
    for number, line in enumerate(lines, 1):
        try:
            json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines) and not tail:
                return lines[:-1], 1  # whole-looking but unparsable last line
            raise ValueError(f"{path}:{number}: corrupt line before the end of the file") from None
    return lines, torn


def repair_results(path: Path, max_step: int | None) -> int:
    """Drop a torn last line and every line with ``step > max_step`` (all lines if None).

    Called when resuming: the checkpoint at ``max_step`` is where the run restarts, so later lines
    will be written again. The file is rewritten atomically (temp file + ``os.replace``).

    Returns:
        The number of lines dropped.

    Raises:
        ValueError: a line other than the last one is not valid JSON.
    """
    if not path.exists():
        return 0
    lines, torn = _whole_lines(path)
    limit = -1 if max_step is None else max_step
    kept = [line for line in lines if json.loads(line)["step"] <= limit]
    dropped = torn + len(lines) - len(kept)
    if dropped:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in kept))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    return dropped
