"""DeepfakeBench data at real size: environment build time and memory, loader frames/s per core.

    nice -n 5 python benchmarks/bench_deepfakebench_scale.py --work /tmp/dfb_scale   # ~10 min
    python benchmarks/bench_deepfakebench_scale.py --work /tmp/x --scale 0.02       # a dry run

Writes (under ``--work``, removed at the end unless ``--keep``) a DeepfakeBench-shaped tree and
index at real sizes, 32 frames listed per video, backslash paths as in the released files:

- FaceForensics++ c23: 1000 real + 4 x 1000 fake videos (official 720/140/140 split);
- Celeb-DF-v2 6529 videos (test 518), Celeb-DF-v1 1203 (test 100), UADFV 98 (test 20),
  DFDCP 5250 (test 780), DFDC test 5000 (its train list omitted: see docs/performance.md).

Only the index is measured there, so every frame file the environments read is a hard link to
one tiny PNG (the frames a run never reads, the targets' train lists, are not created). Then:

1. environments built in a fresh process (``FFppLOMO``, GID; ``FFppCrossDataset`` with the five
   targets): seconds (excluding the interpreter and ``import torch``) and peak RSS, cold (first
   build) and warm;
2. loader frames/s on one core (one process, one torch thread) at 256 px from real-size PNG
   frames (256 x 256 face-crop-like images, size printed), from the same frames in a
   DeepfakeBench LMDB, and from the decoded-frame cache; training transform (augmentation) and
   evaluation transform;
3. frame-cache build rate (frames/s) with 1 and 2 decoding threads.

Prints one table (markdown) and the JSON of every number.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SIZES = {  # name -> (folder, [(label, n videos, split sizes train/val/test)])
    "Celeb-DF-v1": [("CelebDFv1_real", 408, (308, 0, 100)), ("CelebDFv1_fake", 795, (695, 0, 100))],
    "Celeb-DF-v2": [
        ("CelebDFv2_real", 890, (712, 0, 178)),
        ("CelebDFv2_fake", 5639, (5299, 0, 340)),
    ],
    "UADFV": [("UADFV_Real", 49, (39, 0, 10)), ("UADFV_Fake", 49, (39, 0, 10))],
    "DFDC": [("DFDC_Real", 2500, (0, 0, 2500)), ("DFDC_Fake", 2500, (0, 0, 2500))],
    "DFDCP": [
        ("DFDCP_Real", 1130, (854, 0, 276)),
        ("DFDCP_FakeA", 2560, (2308, 0, 252)),
        ("DFDCP_FakeB", 1560, (1308, 0, 252)),
    ],
}
FF = {
    "FF-real": "original_sequences\\youtube",
    "FF-DF": "manipulated_sequences\\Deepfakes",
    "FF-F2F": "manipulated_sequences\\Face2Face",
    "FF-FS": "manipulated_sequences\\FaceSwap",
    "FF-NT": "manipulated_sequences\\NeuralTextures",
}
FF_SPLITS = (720, 140, 140)
FRAMES = 32


def _frames(rel_video: str) -> list[str]:
    return [f"{rel_video}\\{k:03d}.png" for k in range(FRAMES)]


def write_index_tree(root: Path, scale: float, dfdc_train: int = 0) -> dict[str, int]:
    """The index files and hard-linked frames; returns counts. ``dfdc_train``: videos in DFDC's
    train list (never read by a run; DeepfakeBench's DFDC.json holds ~119k)."""
    from PIL import Image

    json_dir = root / "dataset_json"
    json_dir.mkdir(parents=True, exist_ok=True)
    tiny = root / "tiny.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tiny)
    listed = linked = 0

    def link_video(rel_video: str) -> None:
        nonlocal linked
        folder = root / rel_video.replace("\\", "/")
        folder.mkdir(parents=True, exist_ok=True)
        source = root / f"tiny{linked // 60000}.png"  # ext4 allows 65000 links to one file
        if not source.exists():
            shutil.copy(tiny, source)
        for k in range(FRAMES):
            os.link(source, folder / f"{k:03d}.png")
        linked += FRAMES

    blocks: dict = {}
    n_split = [max(1, round(n * scale)) for n in FF_SPLITS]
    for label, folder in FF.items():
        block, start = {}, 0
        for split, n in zip(("train", "val", "test"), n_split, strict=True):
            videos = {}
            for j in range(start, start + n):
                vid = f"{j:03d}" if label == "FF-real" else f"{j:03d}_{(j + 1) % 1000:03d}"
                rel = f"FaceForensics++\\{folder}\\c23\\frames\\{vid}"
                videos[vid] = {"label": label, "frames": _frames(rel)}
                link_video(rel)
                listed += FRAMES
            block[split] = {"c23": videos}
            start += n
        blocks[label] = block
    (json_dir / "FaceForensics++.json").write_text(json.dumps({"FaceForensics++": blocks}))
    sizes = dict(SIZES)
    if dfdc_train:
        half = dfdc_train // 2
        sizes["DFDC"] = [("DFDC_Real", 0, (half, 0, 2500)), ("DFDC_Fake", 0, (half, 0, 2500))]
    for name, labels in sizes.items():
        doc: dict = {}
        for label, _, splits in labels:
            doc[label] = {}
            for split, n in zip(("train", "val", "test"), splits, strict=True):
                n = max(1, round(n * scale)) if n and not (name == "DFDC" and dfdc_train) else n
                videos = {}
                for j in range(n):
                    vid = f"{label}_{split}_{j:05d}"
                    rel = f"{name}\\{label}\\frames\\{vid}"
                    videos[vid] = {"label": label, "frames": _frames(rel)}
                    listed += FRAMES
                    if split == "test":
                        link_video(rel)
                doc[label][split] = videos
            # rearrange.py: val is the test list (DFDC: its train videos)
            doc[label]["val"] = doc[label]["test"]
        (json_dir / f"{name}.json").write_text(json.dumps({name: doc}))
    mb = sum(p.stat().st_size for p in json_dir.glob("*.json")) / 2**20
    return {"frames_listed": listed, "frames_linked": linked, "index_mb": round(mb, 1)}


BUILD = r"""
import json, sys, time, warnings
def hwm():  # peak RSS of this process image (ru_maxrss would keep the parent's across exec)
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
t0 = time.perf_counter()
import torch  # noqa: F401  (what a run imports anyway; excluded from the build time)
from roga_bench.datasets import get_dataset_class
rss0 = hwm()
t1, c1 = time.perf_counter(), time.process_time()
name, root, envs, hp = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    ds = get_dataset_class(name)(root, envs, hp)
t2, c2 = time.perf_counter(), time.process_time()
items = sum(len(ds.split(i, s)) for i in range(len(ds)) for s in ("train", "val", "test"))
print(json.dumps({"build_s": t2 - t1, "build_cpu_s": c2 - c1, "import_s": t1 - t0,
                  "envs": len(ds), "items": items, "rss_after_import_mb": rss0,
                  "peak_rss_mb": hwm()}))
"""


def build_envs(root: Path, name: str, envs: list[int], hp: dict) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", BUILD, name, str(root), json.dumps(envs), json.dumps(hp)],
        capture_output=True,
        text=True,
        env=env,
    )
    if out.returncode:
        raise SystemExit(f"building {name} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def face_like(rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """A 256 px image that PNG-compresses like a face crop: smooth shading, edges, sensor noise."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = rng.uniform(60, 200, 3)
    img = base + 60 * np.sin(2 * np.pi * (xx * rng.uniform(0.5, 2) + yy * rng.uniform(0.5, 2)))[
        ..., None
    ] * rng.uniform(0.3, 1, 3)
    cy, cx, r = rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65), rng.uniform(0.25, 0.4)
    face = ((yy - cy) ** 2 / 1.3 + (xx - cx) ** 2) < r**2
    img[face] = img[face] * 0.6 + rng.uniform(120, 220, 3) * 0.4
    img += rng.normal(0, 5.5, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_real_frames(root: Path, n_videos: int, frames: int) -> None:
    """An FF++-shaped tree of real-size 256 px PNG frames and its index (c23)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    blocks: dict = {}
    per_split = {"train": n_videos, "val": 1, "test": 1}
    for label, folder in FF.items():
        block, start = {}, 0
        for split, n in per_split.items():
            videos = {}
            for j in range(start, start + n):
                vid = f"{j:03d}" if label == "FF-real" else f"{j:03d}_{j + 1:03d}"
                rel = f"FaceForensics++\\{folder}\\c23\\frames\\{vid}"
                out = root / rel.replace("\\", "/")
                out.mkdir(parents=True, exist_ok=True)
                for k in range(frames):
                    Image.fromarray(face_like(rng)).save(out / f"{k:03d}.png")
                videos[vid] = {"label": label, "frames": _frames(rel)[:frames]}
            block[split] = {"c23": videos}
            start += n
        blocks[label] = block
    (root / "dataset_json").mkdir(parents=True, exist_ok=True)
    (root / "dataset_json" / "FaceForensics++.json").write_text(
        json.dumps({"FaceForensics++": blocks})
    )


def rate(split, n: int) -> tuple[float, float]:
    """Frames/s of ``split[i]`` over ``n`` items: per wall second and per CPU second of this
    process (the shared machine's other load inflates the first, not the second)."""
    for i in range(min(8, len(split))):  # warm-up: page cache, LMDB map, first imports
        split[i]
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        split[i % len(split)]
    return n / (time.perf_counter() - start), n / (time.process_time() - cpu)


def loader_rates(root: Path, lmdb_dir: Path, cache: Path, n: int) -> dict:
    import torch

    from roga_bench.datasets import FFppLOMO
    from roga_bench.datasets.frame_cache import build_cache

    torch.set_num_threads(1)
    hp = {"image_size": 256, "frames_per_video": 0, "memory_cache_mb": 0, "backbone": "small_cnn"}
    files = FFppLOMO(root, [0], hp)
    paths = sorted({p for i in range(len(files)) for s in ("train", "val", "test")
                    for p in files.split(i, s).paths})  # fmt: skip
    out: dict = {"frames": len(paths)}
    out["png_kb"] = round(np.mean([os.path.getsize(p) for p in paths]) / 1024, 1)
    for workers in (1, 2):
        target = cache.with_name(f"{cache.name}-{workers}")
        start, cpu = time.perf_counter(), time.process_time()
        build_cache({"all": paths}, 256, target, workers=workers, progress=False)
        out[f"cache_build_fps_{workers}thr"] = len(paths) / (time.perf_counter() - start)
        out[f"cache_build_fps_per_cpu_s_{workers}thr"] = len(paths) / (time.process_time() - cpu)
    shutil.copytree(cache.with_name(f"{cache.name}-1"), cache, dirs_exist_ok=True)
    lmdb_paths = {"lmdb_dir": str(lmdb_dir), "json_dir": str(root / "dataset_json")}
    sources = {
        "png": files,
        "lmdb": FFppLOMO(None, [0], {**hp, **lmdb_paths}),
        "frame_cache": FFppLOMO(root, [0], {**hp, "frame_cache": str(cache)}),
    }
    for name, ds in sources.items():
        wall, cpu = rate(ds.split(1, "train"), n)  # augmentation on
        out[f"{name}_train_fps"], out[f"{name}_train_fps_per_cpu_s"] = wall, cpu
        wall, cpu = rate(ds.split(0, "test"), n)
        out[f"{name}_eval_fps"], out[f"{name}_eval_fps_per_cpu_s"] = wall, cpu
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (deleted)")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the real sizes")
    parser.add_argument("--loader_frames", type=int, default=600, help="frames timed per row")
    parser.add_argument("--keep", action="store_true", help="keep --work")
    parser.add_argument("--skip_index", action="store_true", help="loader rows only")
    parser.add_argument("--skip_loader", action="store_true", help="index rows only")
    parser.add_argument(
        "--dfdc_train", type=int, default=0, help="videos in DFDC.json's train list (~119154)"
    )
    args = parser.parse_args(argv)
    from roga_bench.datasets.testing import write_deepfakebench_lmdb

    results: dict = {"cpus": os.cpu_count(), "affinity": len(os.sched_getaffinity(0))}
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    try:
        if not args.skip_index:
            idx = work / "index"
            start = time.perf_counter()
            results["tree"] = write_index_tree(idx, args.scale, args.dfdc_train)
            results["tree"]["write_s"] = round(time.perf_counter() - start, 1)
            print(results["tree"], flush=True)
            base = {"frames_per_video": 32, "backbone": "small_cnn", "memory_cache_mb": 0}
            cases = {
                "GID (FFppLOMO, test env 0)": ("FFppLOMO", [0], base),
                "cross-dataset (FF++ + 5 targets)": (
                    "FFppCrossDataset",
                    [4, 5, 6, 7, 8],
                    {**base, "targets": "CDF-v1,CDF-v2,UADFV,DFDC,DFDCP"},
                ),
            }
            for case, (name, envs, hp) in cases.items():
                cold = build_envs(idx, name, envs, hp)
                warm = build_envs(idx, name, envs, hp)
                results[case] = {"cold": cold, "warm": warm}
                print(case, results[case], flush=True)
            shutil.rmtree(idx)
        if not args.skip_loader:
            real = work / "real"
            write_real_frames(real, n_videos=8, frames=16)
            write_deepfakebench_lmdb(real, "FaceForensics++", work / "lmdb")
            loader = loader_rates(real, work / "lmdb", work / "cache", args.loader_frames)
            results["loader"] = loader
            print(loader, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    _table(results)
    print(json.dumps(results))
    return 0


def _table(r: dict) -> None:
    print("\n| case | build s (cold / warm) | build CPU s (warm) | peak RSS MB (after import) "
          "| items |")  # fmt: skip
    print("|---|---|---|---|---|")
    for case, v in r.items():
        if isinstance(v, dict) and "cold" in v:
            c, w = v["cold"], v["warm"]
            rss = f"{w['peak_rss_mb']:.0f} ({w['rss_after_import_mb']:.0f})"
            times = f"{c['build_s']:.1f} / {w['build_s']:.1f} | {w['build_cpu_s']:.1f}"
            print(f"| {case} | {times} | {rss} | {w['items']} |")
    lo = r.get("loader")
    if lo:
        print(f"\nloader, 1 core, 256 px, {lo['frames']} frames of {lo['png_kb']} KB PNG")
        print("| source | train (augment) frames/s: wall, per CPU s | eval frames/s: wall, per "
              "CPU s |\n|---|---|---|")  # fmt: skip
        for s in ("png", "lmdb", "frame_cache"):
            train = f"{lo[f'{s}_train_fps']:.0f}, {lo[f'{s}_train_fps_per_cpu_s']:.0f}"
            evals = f"{lo[f'{s}_eval_fps']:.0f}, {lo[f'{s}_eval_fps_per_cpu_s']:.0f}"
            print(f"| {s} | {train} | {evals} |")
        print(f"cache build: {lo['cache_build_fps_1thr']:.0f} frames/s (1 thread), "
              f"{lo['cache_build_fps_2thr']:.0f} (2 threads); per CPU s "
              f"{lo['cache_build_fps_per_cpu_s_1thr']:.0f}, "
              f"{lo['cache_build_fps_per_cpu_s_2thr']:.0f}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
