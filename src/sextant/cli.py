"""`sextant` command line: serve, migrate, create-user, seed, dispatch, worker, reindex."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Sextant CRM", no_args_is_help=True, add_completion=False)


def _session():  # type: ignore[no-untyped-def]
    from sextant.core.db import session_scope

    return session_scope()


@app.command()
def migrate() -> None:
    """Bring the database (DATABASE_URL) to the current schema and create the default roles."""
    from sextant.bootstrap import upgrade
    from sextant.core.config import get_settings

    upgrade()
    url = get_settings().database_url
    typer.echo(f"database is up to date ({url.split('@')[-1] if '@' in url else url})")


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="Sign-in email")],
    password: Annotated[str, typer.Option(help="At least 10 characters", prompt=True, hide_input=True)],
    role: Annotated[str, typer.Option(help="admin, manager, sales, marketing, support, read_only")] = "sales",
    name: Annotated[str, typer.Option(help="Full name")] = "",
) -> None:
    """Create a user (for the first admin: --role admin)."""
    from sextant.accounts import service
    from sextant.core.errors import DomainError
    from sextant.core.permissions import SYSTEM

    try:
        with _session() as session:
            user = service.create_user(
                session,
                SYSTEM,
                {
                    "email": email,
                    "password": password,
                    "role": role,
                    "full_name": name or email.split("@")[0],
                },
            )
            typer.echo(f"created user #{user.id} {user.email} ({role})")
    except DomainError as exc:
        for err in exc.errors or []:
            typer.echo(f"error: {getattr(err, 'field', '')}: {getattr(err, 'message', err)}", err=True)
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc


@app.command()
def seed(
    demo: Annotated[bool, typer.Option("--demo", help="Fill a realistic demo company")] = False,
    contacts: Annotated[int, typer.Option(help="How many people", min=0)] = 400,
    companies: Annotated[int, typer.Option(help="How many companies", min=0)] = 120,
    admin_email: Annotated[str, typer.Option()] = "admin@example.com",
    admin_password: Annotated[str, typer.Option()] = "sextant-admin",  # noqa: S107 - the documented demo login
) -> None:
    """Seed demo data (idempotent: does nothing if the demo users exist)."""
    from sextant.demo import seed_demo

    if not demo:
        typer.echo("nothing to do: pass --demo")
        raise typer.Exit(0)
    with _session() as session:
        created = seed_demo(
            session,
            contacts=contacts,
            companies=companies,
            admin_email=admin_email,
            admin_password=admin_password,
        )
    typer.echo(created)


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    migrate_first: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Run migrations first")
    ] = True,
) -> None:
    """Run the web server (API + web UI)."""
    import uvicorn

    if migrate_first:
        from sextant.bootstrap import upgrade

        upgrade()
    uvicorn.run(
        "sextant.asgi:app", host=host, port=port, workers=workers, log_level="info", proxy_headers=True
    )


@app.command()
def dispatch(once: Annotated[bool, typer.Option(help="Drain the outbox once and exit")] = False) -> None:
    """Deliver outbox events and tick periodic jobs in a process of their own; `serve` also does this unless
    SEXTANT_RUN_DISPATCHER=false."""
    import sextant.app  # noqa: F401 - registers objects, subscribers, jobs and periodic jobs
    from sextant.core import jobs
    from sextant.core.events import DispatcherThread, dispatch_all
    from sextant.core.scheduler import SchedulerThread, run_due

    if once:
        delivered, ticked = dispatch_all(), run_due()
        typer.echo(
            f"delivered {delivered} event(s); enqueued {', '.join(ticked) or 'no'} periodic job(s); "
            f"ran {jobs.drain()} job(s)"
        )
        return
    scheduler = SchedulerThread()
    scheduler.start()
    DispatcherThread().run()


@app.command()
def worker(
    threads: Annotated[int, typer.Option(help="Worker threads in this process")] = 4,
    once: Annotated[bool, typer.Option(help="Run every due job now, then exit")] = False,
) -> None:
    """Work the job queue (SEXTANT_JOBS_BACKEND=redis: run as many of these as you like, on any machine).
    Also ticks the periodic jobs; stops gracefully on SIGINT/SIGTERM, and a killed worker's job is run
    again by another worker once its lease expires."""
    from sextant.app import load_plugins  # registers every domain's jobs and periodic jobs
    from sextant.core import jobs
    from sextant.core.scheduler import SchedulerThread

    load_plugins()

    if once:
        typer.echo(f"ran {jobs.drain()} job(s)")
        return
    scheduler = SchedulerThread()
    scheduler.start()
    try:
        jobs.Worker(workers=threads).run()
    finally:
        scheduler.stop()


@app.command()
def reindex(object_name: Annotated[str | None, typer.Argument()] = None) -> None:
    """Rebuild the full-text search index."""
    import sextant.app  # noqa: F401 - registers objects
    from sextant.core import search
    from sextant.core.metadata import registry

    if object_name is not None and not registry.has(object_name):
        known = ", ".join(registry.names())
        typer.echo(f"error: no object named '{object_name}' (one of: {known})", err=True)
        raise typer.Exit(1)
    with _session() as session:
        typer.echo(f"indexed {search.rebuild(session, object_name)} record(s)")


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV, XLSX or vCard file")],
    object_name: Annotated[str, typer.Option("--object", help="contacts, companies, leads, deals ...")],
    map_file: Annotated[
        Path | None,
        typer.Option("--map", exists=True, help="JSON: {column: field} or {mapping, key, options}"),
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="Upsert key field (default: email / domain when mapped)")
    ] = None,
    user: Annotated[str | None, typer.Option(help="Import as this user (default: the first admin)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate every row, write nothing")] = False,
    events: Annotated[bool, typer.Option("--events/--no-events", help="Emit events for workflows")] = True,
    resume: Annotated[int | None, typer.Option(help="Resume an interrupted import by its id")] = None,
) -> None:
    """Import a file with a progress bar; commits in chunks, so an interrupted import resumes (--resume)."""
    from sextant.dataquality.cli import run_cli_import

    code = run_cli_import(file, object_name, map_file, key, user, dry_run, events, resume)
    raise typer.Exit(code)


def main() -> None:  # pragma: no cover
    logging.basicConfig(level=logging.INFO)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
