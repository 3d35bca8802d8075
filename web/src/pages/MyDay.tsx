import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, useNavigate } from "react-router";
import { api } from "../lib/api";
import { formatDate, formatDateTime, formatTime, optionLabel } from "../lib/format";
import { can, useMe, useObjectMeta, useObjects } from "../lib/meta";
import type { MyDay, Rec } from "../lib/types";
import { Icon } from "../components/Icon";
import { RecordForm } from "../components/RecordForm";
import { TaskCheck } from "../components/TaskCheck";
import { Empty, ErrorBanner, Modal, Spinner } from "../components/ui";

function greeting(): string {
  const h = new Date().getHours();
  return h < 12 ? "Good morning" : h < 18 ? "Good afternoon" : "Good evening";
}

function TaskList({
  id,
  title,
  tasks,
  tone,
  canEdit,
  onError,
  empty,
}: {
  id: string;
  title: string;
  tasks: Rec[];
  tone?: "danger";
  canEdit: boolean;
  onError: (m: string) => void;
  empty: string;
}) {
  const tasksMeta = useObjectMeta("tasks");
  const priority = tasksMeta.data?.fields.find((f) => f.name === "priority");
  return (
    <section className={`card day-section ${tone === "danger" ? "tone-danger" : ""}`} aria-labelledby={id}>
      <h2 id={id}>
        {title} <span className="count">{tasks.length}</span>
      </h2>
      {tasks.length === 0 ? (
        <Empty>{empty}</Empty>
      ) : (
        <ul className="task-list">
          {tasks.map((t) => (
            <li key={t.id} className="task-row">
              <span className="check-target">
                <TaskCheck task={t} disabled={!canEdit} onError={onError} />
              </span>
              <div className="task-main">
                <Link to={`/o/tasks/${t.id}`} className="task-title">
                  {String(t.title ?? `Task #${t.id}`)}
                </Link>
                <span className="task-meta">
                  {typeof t.due_at === "string" && (
                    <time dateTime={t.due_at} className={tone === "danger" ? "overdue" : undefined}>
                      {id === "today" ? formatTime(t.due_at) : formatDateTime(t.due_at)}
                    </time>
                  )}
                  {t.priority && t.priority !== "normal" ? (
                    <span className={`pill pri-${String(t.priority)}`}>
                      {optionLabel(priority?.options ?? null, t.priority)}
                    </span>
                  ) : null}
                </span>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function MyDayPage() {
  const me = useMe();
  const objects = useObjects();
  const navigate = useNavigate();
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const tasksObj = objects.data?.find((o) => o.name === "tasks");
  const tasksMeta = useObjectMeta(creating ? "tasks" : undefined);
  const day = useQuery({ queryKey: ["my-day"], queryFn: () => api<MyDay>("/api/v1/my-day") });
  useEffect(() => {
    document.title = "My day · Sextant";
  }, []);

  const name = me?.user.full_name?.split(" ")[0] ?? "";
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>
            {greeting()}
            {name ? `, ${name}` : ""}
          </h1>
          {day.data && <p className="muted">{formatDate(day.data.date)} · My day</p>}
        </div>
        {can(tasksObj, "create") && (
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            <Icon name="plus" size={18} /> New task
          </button>
        )}
      </header>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      <ErrorBanner error={day.error} />
      {day.isLoading && <Spinner />}
      {day.data && (
        <div className="day-grid">
          <div className="day-col">
            {day.data.overdue.length > 0 && (
              <TaskList
                id="overdue"
                title="Overdue"
                tone="danger"
                tasks={day.data.overdue}
                canEdit={can(tasksObj, "edit")}
                onError={setError}
                empty=""
              />
            )}
            <TaskList
              id="today"
              title="Today"
              tasks={day.data.today}
              canEdit={can(tasksObj, "edit")}
              onError={setError}
              empty="Nothing due today."
            />
            <TaskList
              id="upcoming"
              title="Upcoming"
              tasks={day.data.upcoming}
              canEdit={can(tasksObj, "edit")}
              onError={setError}
              empty="Nothing due in the next 7 days."
            />
          </div>
          <div className="day-col">
            <section className="card day-section" aria-labelledby="meetings">
              <h2 id="meetings">
                Meetings today <span className="count">{day.data.meetings.length}</span>
              </h2>
              {day.data.meetings.length === 0 ? (
                <Empty>No meetings today.</Empty>
              ) : (
                <ul className="meeting-list">
                  {day.data.meetings.map((m) => (
                    <li key={m.id}>
                      <span className="meeting-time">
                        {typeof m.start_at === "string" ? formatTime(m.start_at) : ""}
                        {typeof m.end_at === "string" ? <span className="muted small">to {formatTime(m.end_at)}</span> : ""}
                      </span>
                      <span className="meeting-main">
                        <Link to={`/o/activities/${m.id}`}>{String(m.subject ?? "Meeting")}</Link>
                        {m.location ? <span className="muted small">{String(m.location)}</span> : null}
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </section>
            <section className="card day-section" aria-labelledby="recent">
              <h2 id="recent">Recent records</h2>
              {day.data.recent.length === 0 ? (
                <Empty>Records you work on will show here.</Empty>
              ) : (
                <ul className="recent-list">
                  {day.data.recent.map((r) => (
                    <li key={`${r.object}/${r.id}`}>
                      <Icon name={objects.data?.find((o) => o.name === r.object)?.icon ?? "box"} size={18} />
                      <Link to={`/o/${r.object}/${r.id}`}>{r.title}</Link>
                      <span className="muted small">
                        {objects.data?.find((o) => o.name === r.object)?.singular ?? r.object}
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </section>
          </div>
        </div>
      )}
      <Modal open={creating} title="New task" onClose={() => setCreating(false)} wide>
        {tasksMeta.data ? (
          <RecordForm
            meta={tasksMeta.data}
            preset={{ owner_id: me?.user.id }}
            onCancel={() => setCreating(false)}
            onCreated={(t) => {
              setCreating(false);
              day.refetch();
              if (!t.due_at) navigate(`/o/tasks/${t.id}`);
            }}
          />
        ) : (
          <Spinner />
        )}
      </Modal>
    </div>
  );
}
