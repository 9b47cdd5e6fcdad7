"""``python -m roga_bench.bench`` end to end on tiny cases: output format only, no timings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from roga_bench.bench import loader_rate, main
from roga_bench.bench._cli import parse_backbone, update_table
from roga_bench.bench._update import UpdateResult

ROW = re.compile(r"^\| small_cnn@16 \| (\S+) \| [\d.]+ \| [\d.]+ \| -?\d+ \| -?\d+ \| \d+ \|$")


def test_update_table_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_json = tmp_path / "bench.json"
    argv = [
        "--backbones",
        "small_cnn@16",
        "--algorithms",
        "ERM-SGD",
        "SAGM",
        "RoGA",
        "--num_domains",
        "2",
        "--batch",
        "2",
        "--repeats",
        "2",
        "--phases",
        "small_cnn@16",
        "--json",
        str(out_json),
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if line.startswith("| small_cnn@16")]
    assert [ROW.match(r).group(1) for r in rows] == ["ERM-SGD", "SAGM", "RoGA"], text
    assert rows[0].split("|")[4].strip() == "1.00"  # ERM-SGD is its own baseline
    assert "perturb+restore+combine" in text
    data = json.loads(out_json.read_text())
    assert [u["algorithm"] for u in data["updates"]] == ["ERM-SGD", "SAGM", "RoGA"]
    first = data["updates"][0]
    assert first["ratio_to_erm"] == 1.0 and len(first["times_ms"]) == 2
    assert first["param_mb"] > 0 and first["image_size"] == 16
    phases = data["phases"]
    assert set(phases["phases_ms"]) == {"perturb", "restore", "combine"}
    assert 0 < phases["vector_share"] < 1
    assert data["machine"]["torch"]


def test_update_table_format() -> None:
    r = [
        UpdateResult("resnet34", 64, "ERM-SGD", 10.0, [10.0], 100.0, 80.0, 1.0),
        UpdateResult("resnet34", 64, "RoGA", 25.0, [25.0], 350.0, 80.0, 2.5),
    ]
    table = update_table(r, num_domains=3)
    assert table.splitlines()[-1] == "| resnet34@64 | RoGA | 25.0 | 2.50 | 350 | 250 | 400 |"


def test_loader_bench_end_to_end(tiny_synthff: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--data", "--data_dir", str(tiny_synthff), "--image_size", "32", "--frames", "8"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert re.search(r"^\| PNG decode \+ resize \| \d+ \| \d+ \|$", text, re.M), text
    assert re.search(r"^\| frame cache \| \d+ \| \d+ \|$", text, re.M), text
    assert re.search(r"^\| cache / PNG \| [\d.]+x \| [\d.]+x \|$", text, re.M), text
    # the rows of the former benchmarks/bench_loader.py: PIL baseline, SynthFF's memory cache
    assert re.search(r"^\| plain PIL decode, no loader \| n/a \| \d+ \|$", text, re.M), text
    assert re.search(r"^\| memory cache, warm \| \d+ \| n/a \|$", text, re.M), text


class _Counting(torch.utils.data.Dataset):
    def __init__(self, n: int) -> None:
        self.n, self.reads = n, 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        self.reads += 1
        return torch.zeros(3), 0


def test_loader_rate_reads_one_pass_or_repeats_passes_up_to_frames() -> None:
    ds = _Counting(10)
    assert loader_rate(ds, 4) > 0 and ds.reads == 10  # one pass
    ds = _Counting(10)
    # first batch (4) off the clock, then 4 + 2, a second pass 4 + 4: 14 >= 12 counted frames
    assert loader_rate(ds, 4, frames=12, skip_first=True) > 0 and ds.reads == 18
    ds = _Counting(0)
    assert loader_rate(ds, 4, frames=5) == 0 and ds.reads == 0  # an empty set ends, no loop


@pytest.mark.parametrize(
    "argv",
    [
        ["--backbones", "small_cnn"],
        ["--backbones", "small_cnn@x"],
        ["--repeats", "0"],
        ["--algorithms", "Nope"],
        ["--device", "cuda:7"],
    ],
)
def test_bad_arguments_exit_nonzero(argv: list[str]) -> None:
    if argv[0] == "--device":
        pytest.importorskip("torch").cuda.is_available() and pytest.skip("a GPU is present")
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code != 0


def test_parse_backbone() -> None:
    assert parse_backbone("resnet34@128") == ("resnet34", 128)
    with pytest.raises(ValueError, match="NAME@SIZE"):
        parse_backbone("resnet34")
