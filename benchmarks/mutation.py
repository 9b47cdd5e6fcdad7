"""Mutation testing of the modules whose bugs no other check would see, one command (mutmut 3).

    nice -n 19 python benchmarks/mutation.py                     # every module below
    nice -n 19 python benchmarks/mutation.py jobs ranking stats  # some of them
    python benchmarks/mutation.py --table                        # rewrite the table only
    nice -n 19 python benchmarks/mutation.py records --survivors # re-test what was not killed
    nice -n 19 python benchmarks/mutation.py --only roga_bench.records.x_mark_done__mutmut_3
    nice -n 19 python benchmarks/mutation.py jobs --resume       # finish an interrupted run

Each module is mutated in a scratch copy of the repository (``--work``, default
``/tmp/roga_mutation/<module>``) whose ``pyproject.toml`` gets a generated ``[tool.mutmut]``:
``source_paths = ["roga_bench"]``, ``only_mutate`` the module's files and
``pytest_add_cli_args_test_selection`` its fast test files (mutmut then runs, per mutant, only
the tests that reach the mutated function; each mutant's tests run in a worker of mutmut's
fork server, and pytest uses the tests' hypothesis profile "mutation", which reports a failing
law without shrinking it). ``PYTHONPATH`` points at the mutated copy and a
``sitecustomize`` drops the editable install's finder, so neither mutmut's process nor a test's
subprocess can import unmutated code (mutmut would then report every mutant as "no tests").

Writes ``results/mutation/<module>.json`` (every mutant's status, the sha256 of the mutated
files) and ``results/mutation/score.md`` (one row per module: killed / survived / timeout /
equivalent / other, and the score ``(killed + timeout) / (mutants - equivalent)``; modules never
run are listed as not measured).
Equivalent mutants (no input tells them from the original) are read from
``benchmarks/mutation_equivalent.txt``: one ``<mutant name>  # why`` a line. A mutant there
that the tests kill is reported, since it was not equivalent after all.

Re-checking after adding tests, without the whole run: ``--only NAME...`` (mutmut's names, ``*``
wildcards allowed; the module is read from the names) or ``--survivors`` (every mutant of the
named modules whose status in ``results/mutation/<module>.json`` is neither killed nor timeout)
tests just those mutants in a fresh scratch and merges their new statuses into that json, every
other mutant keeping its status. The json records the sha256 of each mutated file; a merge into
a json made from another version of the file is refused (exit 2: mutmut numbers mutants per
function, so the names would not mean the same mutants), and a json without the hashes (made
before they were recorded) is merged with a warning. ``--resume`` keeps an existing scratch
as it is (its copies of the sources and tests are not refreshed) and mutmut tests only the
mutants without a result there: an interrupted full run, finished. Scores to report come from
full runs.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "mutation"
EQUIVALENT = ROOT / "benchmarks" / "mutation_equivalent.txt"

# module -> (files to mutate, fast test files that guard them)
MODULES: dict[str, tuple[list[str], list[str]]] = {
    "jobs": (
        ["roga_bench/sweep/_jobs.py"],
        [
            "tests/test_laws.py",
            "tests/test_survivors.py",
            "tests/test_mutants.py",
            "tests/test_mutants_jobs.py",
        ],
    ),
    "ranking": (
        ["roga_bench/_ranking.py"],
        ["tests/test_laws.py", "tests/test_survivors.py", "tests/test_mutants.py"],
    ),
    "selection": (
        ["roga_bench/reporting/selection.py"],
        [
            "tests/test_selection.py",
            "tests/test_selection_contract.py",
            "tests/test_statistics.py",
            "tests/test_survivors.py",
            "tests/test_mutants.py",
        ],
    ),
    "stats": (
        [
            "roga_bench/stats/_tests.py",
            "roga_bench/stats/_decide.py",
            "roga_bench/stats/_power.py",
            "roga_bench/stats/_spending.py",
            "roga_bench/stats/sequential.py",
        ],
        [
            "tests/test_stats.py",
            "tests/test_sequential_stats.py",
            "tests/test_stats_mutants.py",
            "tests/test_stats_mutants_g.py",
            "tests/test_laws.py",
            "tests/test_survivors.py",
            "tests/test_mutants.py",
        ],
    ),
    "index": (
        ["roga_bench/datasets/_index.py"],
        [
            "tests/test_reader.py",
            "tests/test_survivors.py",
            "tests/test_mutants.py",
            "tests/test_mutants_index.py",
        ],
    ),
    # roga_bench/records.py: the run-records module (issue 28, branch p28records); measured once
    # it has landed (a missing file is reported as not measured, not as an error)
    "records": (
        ["roga_bench/records.py"],
        [
            "tests/test_records.py",
            "tests/test_reporting_records.py",
            "tests/test_mutants.py",
            "tests/test_mutants_records.py",
        ],
    ),
    "optim": (
        [
            "roga_bench/optim/_batchnorm.py",
            "roga_bench/optim/_foreach.py",
            "roga_bench/optim/_look.py",
            "roga_bench/optim/_two_pass.py",
            "roga_bench/optim/_wrapper.py",
            "roga_bench/optim/gsam.py",
            "roga_bench/optim/looksam.py",
            "roga_bench/optim/roga.py",
            "roga_bench/optim/roga_batched.py",
            "roga_bench/optim/roga_look.py",
            "roga_bench/optim/sagm.py",
            "roga_bench/optim/sam.py",
            "roga_bench/optim/schedule.py",
        ],
        [
            "tests/test_optim.py",
            "tests/test_optim_api.py",
            "tests/test_optim_look.py",
            "tests/test_optim_wrapper.py",
            "tests/test_roga_batched.py",
            "tests/test_laws.py",
            "tests/test_optim_mutants.py",
            "tests/test_optim_mutants_a.py",
            "tests/test_optim_mutants_b.py",
            "tests/test_optim_mutants_c.py",
            "tests/test_optim_mutants_d.py",
            "tests/test_optim_mutants_e.py",
            "tests/test_optim_mutants_f.py",
        ],
    ),
}

KILLED = {"killed", "caught by type check"}
LINE = re.compile(r"^\s*(\S+): (.+?)\s*$")


def read_equivalent(path: Path = EQUIVALENT) -> dict[str, str]:
    """``{mutant name: why}`` from the committed list (``name  # why``; ``#`` lines are notes).

    Raises:
        SystemExit: a line without its reason (exit 2, naming the file and line).
    """
    out: dict[str, str] = {}
    if not path.exists():
        return out
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, why = line.partition("#")
        if not sep or not why.strip() or len(name.split()) != 1:
            print(f"{path}:{n}: expected '<mutant name>  # why it is equivalent'", file=sys.stderr)
            raise SystemExit(2)
        out[name.strip()] = why.strip()
    return out


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def prepare(module: str, work: Path, resume: bool = False) -> None:
    """A scratch copy of the repository with the module's ``[tool.mutmut]`` (with ``resume``,
    an existing scratch of this module is kept as it is)."""
    files, tests = MODULES[module]
    config = work / "pyproject.toml"
    mine = f"only_mutate = {_toml_list(files)}"
    if resume and (work / "mutants").is_dir() and config.exists():
        if mine in config.read_text(encoding="utf-8"):
            print(f"{module}: resuming in {work}")
            return
        print(f"{module}: {work} is not a scratch of {module}; starting afresh")
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copytree(ROOT / "roga_bench", work / "roga_bench", ignore=_ignore)
    shutil.copytree(ROOT / "tests", work / "tests", ignore=_ignore)
    tests = [t for t in tests if (ROOT / t).exists()]
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^\[tool\.mutmut\].*?(?=^\[|\Z)", "", text)
    text += (
        "\n[tool.mutmut]\n"
        'source_paths = ["roga_bench"]\n'
        # package data: the paper's reported numbers, read by the reproduce tests
        'also_copy = ["roga_bench/paper/reported.csv"]\n'
        f"{mine}\n"
        f"pytest_add_cli_args_test_selection = {_toml_list(tests)}\n"
        'pytest_add_cli_args = ["-q", "-p", "no:cacheprovider", "-x",'
        ' "--hypothesis-profile=mutation"]\n'
        "use_git_change_detection = false\n"
        # mutmut's default forks each worker from its own process, where the clean run has
        # used torch's thread pool: a worker can then hang there, and the mutant reads as a
        # timeout whatever its tests say (optim's SAM._operator__mutmut_1, a TypeError at once
        # under plain pytest, timed out at every limit). A fork server has only collected.
        'process_isolation = "forkserver"\n'
    )
    (work / "pyproject.toml").write_text(text, encoding="utf-8")
    # mutmut copies the sources into mutants/; it must exist before Python starts, or the import
    # system caches "no such folder" for that sys.path entry and imports nothing from it
    (work / "mutants").mkdir()
    # the venv's editable install points at another checkout: drop its finder, so only
    # PYTHONPATH (the mutated copy) can provide roga_bench, in mutmut and in every subprocess
    (work / "site").mkdir()
    (work / "site" / "sitecustomize.py").write_text(
        "import sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path\n"
        '                    if "__editable__" not in getattr(f, "__module__", "")]\n',
        encoding="utf-8",
    )


def _ignore(_dir: str, names: list[str]) -> list[str]:
    return [n for n in names if n in ("__pycache__", ".pytest_cache", "mutants")]


def run(
    module: str, work: Path, children: int, names: list[str] | None = None
) -> dict[str, str] | None:
    """Run mutmut in ``work`` (on ``names`` only, if given); ``{mutant name: status}`` of every
    mutant, None when mutmut failed (e.g. a selected test fails on the unmutated code: nothing
    was measured)."""
    path = os.pathsep.join([str(work / "mutants"), str(work / "site")])
    env = {**os.environ, "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"}
    # the console script, not ``python -m`` (which would put the unmutated copy on sys.path)
    mutmut = [str(Path(sys.executable).parent / "mutmut")]
    done = subprocess.run(
        [*mutmut, "run", "--max-children", str(children), *(names or [])],
        cwd=work,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        print(f"{module}: not measured, mutmut run exited {done.returncode}", file=sys.stderr)
        return None
    listing = subprocess.run(
        [*mutmut, "results", "--all", "true"],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {m[1]: m[2] for m in map(LINE.match, listing.splitlines()) if m}


def module_of(name: str) -> str | None:
    """The module (key of :data:`MODULES`) whose file a mutant name belongs to, e.g.
    ``roga_bench.records.x_mark_done__mutmut_3`` -> ``records``; None for no listed module."""
    dotted = name.rpartition(".")[0]
    for module, (files, _) in MODULES.items():
        if any(f.removesuffix(".py").replace("/", ".") == dotted for f in files):
            return module
    return None


def not_killed(statuses: dict[str, str]) -> list[str]:
    """The mutants neither killed nor timed out (survived, no tests, suspicious, ...)."""
    return sorted(n for n, s in statuses.items() if s not in KILLED and s != "timeout")


def merge_statuses(
    old: dict[str, str], new: dict[str, str], patterns: list[str]
) -> tuple[dict[str, str], list[str]]:
    """``old`` with the statuses of ``new``'s mutants that match ``patterns`` (mutmut's names,
    ``*`` wildcards), and the patterns that matched no mutant of ``new`` (nothing re-tested)."""
    merged = dict(old)
    unmatched = []
    for pattern in patterns:
        hits = [n for n in new if n == pattern or fnmatch.fnmatchcase(n, pattern)]
        if not hits:
            unmatched.append(pattern)
        merged.update((n, new[n]) for n in hits)
    return merged, unmatched


def source_hashes(root: Path, files: list[str]) -> dict[str, str]:
    """sha256 of each mutated file under ``root``: which version a results json describes."""
    return {f: hashlib.sha256((root / f).read_bytes()).hexdigest() for f in files}


def score_row(module: str, statuses: dict[str, str], equivalent: dict[str, str]) -> dict:
    """Counts of one module (equivalent mutants counted apart, whatever mutmut said)."""
    row = {"module": module, "mutants": len(statuses), "killed": 0, "survived": 0}
    row.update(timeout=0, equivalent=0, other=0, survivors=[], wrongly_equivalent=[])
    # a listed name this run has no mutant of: its function changed or is gone since it was listed
    row["stale_equivalent"] = sorted(
        n for n in equivalent if module_of(n) == module and n not in statuses
    )
    for name, status in sorted(statuses.items()):
        if name in equivalent:
            row["equivalent"] += 1
            if status in KILLED:
                row["wrongly_equivalent"].append(name)
        elif status in KILLED:
            row["killed"] += 1
        elif status == "survived":
            row["survived"] += 1
            row["survivors"].append(name)
        elif status == "timeout":
            row["timeout"] += 1
        else:
            row["other"] += 1
            row["survivors"].append(f"{name} ({status})")
    judged = row["mutants"] - row["equivalent"]
    row["score"] = (row["killed"] + row["timeout"]) / judged if judged else float("nan")
    return row


def write_table(equivalent: dict[str, str]) -> Path:
    """``results/mutation/score.md`` from every ``results/mutation/<module>.json``."""
    lines = [
        "# Mutation score per module (mutmut 3)",
        "",
        "Made by `nice -n 19 python benchmarks/mutation.py MODULE...`. score = (killed + timeout)"
        " / (mutants − equivalent); other = no tests / suspicious / segfault (counted as not"
        " killed).",
        "",
        "| module | files | mutants | killed | survived | timeout | equivalent | other | score |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes: list[str] = []
    for module, (files, _) in MODULES.items():
        path = OUT / f"{module}.json"
        shown = ", ".join(f.removeprefix("roga_bench/") for f in files[:3])
        shown += ", ..." if len(files) > 3 else ""
        if not path.exists():
            lines.append(f"| {module} | {shown} | not measured | | | | | | |")
            continue
        statuses = json.loads(path.read_text(encoding="utf-8"))["statuses"]
        r = score_row(module, statuses, equivalent)
        lines.append(
            f"| {module} | {shown} | {r['mutants']} | {r['killed']} | {r['survived']} | "
            f"{r['timeout']} | {r['equivalent']} | {r['other']} | {100 * r['score']:.1f}% |"
        )
        if r["survivors"]:
            notes.append(f"\n## {module}: not killed\n")
            notes += [f"- `{s}`" for s in r["survivors"]]
        if r["wrongly_equivalent"]:
            notes.append(f"\n## {module}: listed as equivalent but killed (remove them)\n")
            notes += [f"- `{s}`" for s in r["wrongly_equivalent"]]
        if r["stale_equivalent"]:
            notes.append(f"\n## {module}: listed as equivalent but no such mutant (remove them)\n")
            notes += [f"- `{s}`" for s in r["stale_equivalent"]]
    listed = [f"- `{k}`: {v}" for k, v in sorted(equivalent.items())]
    lines += notes + ["", "## Equivalent mutants (benchmarks/mutation_equivalent.txt)", ""]
    lines += listed or ["(none)"]
    OUT.mkdir(parents=True, exist_ok=True)
    table = OUT / "score.md"
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"of {', '.join(MODULES)} (default: all)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/roga_mutation"))
    parser.add_argument("--children", type=int, default=2, help="mutants tested at once")
    parser.add_argument("--table", action="store_true", help="only rewrite score.md")
    again = parser.add_mutually_exclusive_group()
    again.add_argument(
        "--only", nargs="+", metavar="NAME", help="re-test these mutants, merge into the json"
    )
    again.add_argument(
        "--survivors", action="store_true", help="re-test the mutants the json says not killed"
    )
    again.add_argument(
        "--resume", action="store_true", help="keep the scratch; test mutants without a result"
    )
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {unknown}; expected some of {list(MODULES)}")
    names: dict[str, list[str]] = {}  # module -> the mutants to re-test (--only, --survivors)
    if args.only:
        for name in args.only:
            module = module_of(name)
            if module is None:
                parser.error(f"--only {name}: not a mutant of a file of {list(MODULES)}")
            if args.modules and module not in args.modules:
                parser.error(f"--only {name}: a mutant of {module}, not of {args.modules}")
            names.setdefault(module, []).append(name)
    elif args.survivors:
        for module in args.modules or list(MODULES):
            path = OUT / f"{module}.json"
            if path.exists():
                statuses = json.loads(path.read_text(encoding="utf-8"))["statuses"]
                names[module] = not_killed(statuses)
            else:
                print(f"{module}: --survivors needs {path} (run the module whole first)")
        if not any(names.values()):
            print("nothing to re-test")
    equivalent = read_equivalent()
    failed = False
    todo = list(names) if names else [] if args.table else args.modules or list(MODULES)
    for module in todo:
        if names and not names[module]:
            continue
        missing = [f for f in MODULES[module][0] if not (ROOT / f).exists()]
        if missing:
            print(f"{module}: not measured, {', '.join(missing)} not in this checkout")
            continue
        if names and not _may_merge(module):
            return 2
        work = args.work / module
        prepare(module, work, resume=args.resume)
        statuses = run(module, work, args.children, names.get(module))
        if statuses is None:
            failed = True
            continue
        if names:
            old = json.loads((OUT / f"{module}.json").read_text(encoding="utf-8"))["statuses"]
            statuses, unmatched = merge_statuses(old, statuses, names[module])
            for pattern in unmatched:
                print(f"{module}: {pattern} matched no mutant; nothing re-tested for it")
            for name in names[module]:
                print(f"{module}: {name} {statuses.get(name, '(pattern)')}")
        OUT.mkdir(parents=True, exist_ok=True)
        payload = {
            "module": module,
            "files": MODULES[module][0],
            "sha256": source_hashes(work, MODULES[module][0]),
            "process_isolation": "forkserver",
            "statuses": statuses,
        }
        (OUT / f"{module}.json").write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
        row = score_row(module, statuses, equivalent)
        print(f"{module}: {row['killed']} killed of {row['mutants']}, score {row['score']:.1%}")
    print(write_table(equivalent))
    return 1 if failed else 0


def _may_merge(module: str) -> bool:
    """Whether re-tested statuses may be merged into ``<module>.json``: it exists and was made
    from the files as they are now (a json without hashes: merged, with a warning)."""
    path = OUT / f"{module}.json"
    if not path.exists():
        print(f"{path}: missing; run {module} whole first", file=sys.stderr)
        return False
    stored = json.loads(path.read_text(encoding="utf-8")).get("sha256")
    if stored is None:
        print(f"{path}: no sha256 of the mutated files; merging unchecked", file=sys.stderr)
        return True
    changed = [f for f, h in source_hashes(ROOT, MODULES[module][0]).items() if stored.get(f) != h]
    if changed:
        print(
            f"{path}: made from another version of {', '.join(changed)}; mutant names would not "
            f"match, run {module} whole",
            file=sys.stderr,
        )
        return False
    return True


if __name__ == "__main__":
    raise SystemExit(main())
