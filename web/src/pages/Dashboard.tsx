/** The default sales dashboard: KPI cards and charts for every widget the API returns, under one period and owner. */
import { useQuery } from "@tanstack/react-query";
import { useSearchParams } from "react-router";
import { api, errorMessage, qs, type Problem } from "../lib/api";
import { formatDate, formatNumber } from "../lib/format";
import { userLabel, usersQuery } from "../lib/refs";
import { Chart, type ChartSpec } from "../components/Charts";
import { ErrorBanner, Spinner } from "../components/ui";

interface WidgetData {
  id: string;
  kind: string;
  title: string | null;
  data?: Record<string, unknown> & { value?: number | null; format?: string; chart?: ChartSpec };
  error?: Problem;
}

interface DashboardData {
  dashboard: { name?: string };
  scope: { from: string; to: string; owner_ids: number[] | null };
  widgets: WidgetData[];
}

const PERIODS: [string, string][] = [
  ["this_month", "This month"],
  ["last_month", "Last month"],
  ["this_quarter", "This quarter"],
  ["last_quarter", "Last quarter"],
  ["next_quarter", "Next quarter"],
  ["this_year", "This year"],
  ["last_year", "Last year"],
  ["custom", "Custom range"],
];

function fmtValue(v: unknown, format: string | undefined): string {
  if (v === null || v === undefined || typeof v !== "number") return "—";
  if (format === "percent") return `${formatNumber(Math.round(v * 1000) / 10)}%`;
  if (format === "days") return `${formatNumber(v)} days`;
  return formatNumber(v);
}

function num(v: unknown): string {
  return typeof v === "number" ? formatNumber(v) : "—";
}

/** One line under the big number, per built-in KPI. */
function details(w: WidgetData): string | null {
  const d = w.data ?? {};
  switch (w.id) {
    case "weighted_pipeline":
      return `${num(d.count)} open deals worth ${num(d.amount)}`;
    case "win_rate":
      return `${num(d.won)} won · ${num(d.lost)} lost`;
    case "avg_deal_size":
      return `${num(d.count)} won deals, ${num(d.total)} in total`;
    case "sales_cycle":
      return d.count ? `${num(d.count)} won deals, ${num(d.min)}–${num(d.max)} days` : "No won deals";
    case "closing_this_month":
      return `Worth ${num(d.amount)} (weighted ${num(d.weighted)}) · ${num(d.won_so_far)} won so far`;
    case "forecast_vs_quota":
      return d.quota ? `Quota ${num(d.quota)} · gap ${num(d.gap_to_quota)}` : "No quota set for this range";
    case "pipeline_by_stage":
      return "Open deals expected to close in the range";
    case "stage_funnel":
      return "Won from first stage";
    case "activities_per_rep":
      return `${num(d.total)} activities · average per rep`;
    default:
      return null;
  }
}

function WidgetCard({ w, range }: { w: WidgetData; range: string }) {
  const title = w.title || w.id;
  const spec = w.data?.chart;
  const hasChart = !!spec && Array.isArray(spec.categories);
  const fmt = formatNumber;
  return (
    <section className={hasChart ? "widget widget-chart" : "widget"} aria-label={title} data-widget={w.id}>
      <h2 className="widget-title">{title}</h2>
      {w.error ? (
        <p className="widget-error" role="alert">
          {w.error.detail || w.error.title || "This widget could not be computed."}
        </p>
      ) : (
        <>
          {w.data && "value" in w.data && (
            <p className="widget-value" data-testid="widget-value">
              {fmtValue(w.data.value, w.data.format)}
            </p>
          )}
          {details(w) && <p className="muted widget-detail">{details(w)}</p>}
          {hasChart && <Chart spec={spec!} title={`${title} (${range})`} fmt={fmt} filename={`${w.id}.png`} />}
        </>
      )}
    </section>
  );
}

export function DashboardPage() {
  const [params, setParams] = useSearchParams();
  const period = params.get("period") ?? (params.get("from") ? "custom" : "this_quarter");
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? "";
  const owner = params.get("owner") ?? "";
  const users = useQuery(usersQuery());

  const query: Record<string, string> =
    period === "custom" ? { from, to, owner_id: owner } : { period, owner_id: owner };
  const data = useQuery({
    queryKey: ["dashboard", "sales", query],
    queryFn: () => api<DashboardData>(`/api/v1/analytics/dashboards/sales/data${qs(query)}`),
    enabled: period !== "custom" || (!!from && !!to),
    placeholderData: (prev) => prev,
  });

  const set = (changes: Record<string, string>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    setParams(next, { replace: true });
  };

  const scope = data.data?.scope;
  const range = scope ? `${formatDate(scope.from)} – ${formatDate(scope.to)}` : "";

  return (
    <div className="page dashboard-page">
      <header className="page-head">
        <div>
          <h1>Dashboard</h1>
          <p className="muted" aria-live="polite" data-testid="dashboard-range">
            Sales{range ? ` · ${range}` : ""}
          </p>
        </div>
      </header>
      <form className="dashboard-filters" aria-label="Dashboard filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Period
          <select
            value={period}
            onChange={(e) => {
              const v = e.target.value;
              if (v === "custom") set({ period: "", from: scope?.from ?? "", to: scope?.to ?? "" });
              else set({ period: v, from: "", to: "" });
            }}
          >
            {PERIODS.map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </select>
        </label>
        {period === "custom" && (
          <>
            <label>
              From
              <input type="date" value={from} onChange={(e) => set({ from: e.target.value, period: "" })} />
            </label>
            <label>
              To
              <input type="date" value={to} onChange={(e) => set({ to: e.target.value, period: "" })} />
            </label>
          </>
        )}
        <label>
          Owner
          <select value={owner} onChange={(e) => set({ owner: e.target.value })}>
            <option value="">Everyone I can see</option>
            {(users.data ?? [])
              .filter((u) => u.is_active)
              .map((u) => (
                <option key={u.id} value={String(u.id)}>
                  {userLabel(u)}
                </option>
              ))}
          </select>
        </label>
        {data.isFetching && <Spinner label="Updating" />}
      </form>
      {data.isError && <ErrorBanner error={errorMessage(data.error)} />}
      {data.isLoading && <Spinner label="Loading the dashboard" />}
      {data.data && (
        <div className="widget-grid">
          {data.data.widgets.map((w) => (
            <WidgetCard key={w.id} w={w} range={range} />
          ))}
        </div>
      )}
    </div>
  );
}
