"""``generate``: one SynthFF build (SynthFF plus its cross-dataset targets) into a folder."""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

__all__ = ["SYNTHFF_VERSION", "DEFAULTS", "generate", "validate"]

# Bump whenever the output for a given seed changes: ensure_synthff caches by it.
SYNTHFF_VERSION = "4"
DEFAULTS = {"videos": 120, "frames": 8, "size": 64}


def validate(seed: int, videos: int, frames: int, size: int) -> None:
    """Raises ValueError naming the argument and what was expected."""
    checks = [
        ("seed", seed, seed >= 0, "an integer >= 0"),
        ("videos", videos, videos >= 6 and videos % 2 == 0, "an even integer >= 6"),
        ("frames", frames, 1 <= frames <= 1000, "an integer in [1, 1000]"),
        ("size", size, 16 <= size <= 1024, "an integer in [16, 1024]"),
    ]
    for name, value, ok, expected in checks:
        if not isinstance(value, int) or isinstance(value, bool) or not ok:
            raise ValueError(f"SynthFF: {name}={value!r} is invalid; expected {expected}")


def _build(job, root: Path) -> list[tuple[str, str, str, list[str]]]:
    from roga_bench.datasets.synthff._pipeline import make_pair
    from roga_bench.datasets.synthff._writer import write_video

    return [(v.label, v.vid, v.split, write_video(root, job.recipe, v)) for v in make_pair(job)]


def generate(
    out: str | os.PathLike,
    seed: int = 0,
    videos: int = DEFAULTS["videos"],
    frames: int = DEFAULTS["frames"],
    size: int = DEFAULTS["size"],
    workers: int = 1,
    progress: bool | None = None,
) -> Path:
    """Generates SynthFF and its cross-dataset targets under ``out`` (the data_dir).

    Args:
        out: folder to write into (created; files of an earlier build are overwritten).
        seed: the build's seed; same seed and SYNTHFF_VERSION give byte-identical files.
        videos: real source videos of SynthFF (even); each method gets as many fakes. Each target
            gets a quarter as many real videos and as many fakes.
        frames: frames per video.
        size: frame side in pixels.
        workers: processes (output does not depend on it: every pair has its own seed).
        progress: tqdm bar on stderr; None shows it only on a terminal.

    Returns:
        ``Path(out)``, ready to pass as ``data_dir``.

    Raises:
        ValueError: an argument out of range.
    """
    from roga_bench.datasets.synthff._pipeline import SYNTHFF, TARGETS, Video, plan
    from roga_bench.datasets.synthff._writer import write_index

    validate(seed, videos, frames, size)
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    jobs = plan(seed, videos, frames, size)
    bar = tqdm(
        total=len(jobs),
        desc="SynthFF",
        unit="pair",
        disable=None if progress is None else not progress,
    )
    results = []
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            for res in pool.map(_build, jobs, [root] * len(jobs)):  # map keeps the job order
                results.append(res)
                bar.update()
    else:
        for job in jobs:
            results.append(_build(job, root))
            bar.update()
    bar.close()
    for recipe in (SYNTHFF, *TARGETS):
        entries = [
            (Video(label, vid, split, []), paths)
            for job, res in zip(jobs, results, strict=True)
            if job.recipe.name == recipe.name
            for label, vid, split, paths in res
        ]
        write_index(root, recipe, entries)
    info = {
        "version": SYNTHFF_VERSION,
        "seed": seed,
        "videos": videos,
        "frames": frames,
        "size": size,
    }
    (root / "synthff_info.json").write_text(json.dumps(info, sort_keys=True, indent=1) + "\n")
    return root
