"""Import N contacts from a CSV file through the real import (validation, normalisation, upsert key by
email, search index, audit entries, events), then, in the same run, the ceiling: the same stored rows
(contacts and search entries) inserted raw with executemany (SQLite) / COPY (PostgreSQL) into a fresh copy of
the same schema (indexes and FTS5/GIN included; see `ceiling` for how SQLite's FTS5 rows go in).

    python bench/import_contacts.py --n 1000000 --db sqlite
    python bench/import_contacts.py --n 1000000 --db postgresql [--no-events]

Prints one summary line:
    import_contacts sqlite n=1000000 rows/s=... ceiling=... ratio=... peak_rss_mb=... seconds=... cpu_s=...

cpu_s is this process's CPU time during the import (on a shared machine, seconds / cpu_s shows the wait for a
core; PostgreSQL's own work is not in it).
"""

from __future__ import annotations

import argparse
import multiprocessing
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

import _dq

CHUNK = 20_000


def run_import(csv_path: Path, chunk: int, events: bool) -> tuple[float, dict[str, Any]]:
    import sextant.app  # noqa: F401 - registers every object
    from sextant.core.db import new_session
    from sextant.dataquality import importer

    session = new_session()
    try:
        actor = importer.actor_for(session, 1)
        with csv_path.open("rb") as fh:
            job = importer.upload(session, actor, "contacts", csv_path.name, fh)
        body = {
            "mapping": _dq.MAPPING,
            "key": "email",
            "options": {"emit_events": events, "chunk_size": chunk},
        }
        importer.set_mapping(session, actor, job.id, body)
        importer.start(session, actor, job.id, dry_run=False)
        session.commit()
        started, cpu = time.perf_counter(), time.process_time()
        job = importer.run(session, job.id)
        elapsed = time.perf_counter() - started
        return elapsed, {**importer.describe(job), "cpu_seconds": time.process_time() - cpu}
    finally:
        session.close()


