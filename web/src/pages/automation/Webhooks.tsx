import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { api, ApiError, qs } from "../../lib/api";
import { webhooksQuery, type Delivery, type WebhookSub } from "../../lib/automation";
import { useObjects } from "../../lib/meta";
import { Icon } from "../../components/Icon";
import { ErrorBanner, Modal, Spinner } from "../../components/ui";
import { otherErrors, TextField } from "../admin/common";
import { AutomationFrame, CopyButton, Json, LoadMore, SaveSwitch, StatusPill, When } from "./common";

const VERIFY_SNIPPET = `import hashlib, hmac, time

def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    fields = dict(part.split("=", 1) for part in header.split(","))
    t = int(fields["t"])
    if abs(time.time() - t) > tolerance:
        return False  # too old: a replay
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, fields.get("v1", ""))`;

function parseTypes(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function SubscriptionDialog({ sub, onClose, onCreated }: { sub: WebhookSub | null; onClose: () => void; onCreated: (s: WebhookSub) => void }) {
  const qc = useQueryClient();
  const objects = useObjects();
  const [url, setUrl] = useState(sub?.url ?? "");
  const [types, setTypes] = useState((sub?.event_types ?? []).join(", "));
  const [description, setDescription] = useState(sub?.description ?? "");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: () => {
      const body = { url, event_types: parseTypes(types), description: description || null };
      return sub ? api<WebhookSub>(`/api/v1/webhooks/${sub.id}`, { method: "PATCH", body }) : api<WebhookSub>("/api/v1/webhooks", { method: "POST", body });
    },
    onSuccess: (out) => {
      qc.invalidateQueries({ queryKey: ["webhooks"] });
      if (!sub) onCreated(out);
      onClose();
    },
    onError: (err) => {
      if (err instanceof ApiError) setErrors(err.fieldErrors());
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    save.mutate();
  };
  const examples = (objects.data ?? []).slice(0, 3).map((o) => `${o.name}.created`);
  return (
    <Modal open title={sub ? "Edit the webhook subscription" : "Add a webhook subscription"} onClose={onClose} wide>
      <form onSubmit={submit} noValidate>
        <ErrorBanner error={otherErrors(errors, ["url", "event_types", "description"]) ?? (save.isError && !Object.keys(errors).length ? save.error : null)} />
        <TextField id="wh-url" label="Receiver URL" type="url" required autoFocus value={url} onChange={setUrl} error={errors.url} help="http:// or https://; Sextant POSTs JSON to it." />
        <TextField
          id="wh-types"
          label="Event types"
          required
          value={types}
          onChange={setTypes}
          error={errors.event_types}
          help={`Comma-separated; patterns allowed. E.g. ${[...examples, "deals.*", "*"].join(", ")}`}
        />
        <TextField id="wh-desc" label="Description" value={description} onChange={setDescription} error={errors.description} />
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={save.isPending}>
            {sub ? "Save subscription" : "Add subscription"}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function SecretDialog({ sub, onClose }: { sub: WebhookSub; onClose: () => void }) {
  return (
    <Modal open title="Signing secret" onClose={onClose} wide>
      <p>
        <strong>Copy it now: it is shown only once.</strong> Your receiver needs it to check that a request comes from Sextant.
      </p>
      <div className="secret-box">
        <code aria-label="Signing secret">{sub.secret}</code>
        <CopyButton text={sub.secret ?? ""} label="Copy the signing secret" />
      </div>
      <h3>Verifying a delivery</h3>
      <p>Every request carries these headers:</p>
      <ul>
        <li>
          <code>Sextant-Event</code>: the event type, e.g. <code>deals.updated</code>
        </li>
        <li>
          <code>Sextant-Delivery</code>: the delivery id, the same on every retry (de-duplicate on it)
        </li>
        <li>
          <code>Sextant-Signature</code>: <code>t=&lt;unix time&gt;,v1=&lt;hex&gt;</code>
        </li>
      </ul>
      <p>
        <code>v1</code> is HMAC-SHA256 with the secret as key over <code>{"{t}.{raw request body}"}</code>. Recompute it from the raw bytes, compare in constant time, and refuse a <code>t</code> older than a few minutes (replays). In Python:
      </p>
      <Json value={VERIFY_SNIPPET} label="Python signature check" />
      <div className="form-actions">
        <button type="button" className="btn btn-primary" onClick={onClose}>
          I have copied it
        </button>
      </div>
    </Modal>
  );
}

export function WebhooksPage() {
  const qc = useQueryClient();
  const list = useQuery(webhooksQuery);
  const [dialog, setDialog] = useState<{ sub: WebhookSub | null } | null>(null);
  const [secret, setSecret] = useState<WebhookSub | null>(null);
  const [deleting, setDeleting] = useState<WebhookSub | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: ["webhooks"] });
  const toggle = useMutation({
    mutationFn: (s: WebhookSub) => api(`/api/v1/webhooks/${s.id}`, { method: "PATCH", body: { enabled: !s.enabled } }),
    onMutate: (s) => qc.setQueryData<WebhookSub[]>(["webhooks"], (list) => list?.map((x) => (x.id === s.id ? { ...x, enabled: !s.enabled } : x))),
    onSuccess: () => setError(null),
    onError: setError,
    onSettled: refresh,
  });
  const test = useMutation({
    mutationFn: (s: WebhookSub) => api<Delivery>(`/api/v1/webhooks/${s.id}/test`, { method: "POST" }),
    onSuccess: (d, s) => {
      setError(null);
      setNotice(`Test event queued for ${s.url} (delivery #${d.id}); see its delivery log.`);
      qc.invalidateQueries({ queryKey: ["deliveries", s.id] });
    },
    onError: setError,
  });
  const del = useMutation({
    mutationFn: (s: WebhookSub) => api(`/api/v1/webhooks/${s.id}`, { method: "DELETE" }),
    onSuccess: () => {
      setDeleting(null);
      refresh();
    },
  });
  return (
    <AutomationFrame
      title="Webhooks"
      actions={
        <button type="button" className="btn btn-primary" onClick={() => setDialog({ sub: null })}>
          <Icon name="plus" size={18} /> Add subscription
        </button>
      }
    >
      <p className="help">Sextant POSTs each matching event to the URL, signed (HMAC-SHA256), retried with backoff up to 8 times; a subscription is switched off after 5 deliveries in a row fail.</p>
      <ErrorBanner error={error ?? list.error} onDismiss={error ? () => setError(null) : undefined} />
      {notice && (
        <div className="banner banner-ok" role="status">
          <span>{notice}</span>
          <button type="button" className="icon-btn" aria-label="Dismiss message" onClick={() => setNotice(null)}>
            <Icon name="x" size={16} />
          </button>
        </div>
      )}
      {list.isLoading && <Spinner />}
      {list.data && (
        <div className="table-wrap">
          <table className="data-table admin-table">
            <caption className="sr-only">Webhook subscriptions</caption>
            <thead>
              <tr>
                <th scope="col" className="col-title">URL</th>
                <th scope="col">Events</th>
                <th scope="col">Enabled</th>
                <th scope="col">Failures in a row</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((s) => (
                <tr key={s.id} className={s.enabled ? undefined : "retired"}>
                  <td className="col-title cell-wrap" data-label="URL">
                    <Link to={`/automation/webhooks/${s.id}`}>
                      <strong>{s.url}</strong>
                    </Link>
                    {s.description && <div className="muted">{s.description}</div>}
                    {s.disabled_reason && <div className="err-text">{s.disabled_reason}</div>}
                  </td>
                  <td data-label="Events" className="cell-wrap">
                    {s.event_types.join(", ")}
                  </td>
                  <td data-label="Enabled">
                    <SaveSwitch checked={s.enabled} label={`${s.url} enabled`} onToggle={() => toggle.mutateAsync(s)} />
                  </td>
                  <td data-label="Failures in a row">{s.consecutive_failures}</td>
                  <td className="row-actions">
                    <button type="button" className="btn btn-small" aria-label={`Send a test event to ${s.url}`} disabled={test.isPending} onClick={() => test.mutate(s)}>
                      <Icon name="play" size={16} /> <span aria-hidden="true">Send test</span>
                    </button>
                    <Link className="btn btn-small" to={`/automation/webhooks/${s.id}`} aria-label={`Delivery log of ${s.url}`}>
                      <Icon name="history" size={16} /> <span aria-hidden="true">Log</span>
                    </Link>
                    <button type="button" className="btn btn-small" aria-label={`Edit ${s.url}`} onClick={() => setDialog({ sub: s })}>
                      <Icon name="edit" size={16} /> <span aria-hidden="true">Edit</span>
                    </button>
                    <button type="button" className="btn btn-small btn-danger" aria-label={`Delete ${s.url}`} onClick={() => setDeleting(s)}>
                      <Icon name="trash" size={16} /> <span aria-hidden="true">Delete</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {list.data.length === 0 && <p className="empty">No subscriptions yet.</p>}
        </div>
      )}
      {dialog && <SubscriptionDialog key={dialog.sub?.id ?? "new"} sub={dialog.sub} onClose={() => setDialog(null)} onCreated={setSecret} />}
      {secret && <SecretDialog sub={secret} onClose={() => setSecret(null)} />}
      <Modal open={!!deleting} title="Delete this subscription?" onClose={() => setDeleting(null)}>
        <p className="cell-wrap">{deleting?.url}: no more deliveries; its log goes with it.</p>
        <ErrorBanner error={del.error} />
        <div className="form-actions">
          <button type="button" className="btn" onClick={() => setDeleting(null)}>
            Cancel
          </button>
          <button type="button" className="btn btn-danger" disabled={del.isPending} onClick={() => deleting && del.mutate(deleting)}>
            Delete subscription
          </button>
        </div>
      </Modal>
    </AutomationFrame>
  );
}

export function WebhookDeliveriesPage() {
  const { id } = useParams();
  const subId = Number(id);
  const qc = useQueryClient();
  const sub = useQuery({ queryKey: ["webhook", subId], queryFn: () => api<WebhookSub>(`/api/v1/webhooks/${subId}`) });
  const log = useInfiniteQuery({
    queryKey: ["deliveries", subId],
    initialPageParam: null as number | null,
    queryFn: ({ pageParam }) => api<{ items: Delivery[]; next_before: number | null }>(`/api/v1/webhooks/${subId}/deliveries${qs({ before: pageParam, limit: 50 })}`),
    getNextPageParam: (last) => last.next_before,
    refetchInterval: 4000,
  });
  const test = useMutation({
    mutationFn: () => api<Delivery>(`/api/v1/webhooks/${subId}/test`, { method: "POST" }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["deliveries", subId] }),
  });
  const [open, setOpen] = useState<number | null>(null);
  const items = log.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <AutomationFrame
      title="Delivery log"
      back={{ to: "/automation/webhooks", label: "Webhooks" }}
      actions={
        <button type="button" className="btn" disabled={test.isPending} onClick={() => test.mutate()}>
          <Icon name="play" size={18} /> Send test
        </button>
      }
    >
      {sub.data && (
        <p className="cell-wrap">
          <strong>{sub.data.url}</strong> <span className="muted">({sub.data.event_types.join(", ")})</span> {!sub.data.enabled && <span className="pill">disabled</span>}
        </p>
      )}
      <ErrorBanner error={log.error ?? sub.error ?? test.error} />
      {log.isLoading && <Spinner />}
      {log.data && (
        <div className="table-wrap">
          <table className="data-table admin-table">
            <caption className="sr-only">Deliveries, newest first</caption>
            <thead>
              <tr>
                <th scope="col" className="col-title">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Response</th>
                <th scope="col">Error</th>
                <th scope="col">Created</th>
                <th scope="col">Delivered</th>
                <th scope="col">
                  <span className="sr-only">Details</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <DeliveryRow key={d.id} d={d} open={open === d.id} onToggle={() => setOpen(open === d.id ? null : d.id)} />
              ))}
            </tbody>
          </table>
          {items.length === 0 && <p className="empty">No deliveries yet. “Send test” queues one.</p>}
        </div>
      )}
      <LoadMore next={log.hasNextPage ? 1 : null} busy={log.isFetchingNextPage} onMore={() => log.fetchNextPage()} />
    </AutomationFrame>
  );
}

