import {
  DndContext,
  DragOverlay,
  KeyboardSensor,
  MouseSensor,
  TouchSensor,
  pointerWithin,
  rectIntersection,
  type CollisionDetection,
  useDraggable,
  useDroppable,
  useSensor,
  useSensors,
  type DragEndEvent,
  type DragStartEvent,
} from "@dnd-kit/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState, type FormEvent, type MouseEventHandler, type TouchEventHandler } from "react";
import { Link, useSearchParams } from "react-router";
import { api, ApiError, errorMessage, ifMatch, qs } from "../lib/api";
import { formatDate, formatMoney, formatNumber } from "../lib/format";
import { can, useObjectMeta, useObjects } from "../lib/meta";
import { boardQuery, choosePipeline } from "../lib/prefetch";
import { pipelinesQuery } from "../lib/refs";
import type { Board, BoardColumn, Page, Rec, Stage } from "../lib/types";
import { Icon } from "../components/Icon";
import { RefLink } from "../components/Value";
import { Empty, ErrorBanner, Modal, Spinner } from "../components/ui";

// Drop on the column under the pointer; with the keyboard (no pointer), on the column the card overlaps most.
const collision: CollisionDetection = (args) => {
  const hits = pointerWithin(args);
  return hits.length ? hits : rectIntersection(args);
};

type DragData = { deal?: Rec } | undefined;
type DropData = { stage?: Stage } | undefined;
const dealName = (d: DragData) => String(d?.deal?.name ?? "the deal");
const stageName = (d: DropData) => d?.stage?.name ?? "a stage";

/** What a screen reader hears while a card is moved with the keyboard. */
const accessibility = {
  screenReaderInstructions: {
    draggable:
      "To move a deal, press Space or Enter to pick it up, the arrow keys to move it over another stage, " +
      "Space or Enter to drop it there, Escape to cancel. Each card also has a Move to stage list.",
  },
  announcements: {
    onDragStart: ({ active }: { active: { data: { current?: unknown } } }) =>
      `Picked up ${dealName(active.data.current as DragData)}.`,
    onDragOver: ({ active, over }: { active: { data: { current?: unknown } }; over: { data: { current?: unknown } } | null }) =>
      over
        ? `${dealName(active.data.current as DragData)} is over ${stageName(over.data.current as DropData)}.`
        : `${dealName(active.data.current as DragData)} is not over a stage.`,
    onDragEnd: ({ active, over }: { active: { data: { current?: unknown } }; over: { data: { current?: unknown } } | null }) =>
      over
        ? `${dealName(active.data.current as DragData)} dropped on ${stageName(over.data.current as DropData)}.`
        : `${dealName(active.data.current as DragData)} dropped outside the stages; nothing changed.`,
    onDragCancel: ({ active }: { active: { data: { current?: unknown } } }) =>
      `Moving ${dealName(active.data.current as DragData)} was cancelled.`,
  },
};

interface Move {
  deal: Rec;
  from: Stage;
  to: Stage;
  lostReason?: string;
  lostDetail?: string;
}

function DealCard({
  deal,
  stages,
  current,
  canMove,
  onMove,
  overlay,
}: {
  deal: Rec;
  stages: Stage[];
  current: Stage;
  canMove: boolean;
  onMove: (to: Stage) => void;
  overlay?: boolean;
}) {
  const { attributes, listeners, setNodeRef, isDragging } = useDraggable({
    id: `deal-${deal.id}`,
    data: { deal, stage: current },
    disabled: !canMove || overlay,
  });
  const name = String(deal.name ?? `Deal #${deal.id}`);
  return (
    <article
      ref={overlay ? undefined : setNodeRef}
      className={`deal-card ${isDragging ? "dragging" : ""} ${overlay ? "overlay" : ""} ${canMove ? "movable" : ""}`}
      aria-label={name}
      data-deal-id={deal.id}
      // The whole card can be picked up with a mouse or a long press; the keyboard uses the handle.
      onMouseDown={canMove ? (listeners?.onMouseDown as MouseEventHandler | undefined) : undefined}
      onTouchStart={canMove ? (listeners?.onTouchStart as TouchEventHandler | undefined) : undefined}
    >
      <div className="deal-top">
        {canMove && (
          <button type="button" className="drag-handle" aria-label={`Drag ${name}`} {...attributes} {...listeners}>
            <Icon name="grip" size={16} />
          </button>
        )}
        <Link to={`/o/deals/${deal.id}`} className="deal-name">
          {name}
        </Link>
      </div>
      <div className="deal-meta">
        {typeof deal.amount === "number" && <span className="deal-amount">{formatMoney(deal.amount, deal.currency)}</span>}
        {typeof deal.company_id === "number" && (
          <span className="deal-company">
            <RefLink object="companies" id={deal.company_id} />
          </span>
        )}
        {typeof deal.expected_close_date === "string" && (
          <span className="muted small">
            <Icon name="calendar" size={14} /> {formatDate(deal.expected_close_date)}
          </span>
        )}
      </div>
      {canMove && !overlay && (
        <label className="move-to">
          <span className="sr-only">Move {name} to stage</span>
          <select
            className="input input-small"
            value={current.id}
            onChange={(e) => {
              const to = stages.find((s) => s.id === Number(e.target.value));
              if (to && to.id !== current.id) onMove(to);
            }}
          >
            {stages.map((s) => (
              <option key={s.id} value={s.id}>
                {s.id === current.id ? "Move to…" : s.name}
              </option>
            ))}
          </select>
        </label>
      )}
    </article>
  );
}