def ceiling(db: str, source: str, target: str, naive: bool = False) -> float:
    """Seconds to insert the imported contacts and their search rows raw into a fresh schema.

    SQLite: the connection settings of the app (core/db.py), contacts with executemany; the search rows with
    executemany into a temporary table, then one INSERT ... SELECT into search_entries, whose trigger fills
    the FTS5 index. An executemany straight into search_entries (`naive`) is 4-5x slower: the trigger runs
    once per statement, i.e. per row, and FTS5 writes its pending terms out at every statement, so the index
    is built from one-row segments merged over and over (issue #5's first ceiling, ~5-7k rows/s)."""
    _dq.fresh(db, target)
    spent = 0.0
    if db == "sqlite":
        src = sqlite3.connect(source)
        dst = sqlite3.connect(target, isolation_level=None)
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            "synchronous=NORMAL",
            "cache_size=-65536",
            "temp_store=MEMORY",
        ):
            dst.execute(f"PRAGMA {pragma}")
        search_cols = "object_name, record_id, field, content"
        dst.execute(f"CREATE TEMP TABLE stage ({search_cols})")
        dst.execute("BEGIN")
        for table, cols in (("contacts", None), ("search_entries", search_cols)):
            names = cols or ", ".join(r[1] for r in src.execute(f"PRAGMA table_info({table})"))
            marks = ", ".join("?" * len(names.split(", ")))
            into = "temp.stage" if table == "search_entries" and not naive else table
            cur = src.execute(f"SELECT {names} FROM {table} ORDER BY id")
            while rows := cur.fetchmany(CHUNK):
                t = time.perf_counter()
                dst.executemany(f"INSERT INTO {into} ({names}) VALUES ({marks})", rows)
                if into == "temp.stage":
                    dst.execute(
                        f"INSERT INTO search_entries ({names}) SELECT {names} FROM temp.stage ORDER BY rowid"
                    )
                    dst.execute("DELETE FROM temp.stage")
                spent += time.perf_counter() - t
        t = time.perf_counter()
        dst.execute("COMMIT")
        spent += time.perf_counter() - t
        src.close()
        dst.close()
        return spent
    src_pg = psycopg.connect(source.replace("postgresql+psycopg://", "postgresql://"))
    dst_pg = psycopg.connect(target.replace("postgresql+psycopg://", "postgresql://"))
    for table, cols in (
        ("contacts", None),
        ("search_entries", "object_name, record_id, field, content"),
    ):
        names = cols or ", ".join(
            r[0]
            for r in src_pg.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name=%s AND "
                "is_generated='NEVER' ORDER BY ordinal_position",
                (table,),
            )
        )
        with src_pg.cursor(name=f"read_{table}") as cur:
            cur.execute(f"SELECT {names} FROM {table} ORDER BY id")
            while rows := cur.fetchmany(CHUNK):
                t = time.perf_counter()
                rows = [tuple(Jsonb(v) if isinstance(v, dict | list) else v for v in row) for row in rows]
                with dst_pg.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                spent += time.perf_counter() - t
    t = time.perf_counter()
    dst_pg.commit()
    spent += time.perf_counter() - t
    src_pg.close()
    dst_pg.close()
    return spent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--chunk", type=int, default=10_000, help="rows per committed chunk")
    parser.add_argument("--events", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--csv", help="CSV path (default /tmp/sextant-contacts-N.csv, kept for reruns)")
    parser.add_argument(
        "--naive-ceiling",
        action="store_true",
        help="SQLite: also time search rows executemany'd into search_entries (its FTS5 trigger per row)",
    )
    args = parser.parse_args(argv)
    csv_path = Path(args.csv or f"/tmp/sextant-contacts-{args.n}.csv")  # noqa: S108 - benchmark data
    # Generated in a child process, so that this process's peak memory is the import's.
    child = multiprocessing.get_context("fork").Process(target=_dq.write_csv, args=(csv_path, args.n))
    child.start()
    child.join()
    if args.db == "sqlite":
        target = f"/tmp/sextant-bench-import-{args.n}.db"  # noqa: S108
        raw = f"/tmp/sextant-bench-import-{args.n}-raw.db"  # noqa: S108
    else:
        base = "postgresql+psycopg://postgres@127.0.0.1:5432"
        target, raw = f"{base}/bench_import_n{args.n}", f"{base}/bench_import_n{args.n}_raw"
    url = _dq.fresh(args.db, target)
    seconds, info = run_import(csv_path, args.chunk, args.events)
    rss = _dq.peak_rss_mb()
    rate = args.n / seconds
    print(f"import: {info['created']} created, {info['rejected']} rejected in {seconds:.1f}s ({rate:,.0f}/s)")
    raw_seconds = ceiling(args.db, target if args.db == "sqlite" else url, raw)
    ceiling_rate = info["created"] / raw_seconds if raw_seconds else 0.0
    print(f"ceiling: raw {'executemany' if args.db == 'sqlite' else 'COPY'} in {raw_seconds:.1f}s")
    naive = ""
    if args.naive_ceiling and args.db == "sqlite":
        naive_seconds = ceiling(args.db, target, raw, naive=True)
        print(f"naive ceiling: search rows executemany'd through the FTS5 trigger, {naive_seconds:.1f}s")
        naive = f" naive_ceiling={info['created'] / naive_seconds:.0f}"
    print(
        f"import_contacts {args.db} n={args.n} rows/s={rate:.0f} ceiling={ceiling_rate:.0f} "
        f"ratio={rate / ceiling_rate if ceiling_rate else 0:.2f}{naive} peak_rss_mb={rss:.0f} "
        f"seconds={seconds:.1f} cpu_s={info['cpu_seconds']:.1f} events={'on' if args.events else 'off'} "
        f"load={_dq.load()}"
    )
    return 0 if info["rejected"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
