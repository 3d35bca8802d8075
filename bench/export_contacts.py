"""Export N contacts (loaded through the import) as a streamed CSV and XLSX download, through the same code
as GET /api/v1/{object}/export; reports rows/s and peak memory of each.

    python bench/export_contacts.py --n 1000000 [--db sqlite|postgresql] [--formats csv,xlsx]

Summary line: export_contacts sqlite n=... csv_rows/s=... xlsx_rows/s=... peak_rss_mb=... load=...
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

import _dq


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--formats", default="csv,xlsx")
    args = parser.parse_args(argv)
    csv_path = Path(f"/tmp/sextant-contacts-{args.n}.csv")  # noqa: S108 - benchmark data
    child = multiprocessing.get_context("fork").Process(target=_dq.write_csv, args=(csv_path, args.n))
    child.start()
    child.join()
    target = (
        f"/tmp/sextant-bench-export-{args.n}.db"  # noqa: S108
        if args.db == "sqlite"
        else f"postgresql+psycopg://postgres@127.0.0.1:5432/bench_export_n{args.n}"
    )
    _dq.fresh(args.db, target)
    import sextant.app  # noqa: F401
    from sextant.core import export
    from sextant.core.db import new_session
    from sextant.dataquality import importer

    session = new_session()
    try:
        actor = importer.actor_for(session, 1)
        with csv_path.open("rb") as fh:
            job = importer.upload(session, actor, "contacts", csv_path.name, fh)
        options = {"emit_events": False, "chunk_size": 10_000, "check_duplicates": False}
        importer.set_mapping(session, actor, job.id, {"mapping": _dq.MAPPING, "options": options})
        importer.start(session, actor, job.id, dry_run=False)
        session.commit()
        importer.run(session, job.id)
        rates = {}
        for name in args.formats.split(","):
            fmt = export.export_format("contacts", name)
            _view, columns = export.prepare(session, actor, "contacts", format=name)
            session.commit()
            started = time.perf_counter()
            size = sum(len(chunk) for chunk in fmt.stream(actor, "contacts", columns))
            seconds = time.perf_counter() - started
            rates[name] = args.n / seconds
            print(f"{name}: {size / 1e6:.1f} MB in {seconds:.1f}s ({rates[name]:,.0f} rows/s)")
    finally:
        session.close()
    parts = " ".join(f"{k}_rows/s={v:.0f}" for k, v in rates.items())
    print(
        f"export_contacts {args.db} n={args.n} {parts} peak_rss_mb={_dq.peak_rss_mb():.0f} load={_dq.load()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
