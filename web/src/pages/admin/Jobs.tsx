import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, qs } from "../../lib/api";
import { JOB_STATUSES, type JobRun } from "../../lib/automation";
import { Icon } from "../../components/Icon";
import { ErrorBanner, Spinner } from "../../components/ui";
import { AutomationFrame, Json, LoadMore, StatusPill, When } from "../automation/common";

/** Background jobs (administrators): the run log with a status filter, the dead-letter list, retry and cancel. */
export function JobsAdminPage() {
  const qc = useQueryClient();
  const [status, setStatus] = useState("");
  const [name, setName] = useState("");
  const [open, setOpen] = useState<number | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const runs = useInfiniteQuery({
    queryKey: ["jobs", status, name],
    initialPageParam: null as number | null,
    queryFn: ({ pageParam }) => api<{ items: JobRun[]; next_before: number | null }>(`/api/v1/admin/jobs${qs({ status, name: name.trim(), before: pageParam, limit: 50 })}`),
    getNextPageParam: (last) => last.next_before,
    refetchInterval: 5000,
  });
  const act = useMutation({
    mutationFn: ({ run, what }: { run: JobRun; what: "retry" | "cancel" }) => api<JobRun>(`/api/v1/admin/jobs/${run.id}/${what}`, { method: "POST" }),
    onSuccess: (out, { what }) => {
      setNotice(what === "retry" ? `Job #${out.id} is queued again.` : `Job #${out.id} is cancelled.`);
      qc.invalidateQueries({ queryKey: ["jobs"] });
    },
  });
  const items = runs.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <AutomationFrame title="Background jobs">
      <div className="filter-bar" role="group" aria-label="Filter jobs">
        <div className="field">
          <span className="field-label" id="job-view">
            Show
          </span>
          <div className="row-flex" role="group" aria-labelledby="job-view">
            <button type="button" className="btn btn-small" aria-pressed={status === ""} onClick={() => setStatus("")}>
              All runs
            </button>
            <button type="button" className="btn btn-small" aria-pressed={status === "dead"} onClick={() => setStatus("dead")}>
              Dead letters
            </button>
          </div>
        </div>
        <div className="field">
          <label className="field-label" htmlFor="job-status">
            Status
          </label>
          <select id="job-status" className="input" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">Any</option>
            {JOB_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label className="field-label" htmlFor="job-name">
            Job name
          </label>
          <input id="job-name" className="input" type="search" value={name} placeholder="e.g. webhooks.deliver" onChange={(e) => setName(e.target.value)} />
        </div>
      </div>
      <p className="help">Failed jobs are retried with backoff; a job out of attempts goes to the dead letters, where it can be retried with fresh attempts. Queued jobs can be cancelled.</p>
      <ErrorBanner error={act.error ?? runs.error} />
      {notice && (
        <div className="banner banner-ok" role="status">
          <span>{notice}</span>
          <button type="button" className="icon-btn" aria-label="Dismiss message" onClick={() => setNotice(null)}>
            <Icon name="x" size={16} />
          </button>
        </div>
      )}
      {runs.isLoading && <Spinner />}
      {runs.data && (
        <div className="table-wrap">
          <table className="data-table admin-table">
            <caption className="sr-only">{status === "dead" ? "Dead letters" : "Job runs"}, newest first</caption>
            <thead>
              <tr>
                <th scope="col" className="col-title">Job</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Run at</th>
                <th scope="col">Finished</th>
                <th scope="col">Last error</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <JobRow key={r.id} r={r} open={open === r.id} onToggle={() => setOpen(open === r.id ? null : r.id)} busy={act.isPending} onAct={(what) => act.mutate({ run: r, what })} />
              ))}
            </tbody>
          </table>
          {items.length === 0 && <p className="empty">{status === "dead" ? "No dead letters." : "No job runs."}</p>}
        </div>
      )}
      <LoadMore next={runs.hasNextPage ? 1 : null} busy={runs.isFetchingNextPage} onMore={() => runs.fetchNextPage()} />
    </AutomationFrame>
  );
}

function JobRow({ r, open, onToggle, busy, onAct }: { r: JobRun; open: boolean; onToggle: () => void; busy: boolean; onAct: (what: "retry" | "cancel") => void }) {
  return (
    <>
      <tr>
        <td className="col-title" data-label="Job">
          <strong>{r.name}</strong> <span className="muted">#{r.id}</span>
        </td>
        <td data-label="Status">
          <StatusPill status={r.status} />
        </td>
        <td data-label="Attempts">
          {r.attempts} / {r.max_attempts}
        </td>
        <td data-label="Run at">
          <When at={r.run_at} />
        </td>
        <td data-label="Finished">
          <When at={r.finished_at} />
        </td>
        <td data-label="Last error" className="cell-wrap">
          {r.last_error ? <span className="err-text">{r.last_error.split("\n").filter(Boolean).slice(-1)[0]}</span> : <span className="muted">—</span>}
        </td>
        <td className="row-actions">
          <button type="button" className="btn btn-small" aria-expanded={open} aria-label={`Details of job ${r.id}`} onClick={onToggle}>
            <span aria-hidden="true">{open ? "Hide" : "Details"}</span>
          </button>
          {(r.status === "dead" || r.status === "cancelled") && (
            <button type="button" className="btn btn-small" disabled={busy} aria-label={`Retry job ${r.id}`} onClick={() => onAct("retry")}>
              <span aria-hidden="true">Retry</span>
            </button>
          )}
          {r.status === "queued" && (
            <button type="button" className="btn btn-small btn-danger" disabled={busy} aria-label={`Cancel job ${r.id}`} onClick={() => onAct("cancel")}>
              <span aria-hidden="true">Cancel</span>
            </button>
          )}
        </td>
      </tr>
      {open && (
        <tr>
          <td colSpan={7} data-label="Details" className="cell-wrap">
            <dl className="dl-grid">
              <dt>Arguments</dt>
              <dd>
                <Json value={{ args: r.args, kwargs: r.kwargs }} label={`Arguments of job ${r.id}`} />
              </dd>
              <dt>Idempotency key</dt>
              <dd>{r.key ?? "—"}</dd>
              <dt>Created</dt>
              <dd>
                <When at={r.created_at} />
              </dd>
              <dt>Started</dt>
              <dd>
                <When at={r.started_at} />
              </dd>
              <dt>Last error</dt>
              <dd>{r.last_error ? <Json value={r.last_error} label={`Last error of job ${r.id}`} /> : "—"}</dd>
            </dl>
          </td>
        </tr>
      )}
    </>
  );
}
