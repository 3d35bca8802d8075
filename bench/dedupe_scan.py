"""Duplicate scan of N contacts of which ~10% are planted duplicates (typos, swapped names, reformatted
phones, another email), loaded through the import; reports the scan's wall time and precision/recall/F1
against the planted truth.

    python bench/dedupe_scan.py --n 100000 [--db sqlite|postgresql]

Summary line: dedupe_scan sqlite n=100000 planted=... seconds=... precision=... recall=... f1=... load=...
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import random
import sys
import time
from pathlib import Path
from typing import Any

import _dq


def typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word + rng.choice("aeiou")
    i = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.4:
        return word[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz") + word[i + 1 :]
    if kind < 0.7:
        return word[:i] + word[i + 1 :]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def reformat(rng: random.Random, phone: str) -> str:
    digits = phone.lstrip("+")
    if phone.startswith("+1") and rng.random() < 0.5:
        d = digits[1:]
        return f"({d[:3]}) {d[3:6]}-{d[6:]}"
    chunks = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "+" + rng.choice([" ", ".", "-"]).join(chunks)


def variant(rng: random.Random, person: dict[str, Any]) -> dict[str, Any]:
    dup = dict(person)
    kind = rng.random()
    first, last = person["first_name"], person["last_name"]
    if kind < 0.35:
        if rng.random() < 0.5:
            dup["first_name"] = typo(rng, first)
        else:
            dup["last_name"] = typo(rng, last)
    elif kind < 0.6:
        dup["first_name"], dup["last_name"] = last, first
    dup["phone"] = reformat(rng, person["phone"]) if person.get("phone") else None
    dup["mobile_phone"] = reformat(rng, person["mobile_phone"]) if person.get("mobile_phone") else None
    local = "".join(c for c in f"{first}.{last}".lower() if c.isalnum() or c == ".")
    dup["email"] = f"{local or 'x'}.{rng.randrange(10**6)}@{rng.choice(('gmail.com', 'outlook.com'))}"
    if rng.random() < 0.3:
        dup["email"] = None
    dup["street"] = None if rng.random() < 0.5 else person.get("street")
    return dup


def write(path: Path, n: int, seed: int = 42) -> None:
    """Originals then duplicates of ~10% of them; the truth (row numbers of each pair) beside the CSV."""
    rng = random.Random(seed)
    planted = n // 10
    originals = list(_dq.people(n - planted, seed))
    with_phone = [i for i, p in enumerate(originals) if p.get("phone") or p.get("mobile_phone")]
    chosen = rng.sample(with_phone, planted)
    rows = originals + [variant(rng, originals[i]) for i in chosen]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([h for h, _ in _dq.CSV_COLUMNS])
        for person in rows:
            writer.writerow([_dq.cell(person.get(f)) for _, f in _dq.CSV_COLUMNS])
    with path.with_suffix(".truth").open("w") as fh:
        for k, i in enumerate(chosen):
            fh.write(f"{i + 1} {len(originals) + k + 1}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args(argv)
    path = Path(f"/tmp/sextant-dedupe-{args.n}.csv")  # noqa: S108 - benchmark data
    if not path.exists():
        child = multiprocessing.get_context("fork").Process(target=write, args=(path, args.n))
        child.start()
        child.join()
    truth = {
        tuple(sorted(map(int, line.split()))) for line in path.with_suffix(".truth").read_text().splitlines()
    }
    target = (
        f"/tmp/sextant-bench-dedupe-{args.n}.db"  # noqa: S108
        if args.db == "sqlite"
        else f"postgresql+psycopg://postgres@127.0.0.1:5432/bench_dedupe_n{args.n}"
    )
    _dq.fresh(args.db, target)
    import sextant.app  # noqa: F401
    from sextant.core.db import new_session
    from sextant.dataquality import dedupe, importer

    session = new_session()
    try:
        actor = importer.actor_for(session, 1)
        with path.open("rb") as fh:
            job = importer.upload(session, actor, "contacts", path.name, fh)
        body = {"mapping": _dq.MAPPING, "options": {"emit_events": False, "chunk_size": 10_000}}
        importer.set_mapping(session, actor, job.id, body)
        importer.start(session, actor, job.id, dry_run=False)
        session.commit()
        job = importer.run(session, job.id)
        if job.rejected_count or job.created_count != args.n:
            print(
                f"import rejected {job.rejected_count} rows; ids would not match the truth", file=sys.stderr
            )
            return 1
        started = time.perf_counter()
        stats = dedupe.scan(session, "contacts")
        seconds = time.perf_counter() - started
        from sqlalchemy import select

        from sextant.dataquality.models import DuplicatePair

        found = {
            (a, b) for a, b in session.execute(select(DuplicatePair.record_a_id, DuplicatePair.record_b_id))
        }
    finally:
        session.close()
    hits = len(found & truth)
    precision = hits / len(found) if found else 0.0
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print(f"scan: compared {stats['compared']} candidate pairs, kept {stats['pairs']}")
    print(
        f"dedupe_scan {args.db} n={args.n} planted={len(truth)} seconds={seconds:.1f} "
        f"precision={precision:.3f} recall={recall:.3f} f1={f1:.3f} "
        f"peak_rss_mb={_dq.peak_rss_mb():.0f} load={_dq.load()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