function DeliveryRow({ d, open, onToggle }: { d: Delivery; open: boolean; onToggle: () => void }) {
  return (
    <>
      <tr>
        <td className="col-title" data-label="Event">
          <strong>{d.event_type}</strong> <span className="muted">#{d.id}</span>
        </td>
        <td data-label="Status">
          <StatusPill status={d.status} />
        </td>
        <td data-label="Attempts">{d.attempts}</td>
        <td data-label="Response">
          {d.response_status ?? "—"}
          {d.duration_ms !== null && <span className="muted"> · {d.duration_ms} ms</span>}
        </td>
        <td data-label="Error" className="cell-wrap">
          {d.error ? <span className="err-text">{d.error}</span> : <span className="muted">—</span>}
        </td>
        <td data-label="Created">
          <When at={d.created_at} />
        </td>
        <td data-label="Delivered">
          <When at={d.delivered_at} />
        </td>
        <td className="row-actions">
          <button type="button" className="btn btn-small" aria-expanded={open} onClick={onToggle} aria-label={`Response body of delivery ${d.id}`}>
            <span aria-hidden="true">{open ? "Hide" : "Body"}</span>
          </button>
        </td>
      </tr>
      {open && (
        <tr>
          <td colSpan={8} className="cell-wrap" data-label="Response body">
            <Json value={d.response_body ?? ""} label={`Response body of delivery ${d.id}`} />
          </td>
        </tr>
      )}
    </>
  );
}
