"""The ASGI application: every domain's routers, the generic object routers and the web UI."""

from __future__ import annotations

import importlib
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import FileResponse, Response
from sqlalchemy import text

import sextant
from sextant.accounts import api as accounts_api
from sextant.accounts import service as accounts_service
from sextant.accounts.auth import resolve_actor
from sextant.activities import api as activities_api
from sextant.activities import jobs as _activity_jobs  # noqa: F401 - registers periodic jobs
from sextant.activities import objects as _activity_objects  # noqa: F401 - registers activities and tasks
from sextant.analytics import api as analytics_api
from sextant.analytics import jobs as _analytics_jobs  # noqa: F401 - retraining job, rescoring subscriber
from sextant.automation import api as automation_api
from sextant.automation import engine as _automation_engine  # noqa: F401 - registers subscribers and jobs
from sextant.collaboration import api as collaboration_api
from sextant.contacts import api as contacts_api
from sextant.contacts import objects as _contact_objects  # noqa: F401 - registers contacts and companies
from sextant.core import jobs, jobs_api, metadata_api, records, search
from sextant.core.config import get_settings
from sextant.core.deps import ActorDep, SessionDep, set_actor_resolver
from sextant.core.errors import NotFound
from sextant.core.events import DispatcherThread
from sextant.core.http import STANDARD_PROBLEMS, FastJSON, install_error_handlers, problem
from sextant.core.metadata import registry
from sextant.core.records_api import object_router
from sextant.core.scheduler import SchedulerThread
from sextant.dataquality import api as dataquality_api
from sextant.deals import api as deals_api
from sextant.deals import objects as _deal_objects  # noqa: F401 - registers deals
from sextant.deals import service as deals_service
from sextant.leads import api as leads_api
from sextant.leads import objects as _lead_objects  # noqa: F401 - registers leads
from sextant.views import api as views_api

WEB_DIST = Path(__file__).parent / "web" / "dist"

set_actor_resolver(resolve_actor)
records.register_reference_checker("users", accounts_service.user_exists)
records.register_reference_checker("pipelines", deals_service.pipeline_exists)
records.register_reference_checker("stages", deals_service.stage_exists)

misc = APIRouter(prefix="/api/v1", responses=STANDARD_PROBLEMS)


@misc.get("/health", tags=["system"], summary="Liveness and database reachability")
def health(session: SessionDep) -> dict[str, Any]:
    session.execute(text("SELECT 1"))
    return {"status": "ok", "version": sextant.__version__, "database": session.get_bind().dialect.name}


@misc.get("/search", tags=["search"], summary="Search every object you may read, ranked")
def global_search(
    session: SessionDep,
    actor: ActorDep,
    q: Annotated[str, Query(max_length=200)],
    objects: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    names = [o.strip() for o in objects.split(",") if o.strip()] if objects else None
    return {"items": search.search(session, actor, q, objects=names, limit=limit)}


def load_plugins() -> None:
    for module in get_settings().plugin_modules():
        importlib.import_module(module)


def create_app(*, dispatcher: bool | None = None) -> FastAPI:
    settings = get_settings()
    load_plugins()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        # Background work of a server process: the outbox dispatcher, the periodic-job ticker and (embedded
        # jobs backend) job worker threads. All lock their rows, so every process may run them;
        # SEXTANT_RUN_DISPATCHER=false leaves them to `sextant dispatch` / `sextant worker`, and
        # SEXTANT_RUN_WORKER=false leaves only the job work to `sextant worker`.
        threads: list[Any] = []
        if dispatcher if dispatcher is not None else settings.run_dispatcher:
            threads = [DispatcherThread(), SchedulerThread()]
            if settings.run_worker:
                threads.append(jobs.Worker(workers=settings.worker_threads))
            for t in threads:
                t.start()
        yield
        for t in threads:
            t.stop()

    app = FastAPI(
        title="Sextant CRM",
        version=sextant.__version__,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        default_response_class=FastJSON,
        lifespan=lifespan,
        description="Six kinds of CRM, one instrument. Errors are RFC 9457 problem+json.",
    )
    install_error_handlers(app)
    app.include_router(misc)
    app.include_router(accounts_api.router)
    app.include_router(metadata_api.router)
    app.include_router(jobs_api.router)
    app.include_router(contacts_api.router)
    # Domain routers before the generic object routers: /deals/summary must not be read as /deals/{id}.
    app.include_router(deals_api.router)
    app.include_router(leads_api.router)
    app.include_router(leads_api.public)
    app.include_router(activities_api.router)
    app.include_router(collaboration_api.router)
    app.include_router(automation_api.router)
    app.include_router(views_api.router)
    app.include_router(analytics_api.router)
    app.include_router(dataquality_api.router)
    for objdef in registry.all():
        app.include_router(object_router(objdef))
    _mount_web(app)
    return app


def _mount_web(app: FastAPI) -> None:
    """Serve the built single-page app; unknown non-API paths get index.html (client-side routing)."""

    @app.get("/{path:path}", include_in_schema=False)
    def spa(path: str) -> Response:
        if path.startswith(("api/", "openapi.json", "docs")):
            return problem(404, NotFound(f"Path '/{path}'").as_problem(f"/{path}"))
        candidate = (WEB_DIST / path).resolve()
        if path and candidate.is_file() and WEB_DIST.resolve() in candidate.parents:
            return FileResponse(candidate)
        index = WEB_DIST / "index.html"
        if index.is_file():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return Response(
            "Sextant API is running; the web UI is not built (run `npm run build` in web/). API docs: /docs",
            media_type="text/plain",
        )
