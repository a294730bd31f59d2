"""The model-based test of the whole domain, long: many random sequences of real actions
with the invariants checked after every step (nattillsyn/tests/test_domain_model.py).

Runs that test in pytest (its test database, SQLite or PostgreSQL) with more sequences
than `make test` does, in chunks of ``--chunk`` sequences, each chunk in a pytest of its
own with its own random seed (so a long run does not hold one growing process), and
prints:

    invariants.sequences: N   # random sequences run, each from a fresh database state
    invariants.steps: N       # actions run (each followed by every invariant)
    invariants.violations: N  # sequences that broke an invariant (its steps are printed)

    .venv/bin/python benchmarks/domain_model.py                   # 1,000 sequences, SQLite
    .venv/bin/python benchmarks/domain_model.py --db postgres     # the same on PostgreSQL
    .venv/bin/python benchmarks/domain_model.py --quick           # 100 sequences
    .venv/bin/python benchmarks/domain_model.py --jobs 2          # two chunks at a time
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _common import PYTHON, ROOT, headline, machine_load, say

TEST = "nattillsyn/tests/test_domain_model.py::test_the_domain_keeps_its_promises"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sequences", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=30, help="steps per sequence at most")
    parser.add_argument("--chunk", type=int, default=100, help="sequences per pytest process")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--jobs", type=int, default=1, help="chunks run at the same time")
    parser.add_argument("--quick", action="store_true", help="100 sequences")
    return parser.parse_args()


def run_chunk(sequences: int, steps: int, db: str, seed: int) -> tuple[dict[str, Any], str, int]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        stats_path = handle.name
    env = dict(
        os.environ,
        DB=db,
        DOMAIN_MODEL_SEQUENCES=str(sequences),
        DOMAIN_MODEL_STEPS=str(steps),
        DOMAIN_MODEL_STATS=stats_path,
    )
    command = [PYTHON, "-m", "pytest", TEST, "-q", "-p", "no:cacheprovider", f"--hypothesis-seed={seed}"]
    if db == "postgres":
        command.append("--create-db")
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    try:
        with open(stats_path) as handle:
            stats = json.load(handle)
    except (OSError, ValueError):
        stats = {"sequences": 0, "steps": 0, "violations": 1, "rules": {}}
    finally:
        os.unlink(stats_path)
    return stats, result.stdout + result.stderr, result.returncode


def main() -> None:
    args = parse_args()
    total = 100 if args.quick else args.sequences
    say(f"domain model: {total} sequences of up to {args.steps} steps on {args.db} ({machine_load()})")
    started = time.perf_counter()
    sequences = steps = violations = 0
    rules: Counter[str] = Counter()
    seed = int(time.time())
    chunks: list[tuple[int, int]] = []
    planned = 0
    while planned < total:
        chunks.append((min(args.chunk, total - planned), seed + len(chunks)))
        planned += chunks[-1][0]
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        runs = pool.map(lambda chunk: (chunk[1], *run_chunk(chunk[0], args.steps, args.db, chunk[1])), chunks)
        for chunk_seed, stats, output, returncode in runs:
            sequences += int(stats["sequences"])
            steps += int(stats["steps"])
            rules.update(stats.get("rules", {}))
            if returncode != 0 or stats["violations"]:
                violations += 1
                say(f"a sequence broke an invariant (--hypothesis-seed={chunk_seed}):\n{output[-20000:]}")
            elapsed = time.perf_counter() - started
            say(f"  {sequences} sequences, {steps} steps, {violations} violations, {elapsed:.0f} s")
    for name, count in sorted(rules.items()):
        say(f"  {name}: {count}")
    say(f"total run: {time.perf_counter() - started:.0f} s")
    headline("invariants.sequences", sequences)
    headline("invariants.steps", steps)
    headline("invariants.violations", violations)
    sys.exit(1 if violations else 0)


if __name__ == "__main__":
    main()
