#!/usr/bin/env bash
# Ship check: the wheel, installed WITHOUT -e, reproduces the paper's numbers.
#
# Builds the wheel (pip wheel --no-deps), installs it into a folder of its own (pip install
# --no-deps --target DIR: the dependencies, torch included, come from the current environment, so
# there is no second torch install), and from a folder outside the repository, with only
# PYTHONPATH=DIR, checks that roga_bench is imported from DIR, writes a one-run FF++ sweep with the
# installed package's public testing helper and runs `python -m roga_bench.tables reproduce` on it.
# Fails unless the output holds at least one paper number (a row of a measured-vs-reported table):
# a wheel that does not ship the reported numbers prints "No cell of this table is in both".
#
#   scripts/check_wheel.sh            # ~20 s; PYTHON=... to choose the interpreter
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)

# Build from a copy of what the wheel is made of, so no build/ or *.egg-info lands in the checkout.
mkdir "$tmp/src"
cp "$repo/pyproject.toml" "$repo/README.md" "$tmp/src/"
cp -r "$repo/roga_bench" "$tmp/src/"
find "$tmp/src" -name __pycache__ -prune -exec rm -rf {} +
isolation=()
if "$python" -c "import setuptools" 2>/dev/null; then
  isolation=(--no-build-isolation) # offline and fast; else pip fetches the build backend
fi
"$python" -m pip wheel -q --no-deps "${isolation[@]}" -w "$tmp/wheel" "$tmp/src" >"$tmp/build.log" 2>&1 || {
  cat "$tmp/build.log" >&2
  echo "check_wheel: pip wheel failed" >&2
  exit 1
}
wheel=("$tmp"/wheel/roga_bench-*.whl)
"$python" -m pip install -q --no-deps --no-compile --target "$tmp/site" "${wheel[0]}"

mkdir "$tmp/run"
cd "$tmp/run" # outside the repository: nothing can be found through the working directory
export PYTHONPATH="$tmp/site"
"$python" - "$tmp/site" <<'PY'
import sys
from pathlib import Path

import roga_bench

site = Path(sys.argv[1]).resolve()
where = Path(roga_bench.__file__).resolve()
if site not in where.parents:
    sys.exit(f"check_wheel: roga_bench imported from {where}, not from the wheel in {site}")
from roga_bench.reporting.testing import checkpoint, write_run

# One RoGA run on FF++ GID-DF (test env 0), as the paper suite writes it: Tables II and IV.
write_run(
    "sweep", dataset="FFppLOMO", algorithm="RoGA", test_envs=[0],
    checkpoints=[checkpoint(0, 4, lambda k: 0.7), checkpoint(1, 4, lambda k: 0.8)],
)
PY
"$python" -m roga_bench.tables reproduce --input_dir sweep >reproduce.md
"$python" - reproduce.md <<'PY'
import sys

text = open(sys.argv[1], encoding="utf-8").read()
rows = [
    line for line in text.splitlines()
    if line.startswith("| ") and not line.startswith("| Row (ours)")
]
if not rows:
    print(text[:2000], file=sys.stderr)
    sys.exit(
        "check_wheel: `python -m roga_bench.tables reproduce` from the installed wheel shows no "
        "paper number (no measured-vs-reported row): the wheel does not ship the reported numbers"
    )
print(f"check_wheel: {len(rows)} measured-vs-reported cells from the installed wheel, e.g.")
print(rows[0])
PY
echo "check_wheel: ok in $(($(date +%s) - start)) s"
