import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { api, ApiError, qs } from "../lib/api";
import { formatDateTime, fromLocalInput, optionLabel, relativeTime, textToHtml, toLocalInput } from "../lib/format";
import { can, fieldMap, useObjectMeta, useObjects } from "../lib/meta";
import type { ObjectMeta, Rec, TimelineItem } from "../lib/types";
import { ActivityBody } from "./ActivityBody";
import { Changes } from "./Changes";
import { Icon } from "./Icon";
import { TaskCheck } from "./TaskCheck";
import { Empty, ErrorBanner, Spinner } from "./ui";

type Composer = "call" | "note" | "task" | null;

function QuickActions({ object, id }: { object: string; id: number }) {
  const objects = useObjects();
  const qc = useQueryClient();
  const [open, setOpen] = useState<Composer>(null);
  const [subject, setSubject] = useState("");
  const [body, setBody] = useState("");
  const [outcome, setOutcome] = useState("connected");
  const [due, setDue] = useState(() => {
    const d = new Date();
    d.setDate(d.getDate() + 1);
    d.setHours(9, 0, 0, 0);
    return toLocalInput(d.toISOString());
  });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const activities = useObjectMeta(open === "call" ? "activities" : undefined);
  const outcomes = activities.data?.fields.find((f) => f.name === "outcome")?.options ?? [];
  const canAct = can(objects.data?.find((o) => o.name === "activities"), "create");
  const canTask = can(objects.data?.find((o) => o.name === "tasks"), "create");

  const save = useMutation({
    mutationFn: () => {
      const links = [{ object, id }];
      if (open === "task") {
        return api<Rec>("/api/v1/tasks", { method: "POST", body: { title: subject, due_at: fromLocalInput(due), links } });
      }
      const payload: Record<string, unknown> = {
        kind: open,
        subject: subject || (open === "call" ? "Call" : undefined),
        body: body.trim() ? textToHtml(body.trim()) : undefined,
        links,
      };
      if (open === "call") {
        payload.direction = "outbound";
        payload.outcome = outcome;
      }
      return api<Rec>("/api/v1/activities", { method: "POST", body: payload });
    },
    onSuccess: () => {
      setOpen(null);
      setSubject("");
      setBody("");
      setErrors({});
      qc.invalidateQueries({ queryKey: ["timeline", object, id] });
      qc.invalidateQueries({ queryKey: ["my-day"] });
    },
    onError: (err) => setErrors(err instanceof ApiError ? err.fieldErrors() : {}),
  });

  if (!canAct && !canTask) return null;
  const start = (c: Composer) => {
    setOpen((o) => (o === c ? null : c));
    setErrors({});
    save.reset();
    setSubject("");
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  const field = (name: string) => (errors[name] ? <p className="field-error">{errors[name]}</p> : null);

  return (
    <div className="quick-actions">
      <div className="quick-buttons">
        {canAct && (
          <button type="button" className="btn" aria-pressed={open === "call"} onClick={() => start("call")}>
            <Icon name="phone" size={18} /> Log a call
          </button>
        )}
        {canAct && (
          <button type="button" className="btn" aria-pressed={open === "note"} onClick={() => start("note")}>
            <Icon name="note" size={18} /> Add a note
          </button>
        )}
        {canTask && (
          <button type="button" className="btn" aria-pressed={open === "task"} onClick={() => start("task")}>
            <Icon name="task" size={18} /> Create a task
          </button>
        )}
      </div>
      {open && (
        <form className="composer card" onSubmit={submit} noValidate aria-label={open === "call" ? "Log a call" : open === "note" ? "Add a note" : "Create a task"}>
          {save.isError && <ErrorBanner error={Object.keys(errors).length ? "Please correct the fields below." : save.error} />}
          {open !== "note" && (
            <div className="field">
              <label className="field-label" htmlFor="qa-subject">
                {open === "task" ? "Task" : "Subject"}
              </label>
              <input
                id="qa-subject"
                className="input"
                autoFocus
                value={subject}
                placeholder={open === "call" ? "Call" : "What needs doing?"}
                onChange={(e) => setSubject(e.target.value)}
                aria-invalid={!!(errors.subject || errors.title) || undefined}
              />
              {field("subject")}
              {field("title")}
            </div>
          )}
          {open === "call" && (
            <div className="field">
              <label className="field-label" htmlFor="qa-outcome">
                Outcome
              </label>
              <select id="qa-outcome" className="input" value={outcome} onChange={(e) => setOutcome(e.target.value)}>
                {(outcomes.length ? outcomes : [{ value: "connected", label: "Connected" }]).map((o) => (
                  <option key={o.value} value={o.value}>
                    {o.label}
                  </option>
                ))}
              </select>
            </div>
          )}
          {open !== "task" && (
            <div className="field">
              <label className="field-label" htmlFor="qa-body">
                Notes
              </label>
              <textarea id="qa-body" className="input" rows={3} autoFocus={open === "note"} value={body} onChange={(e) => setBody(e.target.value)} />
              {field("body")}
            </div>
          )}
          {open === "task" && (
            <div className="field">
              <label className="field-label" htmlFor="qa-due">
                Due
              </label>
              <input id="qa-due" className="input" type="datetime-local" value={due} onChange={(e) => setDue(e.target.value)} />
              {field("due_at")}
            </div>
          )}
          {field("links")}
          <div className="form-actions">
            <button type="button" className="btn" onClick={() => setOpen(null)}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={save.isPending}>
              {save.isPending ? "Saving…" : "Save"}
            </button>
          </div>
        </form>
      )}
    </div>
  );
}

const KIND_ICON: Record<string, string> = { call: "phone", meeting: "calendar", note: "note", email: "note" };

function ActivityItem({ rec, meta }: { rec: Rec; meta?: ObjectMeta }) {
  const kindField = meta?.fields.find((f) => f.name === "kind");
  const outcomeField = meta?.fields.find((f) => f.name === "outcome");
  const kind = String(rec.kind ?? "note");
  return (
    <>
      <span className="tl-icon" aria-hidden="true">
        <Icon name={KIND_ICON[kind] ?? "note"} size={16} />
      </span>
      <div className="tl-body">
        <div className="tl-head">
          <span className="pill">{optionLabel(kindField?.options ?? null, kind)}</span>{" "}
          <Link to={`/o/activities/${rec.id}`} className="tl-title">
            {String(rec.subject ?? "") || optionLabel(kindField?.options ?? null, kind)}
          </Link>
          {rec.outcome ? <span className="muted"> · {optionLabel(outcomeField?.options ?? null, rec.outcome)}</span> : null}
        </div>
        {typeof rec.body === "string" && rec.body && (
          <ActivityBody html={rec.body} className="tl-note" />
        )}
      </div>
    </>
  );
}

function TaskItem({ rec, canEdit }: { rec: Rec; canEdit: boolean }) {
  const [err, setErr] = useState<string | null>(null);
  return (
    <>
      <span className="tl-icon" aria-hidden="true">
        <Icon name="task" size={16} />
      </span>
      <div className="tl-body">
        <div className="tl-head task-inline">
          <TaskCheck task={rec} disabled={!canEdit} onError={setErr} />
          <Link to={`/o/tasks/${rec.id}`} className={rec.status === "done" ? "tl-title done" : "tl-title"}>
            {String(rec.title ?? `Task #${rec.id}`)}
          </Link>
        </div>
        {typeof rec.due_at === "string" && <p className="tl-sub muted small">Due {formatDateTime(rec.due_at)}</p>}
        {err && <p className="field-error" role="alert">{err}</p>}
      </div>
    </>
  );
}

function describeChange(item: TimelineItem): string {
  switch (item.kind) {
    case "record_create":
      return "created this record";
    case "record_delete":
      return "deleted this record";
    case "record_restore":
      return "restored this record";
    case "stage_change":
      return "moved the stage";
    case "record_link":
      return "linked a record";
    case "record_unlink":
      return "removed a link";
    case "record_convert":
      return "converted this lead";
    default:
      return item.action === "update" ? "changed" : (item.action ?? item.kind).replace(/_/g, " ");
  }
}

export function Timeline({ object, id, meta }: { object: string; id: number; meta: ObjectMeta }) {
  const objects = useObjects();
  const activities = useObjectMeta("activities");
  const fields = fieldMap(meta);
  const tl = useInfiniteQuery({
    queryKey: ["timeline", object, id],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      api<{ items: TimelineItem[]; next_cursor: string | null }>(`/api/v1/${object}/${id}/timeline${qs({ limit: 25, cursor: pageParam })}`),
    getNextPageParam: (p) => p.next_cursor,
  });
  const canEditTasks = can(objects.data?.find((o) => o.name === "tasks"), "edit");
  const items = tl.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div className="timeline">
      <QuickActions object={object} id={id} />
      <ErrorBanner error={tl.error} />
      {tl.isLoading && <Spinner />}
      {tl.isSuccess && items.length === 0 && <Empty>Nothing has happened here yet.</Empty>}
      <ol className="tl-list">
        {items.map((item, i) => (
          <li key={`${item.kind}-${item.object ?? ""}-${item.id ?? i}-${item.at}`} className={`tl-item tl-${item.kind}`}>
            {item.record && item.object === "activities" ? (
              <ActivityItem rec={item.record} meta={activities.data} />
            ) : item.record && item.object === "tasks" ? (
              <TaskItem rec={item.record} canEdit={canEditTasks} />
            ) : (
              <>
                <span className="tl-icon" aria-hidden="true">
                  <Icon name="history" size={16} />
                </span>
                <div className="tl-body">
                  <div className="tl-head">
                    <strong>{item.actor ?? "System"}</strong> {describeChange(item)}
                  </div>
                  {item.kind === "stage_change" && Array.isArray(item.changes?.stage) ? (
                    <p className="stage-move">
                      {String((item.changes!.stage as unknown[])[0] ?? "—")} <span aria-label="to">→</span>{" "}
                      <strong>{String((item.changes!.stage as unknown[])[1] ?? "—")}</strong>
                    </p>
                  ) : null}
                  {item.kind !== "record_create" && item.changes && (
                    <Changes
                      changes={item.changes}
                      fields={fields}
                      object={object}
                      skip={item.kind === "stage_change" ? ["stage", "stage_id", "stage_entered_at", "probability", "status"] : ["version"]}
                    />
                  )}
                </div>
              </>
            )}
            <time className="tl-time" dateTime={item.at} title={formatDateTime(item.at)}>
              {relativeTime(item.at)}
            </time>
          </li>
        ))}
      </ol>
      {tl.hasNextPage && (
        <button type="button" className="btn" disabled={tl.isFetchingNextPage} onClick={() => tl.fetchNextPage()}>
          {tl.isFetchingNextPage ? "Loading…" : "Show older"}
        </button>
      )}
    </div>
  );
}