function Column({
  col,
  stages,
  canMove,
  onMove,
  filter,
  pipelineId,
}: {
  col: BoardColumn;
  stages: Stage[];
  canMove: boolean;
  onMove: (deal: Rec, from: Stage, to: Stage) => void;
  filter: string | null;
  pipelineId: number;
}) {
  const { setNodeRef, isOver } = useDroppable({ id: `stage-${col.stage.id}`, data: { stage: col.stage } });
  const [more, setMore] = useState<Rec[]>([]);
  const [cursor, setCursor] = useState<string | null>(col.next_cursor);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setMore([]);
    setCursor(col.next_cursor);
  }, [col]);
  const loadMore = async () => {
    setLoading(true);
    setError(null);
    try {
      const conds: object[] = [
        { field: "pipeline_id", op: "eq", value: pipelineId },
        { field: "stage_id", op: "eq", value: col.stage.id },
      ];
      if (filter) conds.push(JSON.parse(filter));
      const page = await api<Page>(`/api/v1/deals${qs({ filter: JSON.stringify({ and: conds }), sort: "expected_close_date", limit: 25, cursor })}`);
      setMore((m) => [...m, ...page.items]);
      setCursor(page.next_cursor);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };
  const deals = [...col.deals, ...more];
  const headingId = `stage-h-${col.stage.id}`;
  return (
    <section ref={setNodeRef} className={`board-col kind-${col.stage.kind} ${isOver ? "over" : ""}`} aria-labelledby={headingId} data-stage-id={col.stage.id}>
      <header className="col-head">
        <h2 id={headingId}>
          {col.stage.name} <span className="count" aria-label={`${col.count} deals`}>{col.count}</span>
        </h2>
        <dl className="col-totals">
          <div>
            <dt>Total</dt>
            <dd>{col.amount === null ? "—" : formatNumber(col.amount)}</dd>
          </div>
          <div>
            <dt>Weighted</dt>
            <dd>{col.weighted === null ? "—" : formatNumber(col.weighted)}</dd>
          </div>
          <div>
            <dt>Prob.</dt>
            <dd>{col.stage.probability}%</dd>
          </div>
        </dl>
      </header>
      <div className="col-cards">
        {deals.map((d) => (
          <DealCard key={d.id} deal={d} stages={stages} current={col.stage} canMove={canMove} onMove={(to) => onMove(d, col.stage, to)} />
        ))}
        {deals.length === 0 && <p className="col-empty">No deals</p>}
        <ErrorBanner error={error} />
        {cursor && (
          <button type="button" className="btn btn-small" onClick={loadMore} disabled={loading}>
            {loading ? "Loading…" : `Show more (${col.count - deals.length})`}
          </button>
        )}
      </div>
    </section>
  );
}

