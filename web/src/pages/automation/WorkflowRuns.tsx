import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router";
import { api, qs } from "../../lib/api";
import { catalogQuery, RUN_STATUSES, workflowQuery, type RunPage, type WorkflowRun } from "../../lib/automation";
import { useObjects } from "../../lib/meta";
import { RefLink } from "../../components/Value";
import { ErrorBanner, Spinner } from "../../components/ui";
import { AutomationFrame, Json, LoadMore, StatusPill, When } from "./common";
import { stepPath } from "./WorkflowEditor";

function RecordCell({ run }: { run: WorkflowRun }) {
  const objects = useObjects();
  if (!run.object_name || !run.record_id) return <span className="muted">—</span>;
  const obj = objects.data?.find((o) => o.name === run.object_name);
  return obj ? <RefLink object={run.object_name} id={run.record_id} /> : <span>{`${run.object_name} #${run.record_id}`}</span>;
}

export function WorkflowRunsPage() {
  const { id } = useParams();
  const wfId = Number(id);
  const wf = useQuery(workflowQuery(wfId));
  const [status, setStatus] = useState("");
  const runs = useInfiniteQuery({
    queryKey: ["workflow-runs-page", wfId, status],
    initialPageParam: null as number | null,
    queryFn: ({ pageParam }) => api<RunPage>(`/api/v1/workflows/${wfId}/runs${qs({ status, before: pageParam, limit: 50 })}`),
    getNextPageParam: (last) => last.next_before,
    refetchInterval: 5000,
  });
  const items = runs.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <AutomationFrame
      title={wf.data ? `Runs of ${wf.data.name}` : "Runs"}
      back={{ to: `/automation/workflows/${wfId}`, label: wf.data ? `Workflow ${wf.data.name}` : "Workflow" }}
    >
      <div className="filter-bar">
        <div className="field">
          <label className="field-label" htmlFor="run-status">
            Status
          </label>
          <select id="run-status" className="input" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">Any</option>
            {RUN_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorBanner error={runs.error ?? wf.error} />
      {runs.isLoading && <Spinner />}
      {runs.data && (
        <div className="table-wrap">
          <table className="data-table admin-table">
            <caption className="sr-only">Runs, newest first</caption>
            <thead>
              <tr>
                <th scope="col" className="col-title">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Trigger</th>
                <th scope="col">Record</th>
                <th scope="col">Version</th>
                <th scope="col">Started</th>
                <th scope="col">Finished</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={r.id}>
                  <td className="col-title" data-label="Run">
                    <Link to={`/automation/runs/${r.id}`} aria-label={`Run ${r.id} details`}>
                      Run #{r.id}
                    </Link>
                  </td>
                  <td data-label="Status">
                    <StatusPill status={r.status} />
                  </td>
                  <td data-label="Trigger">{r.trigger_type}</td>
                  <td data-label="Record">
                    <RecordCell run={r} />
                  </td>
                  <td data-label="Version">v{r.workflow_version}</td>
                  <td data-label="Started">
                    <When at={r.created_at} />
                  </td>
                  <td data-label="Finished">
                    <When at={r.finished_at} />
                  </td>
                  <td data-label="Error" className="cell-wrap">
                    {r.error ? <span className="err-text">{r.error}</span> : <span className="muted">—</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {items.length === 0 && <p className="empty">No runs{status ? ` with status ${status}` : ""} yet.</p>}
        </div>
      )}
      <LoadMore next={runs.hasNextPage ? 1 : null} busy={runs.isFetchingNextPage} onMore={() => runs.fetchNextPage()} />
    </AutomationFrame>
  );
}

export function WorkflowRunPage() {
  const { runId } = useParams();
  const run = useQuery({
    queryKey: ["workflow-run", Number(runId)],
    queryFn: () => api<WorkflowRun>(`/api/v1/workflow-runs/${runId}`),
    refetchInterval: (q) => (q.state.data && ["queued", "running", "waiting"].includes(q.state.data.status) ? 3000 : false),
  });
  const catalog = useQuery(catalogQuery);
  const wf = useQuery({ ...workflowQuery(run.data?.workflow_id ?? 0), enabled: !!run.data, retry: false });
  const label = (t: string) => catalog.data?.actions.find((a) => a.type === t)?.label ?? t;
  const r = run.data;
  return (
    <AutomationFrame
      title={`Run #${runId}`}
      back={r ? { to: `/automation/workflows/${r.workflow_id}/runs`, label: wf.data ? `Runs of ${wf.data.name}` : "Runs" } : { to: "/automation/workflows", label: "Workflows" }}
    >
      <ErrorBanner error={run.error} />
      {run.isLoading && <Spinner />}
      {r && (
        <>
          <section className="card auto-section" aria-labelledby="run-h">
            <h2 id="run-h">Summary</h2>
            <dl className="dl-grid">
              <dt>Status</dt>
              <dd>
                <StatusPill status={r.status} />
              </dd>
              <dt>Workflow</dt>
              <dd>
                <Link to={`/automation/workflows/${r.workflow_id}`}>{wf.data?.name ?? `#${r.workflow_id}`}</Link> (version {r.workflow_version})
              </dd>
              <dt>Trigger</dt>
              <dd>{r.trigger_type}</dd>
              <dt>Record</dt>
              <dd>
                <RecordCell run={r} />
              </dd>
              <dt>Started</dt>
              <dd>
                <When at={r.created_at} />
              </dd>
              <dt>Finished</dt>
              <dd>
                <When at={r.finished_at} />
              </dd>
              {r.depth > 0 && (
                <>
                  <dt>Depth</dt>
                  <dd>{r.depth} (started by another workflow's change)</dd>
                </>
              )}
              {r.error && (
                <>
                  <dt>Error</dt>
                  <dd className="err-text">{r.error}</dd>
                </>
              )}
            </dl>
          </section>
          <section aria-labelledby="steps-h">
            <h2 id="steps-h">Steps</h2>
            {(r.steps ?? []).length === 0 && <p className="empty">No steps ran{r.status === "skipped" ? " (the run was skipped)" : ""}.</p>}
            <ol className="step-list">
              {(r.steps ?? []).map((s) => (
                <li key={`${s.path}-${s.at}`} className="card step-card">
                  <header>
                    <strong>
                      {stepPath(s.path)}. {label(s.action)}
                    </strong>
                    <StatusPill status={s.status} />
                    <span className="muted">
                      {s.attempts} {s.attempts === 1 ? "attempt" : "attempts"}
                    </span>
                    <When at={s.at} />
                  </header>
                  {s.error && <p className="step-error">Error: {s.error}</p>}
                  {s.output !== null && s.output !== undefined && Object.keys(s.output as object).length > 0 && <Json value={s.output} label={`Output of step ${stepPath(s.path)}`} />}
                </li>
              ))}
            </ol>
          </section>
        </>
      )}
    </AutomationFrame>
  );
}
