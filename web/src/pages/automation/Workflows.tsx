import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { api, ApiError, ifMatch } from "../../lib/api";
import { catalogQuery, workflowsQuery, type Workflow } from "../../lib/automation";
import { useObjects } from "../../lib/meta";
import { Icon } from "../../components/Icon";
import { ErrorBanner, Modal, Spinner } from "../../components/ui";
import { AutomationFrame, SaveSwitch, StatusPill, When } from "./common";

function EnabledToggle({ wf }: { wf: Workflow }) {
  const qc = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const toggle = useMutation({
    mutationFn: (enabled: boolean) =>
      api<Workflow>(`/api/v1/workflows/${wf.id}`, { method: "PATCH", body: { enabled }, headers: ifMatch(wf.version) }),
    onMutate: (enabled) => qc.setQueryData<Workflow[]>(["workflows"], (list) => list?.map((w) => (w.id === wf.id ? { ...w, enabled } : w))),
    onSuccess: (saved) => {
      setError(null);
      qc.setQueryData<Workflow[]>(["workflows"], (list) => list?.map((w) => (w.id === saved.id ? saved : w)));
      qc.setQueryData(["workflow", saved.id], saved);
    },
    onError: (err) => {
      setError(err instanceof ApiError && err.status === 409 ? "Changed by someone else: the list was reloaded." : err);
      qc.invalidateQueries({ queryKey: ["workflows"] });
    },
  });
  return (
    <>
      <SaveSwitch checked={wf.enabled} label={`${wf.name} enabled`} onToggle={(next) => toggle.mutateAsync(next)} />
      {error ? <p className="field-error" role="alert">{error instanceof Error ? error.message : String(error)}</p> : null}
    </>
  );
}

export function WorkflowsPage() {
  const qc = useQueryClient();
  const list = useQuery(workflowsQuery);
  const catalog = useQuery(catalogQuery);
  const objects = useObjects();
  const [deleting, setDeleting] = useState<Workflow | null>(null);
  const items = list.data ?? [];
  const del = useMutation({
    mutationFn: (w: Workflow) => api(`/api/v1/workflows/${w.id}`, { method: "DELETE" }),
    onSuccess: () => {
      setDeleting(null);
      qc.invalidateQueries({ queryKey: ["workflows"] });
    },
  });
  const triggerLabel = (t: string) => catalog.data?.triggers.find((x) => x.type === t)?.label ?? t;
  const objectLabel = (o: string | null) => (o ? (objects.data?.find((x) => x.name === o)?.label ?? o) : "—");

  return (
    <AutomationFrame
      title="Workflows"
      actions={
        <Link className="btn btn-primary" to="/automation/workflows/new">
          <Icon name="plus" size={18} /> New workflow
        </Link>
      }
    >
      <p className="help">A workflow starts on a trigger, checks its conditions on the record, then runs its actions in order, acting as the workflow (system rights, its own name in the history).</p>
      <ErrorBanner error={list.error} />
      {list.isLoading && <Spinner />}
      {list.data && (
        <div className="table-wrap">
          <table className="data-table admin-table">
            <caption className="sr-only">Workflows</caption>
            <thead>
              <tr>
                <th scope="col" className="col-title">Name</th>
                <th scope="col">Object</th>
                <th scope="col">Trigger</th>
                <th scope="col">Enabled</th>
                <th scope="col">Last run</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((w) => {
                const last = w.last_run;
                return (
                  <tr key={w.id}>
                    <td className="col-title" data-label="Name">
                      <Link to={`/automation/workflows/${w.id}`}>
                        <strong>{w.name}</strong>
                      </Link>
                    </td>
                    <td data-label="Object">{objectLabel(w.object_name)}</td>
                    <td data-label="Trigger">{triggerLabel(w.trigger.type)}</td>
                    <td data-label="Enabled">
                      <EnabledToggle wf={w} />
                    </td>
                    <td data-label="Last run">
                      {last ? (
                        <span className="row-flex">
                          <StatusPill status={last.status} /> <When at={last.created_at} />
                        </span>
                      ) : (
                        <span className="muted">Never</span>
                      )}
                    </td>
                    <td className="row-actions">
                      <Link className="btn btn-small" to={`/automation/workflows/${w.id}/runs`} aria-label={`Run history of ${w.name}`}>
                        <Icon name="history" size={16} /> <span aria-hidden="true">Runs</span>
                      </Link>
                      <button type="button" className="btn btn-small btn-danger" aria-label={`Delete ${w.name}`} onClick={() => setDeleting(w)}>
                        <Icon name="trash" size={16} /> <span aria-hidden="true">Delete</span>
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {items.length === 0 && <p className="empty">No workflows yet. Start with “New workflow”.</p>}
        </div>
      )}
      <Modal open={!!deleting} title={`Delete the workflow ${deleting?.name ?? ""}?`} onClose={() => setDeleting(null)}>
        <p>It stops at once; its run history stays.</p>
        <ErrorBanner error={del.error} />
        <div className="form-actions">
          <button type="button" className="btn" onClick={() => setDeleting(null)}>
            Cancel
          </button>
          <button type="button" className="btn btn-danger" disabled={del.isPending} onClick={() => deleting && del.mutate(deleting)}>
            Delete workflow
          </button>
        </div>
      </Modal>
    </AutomationFrame>
  );
}
