"""``python -m roga_bench.tables`` maps only bad input to "error: ..." and exit 2; a bug elsewhere
keeps its traceback (it used to be reported as bad input too)."""

from __future__ import annotations

import pandas as pd
import pytest

import roga_bench.tables as tables_cli
from roga_bench.reporting import RecordsError, ReportInputError, parse_tables, render
from roga_bench.reporting.selection import select


@pytest.mark.parametrize("error", [KeyError("env7_in_auc"), ValueError("shapes (3,) (4,)")])
def test_an_internal_error_is_not_reported_as_bad_input(tmp_path, monkeypatch, error):
    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(tables_cli, "build_tables", broken)
    with pytest.raises(type(error)):
        tables_cli.main(["--input_dir", str(tmp_path)])


def test_bad_input_raises_the_report_input_error(tmp_path, capsys):
    assert issubclass(RecordsError, ReportInputError) and issubclass(ReportInputError, ValueError)
    with pytest.raises(ReportInputError, match="unknown table"):
        parse_tables("II,IX")
    with pytest.raises(ReportInputError, match="format 'docx'"):
        render(None, "docx")  # type: ignore[arg-type]
    with pytest.raises(ReportInputError, match="selection metric"):
        select(pd.DataFrame(), "iid", "eer")
    assert tables_cli.main(["--input_dir", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
