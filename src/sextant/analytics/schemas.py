"""Request and response shapes of the analytics API (documented in OpenAPI for the UI)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_ID = 2**31 - 1


class GroupBy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(max_length=130, description="A field, or reference_field.field of the related object")
    bucket: Literal["day", "week", "month", "quarter", "year"] | None = Field(
        default=None, description="Date and datetime fields only (default month); UTC"
    )


class Aggregate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    op: Literal["count", "sum", "avg", "min", "max", "count_distinct"]
    field: str | None = Field(default=None, max_length=130, description="Not needed for a row count")
    alias: str | None = Field(default=None, max_length=63, description="Column key; default op_field")


class ChartSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["table", "bar", "line", "pie", "funnel"] = "bar"
    x: str | None = Field(default=None, description="A grouped column (default: the first group)")
    series: str | None = Field(default=None, description="The second grouped column, one dataset each")
    y: list[str] | None = Field(default=None, description="Aggregate columns to plot")
    stacked: bool = False


class ReportDefinition(BaseModel):
    """What to compute. Filters use the shared filter language (as list views and segments do)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "object": "deals",
                "filter": {"field": "status", "op": "eq", "value": "won"},
                "related_filters": {"company_id": {"field": "industry", "op": "eq", "value": "software"}},
                "group_by": [{"field": "owner_id"}, {"field": "closed_at", "bucket": "quarter"}],
                "aggregates": [{"op": "count"}, {"op": "sum", "field": "amount"}],
                "sort": "-sum_amount",
                "limit": 100,
                "chart": {"type": "bar"},
            }
        },
    )
    object: str = Field(max_length=64)
    filter: Any = Field(default=None, description="Filter language expression on the object")
    related_filters: dict[str, Any] | None = Field(
        default=None, description="{reference_field: filter on the object it points to}"
    )
    group_by: list[GroupBy | str] | None = Field(default=None, max_length=2)
    aggregates: list[Aggregate | str] | None = Field(default=None, max_length=10)
    sort: str | list[str] | None = Field(default=None, description="'-sum_amount,owner_id' (column keys)")
    limit: int = Field(default=1000, ge=1, le=10000)
    chart: ChartSpec | None = None
    date_field: str | None = Field(
        default=None,
        max_length=64,
        description="Field a dashboard's date range applies to (default created_at)",
    )

    def as_definition(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, exclude_unset=True) | {"object": self.object}


class ReportColumn(BaseModel):
    key: str
    label: str
    type: str
    role: Literal["group", "measure"]
    field: str | None
    bucket: str | None
    reference: str | None


class ReportResult(BaseModel):
    object: str
    columns: list[ReportColumn]
    rows: list[dict[str, Any]] = Field(description="One object per row, keyed by column key")
    labels: dict[str, dict[str, Any]] = Field(description="Display names of grouped values, per column")
    truncated: bool = Field(description="More groups than the limit")
    chart: dict[str, Any] = Field(description="The chart spec with categories and datasets ready to plot")


class ReportIn(BaseModel):
    """Create: name and definition required. Update: any subset; team_id null makes it private."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=120)
    description: str | None = Field(default=None, max_length=1000)
    team_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    definition: ReportDefinition | None = None
    version: int | None = Field(default=None, ge=1, description="Optimistic concurrency (or If-Match)")


class ReportOut(BaseModel):
    id: int
    name: str
    description: str
    object: str
    owner_id: int
    team_id: int | None
    shared: bool
    definition: dict[str, Any]
    version: int
    editable: bool
    created_at: datetime
    updated_at: datetime


class Layout(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: int = Field(default=0, ge=0, le=1000)
    y: int = Field(default=0, ge=0, le=1000)
    w: int = Field(default=4, ge=1, le=1000)
    h: int = Field(default=3, ge=1, le=1000)


class Widget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(default=None, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    title: str | None = Field(default=None, max_length=120)
    kind: Literal["kpi", "report"] | None = None
    kpi: str | None = Field(default=None, max_length=64, description="A name from GET /analytics/kpis")
    report_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    display: Literal["card", "chart", "table", "kpi"] = "chart"
    layout: Layout | None = None


class DashboardFilters(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    period: str | None = Field(default=None, max_length=20, description="this_month, last_quarter, ...")
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    owner_ids: list[int] | None = Field(default=None, max_length=1000)
    team_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class DashboardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=120)
    team_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    widgets: list[Widget] | None = Field(default=None, max_length=40)
    filters: DashboardFilters | None = None
    version: int | None = Field(default=None, ge=1)


class DashboardOut(BaseModel):
    id: int | str
    name: str
    owner_id: int | None
    team_id: int | None
    shared: bool
    widgets: list[dict[str, Any]]
    filters: dict[str, Any]
    version: int
    editable: bool
    created_at: datetime | None
    updated_at: datetime | None


class WidgetData(BaseModel):
    id: str
    kind: str
    title: str | None
    data: dict[str, Any] | None = None
    error: dict[str, Any] | None = Field(default=None, description="problem+json of a widget that failed")
    ms: float | None = None


class DashboardData(BaseModel):
    dashboard: DashboardOut
    scope: dict[str, Any]
    widgets: list[WidgetData]


class QuotaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: int = Field(ge=1, le=MAX_ID)
    period_kind: Literal["month", "quarter", "year"]
    period: str = Field(max_length=10, description="2026-03, 2026-Q1 or 2026")
    amount: float = Field(ge=0, le=1e13)
    currency: str | None = Field(default=None, min_length=3, max_length=3)


class QuotaOut(BaseModel):
    id: int
    user_id: int
    period_kind: str
    period: str
    period_start: date
    amount: float
    currency: str
    updated_at: datetime