function LostDialog({ move, onCancel, onConfirm, error }: { move: Move | null; onCancel: () => void; onConfirm: (reason: string, detail: string) => void; error?: string }) {
  const deals = useObjectMeta("deals");
  const options = deals.data?.fields.find((f) => f.name === "lost_reason")?.options ?? [];
  const [reason, setReason] = useState("");
  const [detail, setDetail] = useState("");
  useEffect(() => {
    setReason("");
    setDetail("");
  }, [move]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (reason) onConfirm(reason, detail);
  };
  return (
    <Modal open={!!move} title="Why was this deal lost?" onClose={onCancel}>
      {move && (
        <form onSubmit={submit} className="lost-form">
          <p>
            Moving “{String(move.deal.name)}” to <strong>{move.to.name}</strong> needs a reason.
          </p>
          <div className={`field ${error ? "has-error" : ""}`}>
            <label className="field-label" htmlFor="lost-reason">
              Lost reason *
            </label>
            <select id="lost-reason" className="input" required value={reason} autoFocus onChange={(e) => setReason(e.target.value)} aria-invalid={!!error || undefined} aria-describedby={error ? "lost-err" : undefined}>
              <option value="">Choose a reason…</option>
              {options.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
            {error && (
              <p id="lost-err" className="field-error">
                {error}
              </p>
            )}
          </div>
          <div className="field">
            <label className="field-label" htmlFor="lost-detail">
              Details (optional)
            </label>
            <input id="lost-detail" className="input" value={detail} onChange={(e) => setDetail(e.target.value)} />
          </div>
          <div className="form-actions">
            <button type="button" className="btn" onClick={onCancel}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={!reason}>
              Move to {move.to.name}
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}

export function BoardPage() {
  const [params, setParams] = useSearchParams();
  const qc = useQueryClient();
  const objects = useObjects();
  const dealsObj = objects.data?.find((o) => o.name === "deals");
  const canMove = can(dealsObj, "edit");
  const pipelines = useQuery(pipelinesQuery());
  const chosen = Number(params.get("pipeline")) || null;
  const pipeline = useMemo(() => {
    const list = pipelines.data ?? [];
    return choosePipeline(list, chosen);
  }, [pipelines.data, chosen]);
  const [error, setError] = useState<string | null>(null);
  const [lost, setLost] = useState<{ move: Move; error?: string } | null>(null);
  const [dragging, setDragging] = useState<{ deal: Rec; stage: Stage } | null>(null);
  const [status, setStatus] = useState("");

  useEffect(() => {
    document.title = "Pipeline · Sextant";
  }, []);

  const boardKey = ["board", pipeline?.id];
  const board = useQuery({ ...boardQuery(pipeline?.id), enabled: !!pipeline });

  const sensors = useSensors(
    useSensor(MouseSensor, { activationConstraint: { distance: 6 } }),
    useSensor(TouchSensor, { activationConstraint: { delay: 200, tolerance: 8 } }),
    useSensor(KeyboardSensor),
  );

  const move = useMutation({
    mutationFn: (m: Move) => {
      const body: Record<string, unknown> = { stage_id: m.to.id };
      if (m.lostReason) body.lost_reason = m.lostReason;
      if (m.lostDetail) body.lost_reason_detail = m.lostDetail;
      return api<Rec>(`/api/v1/deals/${m.deal.id}`, { method: "PATCH", body, headers: ifMatch(m.deal.version) });
    },
    onMutate: async (m) => {
      // Show the card in its new column at once; the server's answer decides.
      await qc.cancelQueries({ queryKey: boardKey });
      const before = qc.getQueryData<Board>(boardKey);
      if (before) {
        qc.setQueryData<Board>(boardKey, {
          ...before,
          columns: before.columns.map((c) => {
            if (c.stage.id === m.from.id) {
              return { ...c, count: c.count - 1, deals: c.deals.filter((d) => d.id !== m.deal.id) };
            }
            if (c.stage.id === m.to.id) return { ...c, count: c.count + 1, deals: [m.deal, ...c.deals] };
            return c;
          }),
        });
      }
      return { before };
    },
    onSuccess: (_deal, m) => {
      setError(null);
      setStatus(`Moved ${String(m.deal.name)} to ${m.to.name}.`);
      qc.invalidateQueries({ queryKey: ["record", "deals", m.deal.id] });
    },
    onError: (err, m, ctx) => {
      if (ctx?.before) qc.setQueryData(boardKey, ctx.before);
      if (err instanceof ApiError && err.status === 422 && err.fieldErrors().lost_reason) {
        setLost({ move: m, error: err.fieldErrors().lost_reason });
        return;
      }
      const name = String(m.deal.name ?? `Deal #${m.deal.id}`);
      if (err instanceof ApiError && err.status === 409) {
        setError(`“${name}” was changed by someone else, so it was not moved. The board has been reloaded; try again.`);
      } else {
        setError(`“${name}” could not be moved to ${m.to.name}: ${errorMessage(err)}`);
      }
      setStatus("");
    },
    onSettled: () => qc.invalidateQueries({ queryKey: boardKey }),
  });

  const request = (deal: Rec, from: Stage, to: Stage) => {
    if (from.id === to.id) return;
    setError(null);
    if (to.kind === "lost" && !deal.lost_reason) {
      setLost({ move: { deal, from, to } });
      return;
    }
    move.mutate({ deal, from, to });
  };

  const onDragStart = (e: DragStartEvent) => {
    const data = e.active.data.current as { deal: Rec; stage: Stage } | undefined;
    if (data) setDragging(data);
  };
  const onDragEnd = (e: DragEndEvent) => {
    setDragging(null);
    const data = e.active.data.current as { deal: Rec; stage: Stage } | undefined;
    const to = e.over?.data.current?.stage as Stage | undefined;
    if (data && to) request(data.deal, data.stage, to);
  };

  if (pipelines.isLoading) return <Spinner />;
  const stages = board.data?.pipeline.stages ?? pipeline?.stages ?? [];
  const openCols = board.data?.columns.filter((c) => c.stage.kind === "open") ?? [];
  // null (hidden from this role) stays hidden in the sum rather than counting as zero
  const sum = (values: (number | null)[]) =>
    values.some((v) => v === null) ? null : values.reduce<number>((a, v) => a + (v ?? 0), 0);
  const openTotal = sum(openCols.map((c) => c.amount));
  const openWeighted = sum(openCols.map((c) => c.weighted));

  return (
    <div className="page board-page">
      <header className="page-head">
        <div>
          <h1>Pipeline</h1>
          {board.data && (
            <p className="muted">
              Open: {openTotal === null ? "—" : formatNumber(openTotal)} · weighted{" "}
              {openWeighted === null ? "—" : formatNumber(openWeighted)}
            </p>
          )}
        </div>
        <div className="toolbar">
          {(pipelines.data?.length ?? 0) > 1 && (
            <label className="inline-label">
              <span>Pipeline</span>
              <select
                className="input input-inline"
                value={pipeline?.id ?? ""}
                onChange={(e) => setParams({ pipeline: e.target.value })}
              >
                {pipelines.data!.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name}
                  </option>
                ))}
              </select>
            </label>
          )}
          <Link className="btn" to="/o/deals">
            <Icon name="columns" size={18} /> <span className="btn-text">List</span>
          </Link>
        </div>
      </header>
      <ErrorBanner error={pipelines.error ?? board.error} />
      {error && (
        <div className="banner banner-error" role="alert">
          <span>{error}</span>
          <button type="button" className="icon-btn" aria-label="Dismiss message" onClick={() => setError(null)}>
            <Icon name="x" size={16} />
          </button>
        </div>
      )}
      <p className="sr-only" role="status" aria-live="polite">
        {status}
      </p>
      {!pipeline && pipelines.isSuccess && <Empty>No pipeline yet. An administrator can create one.</Empty>}
      {board.isLoading && <Spinner />}
      {board.data && (
        <DndContext sensors={sensors} collisionDetection={collision} accessibility={accessibility} onDragStart={onDragStart} onDragEnd={onDragEnd} onDragCancel={() => setDragging(null)}>
          <div className="board" aria-label={`${board.data.pipeline.name} board`}>
            {board.data.columns.map((col) => (
              <Column key={col.stage.id} col={col} stages={stages} canMove={canMove} onMove={request} filter={null} pipelineId={board.data.pipeline.id} />
            ))}
          </div>
          <DragOverlay>
            {dragging ? <DealCard deal={dragging.deal} stages={stages} current={dragging.stage} canMove overlay onMove={() => undefined} /> : null}
          </DragOverlay>
        </DndContext>
      )}
      <LostDialog
        move={lost?.move ?? null}
        error={lost?.error}
        onCancel={() => setLost(null)}
        onConfirm={(reason, detail) => {
          const m = lost!.move;
          setLost(null);
          move.mutate({ ...m, lostReason: reason, lostDetail: detail });
        }}
      />
    </div>
  );
}
