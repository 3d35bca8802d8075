import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api, ApiError, qs } from "../../lib/api";
import { can, titleOf, useObjectMeta, useObjects } from "../../lib/meta";
import { valueText } from "../../lib/format";
import type { FieldMeta, ObjectMeta, Rec } from "../../lib/types";
import { Icon } from "../../components/Icon";
import { RefLink } from "../../components/Value";
import { ErrorBanner, Modal, Spinner } from "../../components/ui";
import { useTitle } from "../automation/common";
import "../automation/automation.css";

const DEDUPE_OBJECTS = ["contacts", "companies", "leads"];

interface Pair {
  id: number;
  object: string;
  probability: number;
  fields: Record<string, { level: string; weight: number }>;
  status: string;
  records: [Rec, Rec];
}

interface MergeResult {
  id: number;
  master_id: number;
  duplicate_ids: number[];
  changed: string[];
  moved: number;
  removed: number;
}

const pct = (p: number) => `${(p * 100).toFixed(p > 0.995 && p < 1 ? 1 : 0)}%`;

function empty(v: unknown): boolean {
  return v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

function Shown({ field, value }: { field: FieldMeta; value: unknown }) {
  if (empty(value)) return <span className="muted">empty</span>;
  if (field.type === "reference" && field.reference && typeof value === "number") return <RefLink object={field.reference} id={value} plain />;
  return <>{valueText(field, value)}</>;
}

/** Side by side, a radio per value: which one survives. Defaults as the server's: the newest non-empty. */
function MergeDialog({ pair, meta, onClose, onMerged }: { pair: Pair; meta: ObjectMeta; onClose: () => void; onMerged: (m: MergeResult) => void }) {
  const [a, b] = pair.records;
  const newer = String(a.updated_at ?? "") >= String(b.updated_at ?? "") ? a : b;
  const [master, setMaster] = useState<number>(newer.id);
  const fields = useMemo(
    () => meta.fields.filter((f) => f.readable && f.writable && !f.system && (!empty(a[f.name]) || !empty(b[f.name]))),
    [meta, a, b],
  );
  const defaultChoice = (f: FieldMeta): number => {
    const older = newer.id === a.id ? b : a;
    return empty(newer[f.name]) && !empty(older[f.name]) ? older.id : newer.id;
  };
  const [choices, setChoices] = useState<Record<string, number>>(() => Object.fromEntries(fields.map((f) => [f.name, defaultChoice(f)])));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const merge = useMutation({
    mutationFn: () => {
      const values: Record<string, number> = {};
      for (const f of fields) if (!same(a[f.name], b[f.name]) && f.type !== "multi_select") values[f.name] = choices[f.name];
      return api<MergeResult>("/api/v1/merges", {
        method: "POST",
        body: { object: pair.object, master_id: master, duplicate_ids: [master === a.id ? b.id : a.id], values },
      });
    },
    onSuccess: onMerged,
    onError: (err) => setErrors(err instanceof ApiError ? err.fieldErrors() : {}),
  });
  const title = (r: Rec) => titleOf(meta, r);
  return (
    <Modal open title={`Merge ${title(a)} and ${title(b)}`} onClose={onClose} wide>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          setErrors({});
          merge.mutate();
        }}
      >
        <ErrorBanner error={merge.isError ? (Object.keys(errors).length ? Object.entries(errors).map(([k, v]) => `${k}: ${v}`).join("; ") : merge.error) : null} />
        <fieldset className="field">
          <legend className="field-label">Keep as the master record (the other one goes to the trash, its related records move over)</legend>
          <div className="row-flex">
            {[a, b].map((r) => (
              <label key={r.id} className="check">
                <input type="radio" name="master" checked={master === r.id} onChange={() => setMaster(r.id)} /> {title(r)} <span className="muted">#{r.id}</span>
              </label>
            ))}
          </div>
        </fieldset>
        <table className="compare-table">
          <caption className="sr-only">Choose the value that survives for each field</caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">
                {title(a)} #{a.id}
              </th>
              <th scope="col">
                {title(b)} #{b.id}
              </th>
            </tr>
          </thead>
          <tbody>
            {fields.map((f) => {
              const differs = !same(a[f.name], b[f.name]);
              return (
                <tr key={f.name} className={differs ? "differs" : undefined}>
                  <th scope="row">
                    {f.label}
                    {differs && <span className="sr-only"> (values differ)</span>}
                  </th>
                  {[a, b].map((r) =>
                    differs && f.type !== "multi_select" ? (
                      <td key={r.id}>
                        <label>
                          <input type="radio" name={`v-${f.name}`} checked={choices[f.name] === r.id} onChange={() => setChoices({ ...choices, [f.name]: r.id })} aria-label={`${f.label}: keep ${valueText(f, r[f.name]) || "empty"} (from #${r.id})`} />
                          <span>
                            <Shown field={f} value={r[f.name]} />
                          </span>
                        </label>
                        {errors[`values.${f.name}`] && <p className="field-error">{errors[`values.${f.name}`]}</p>}
                      </td>
                    ) : (
                      <td key={r.id}>
                        <Shown field={f} value={r[f.name]} />
                        {differs && <span className="muted"> (lists are united)</span>}
                      </td>
                    ),
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={merge.isPending}>
            <Icon name="merge" size={18} /> Merge
          </button>
        </div>
      </form>
    </Modal>
  );
}

function PairCard({ pair, meta, onCompare, onDismiss, busy }: { pair: Pair; meta: ObjectMeta; onCompare: () => void; onDismiss: () => void; busy: boolean }) {
  const [a, b] = pair.records;
  const why = Object.entries(pair.fields).sort((x, y) => y[1].weight - x[1].weight);
  return (
    <li className="card pair-card">
      <header>
        <h3>
          <Link to={`/o/${pair.object}/${a.id}`}>{titleOf(meta, a)}</Link> and <Link to={`/o/${pair.object}/${b.id}`}>{titleOf(meta, b)}</Link>
        </h3>
        <span className="pill">{pct(pair.probability)} match</span>
      </header>
      <ul className="why-list" aria-label="What drove the score">
        {why.map(([label, w]) => (
          <li key={label} className={`chip ${w.weight > 0 ? "chip-filter" : ""}`}>
            {label}: {w.level.replace(/_/g, " ")} ({w.weight > 0 ? "+" : ""}
            {w.weight})
          </li>
        ))}
      </ul>
      {pair.status === "open" && (
        <div className="row-flex">
          <button type="button" className="btn btn-small btn-primary" onClick={onCompare}>
            Compare and merge
          </button>
          <button type="button" className="btn btn-small" disabled={busy} onClick={onDismiss}>
            Not duplicates
          </button>
        </div>
      )}
    </li>
  );
}

export function DuplicatesPage() {
  useTitle("Duplicates");
  const qc = useQueryClient();
  const objects = useObjects();
  const [params, setParams] = useSearchParams();
  const readable = (objects.data ?? []).filter((o) => DEDUPE_OBJECTS.includes(o.name) && can(o, "read"));
  const object = params.get("object") ?? readable[0]?.name ?? "contacts";
  const status = params.get("status") ?? "open";
  const [minP, setMinP] = useState("0");
  const meta = useObjectMeta(object);
  const summary = readable.find((o) => o.name === object);
  const [comparing, setComparing] = useState<Pair | null>(null);
  const [merged, setMerged] = useState<MergeResult | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const pairs = useInfiniteQuery({
    queryKey: ["duplicates", object, status, minP],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) => api<{ items: Pair[]; next_cursor: string | null }>(`/api/v1/duplicates${qs({ object, status, min_probability: minP, cursor: pageParam, limit: 25 })}`),
    getNextPageParam: (last) => last.next_cursor,
  });
  const refresh = () => qc.invalidateQueries({ queryKey: ["duplicates", object] });
  const scan = useMutation({
    mutationFn: () => api<{ job_run_id: number }>("/api/v1/duplicates/scan", { method: "POST", body: { object } }),
    onSuccess: (r) => setNotice(`A scan of ${summary?.label ?? object} is running in the background (job #${r.job_run_id}); new pairs appear here when it is done.`),
  });
  const dismiss = useMutation({
    mutationFn: (p: Pair) => api(`/api/v1/duplicates/${p.id}/dismiss`, { method: "POST" }),
    onSuccess: refresh,
  });
  const unmerge = useMutation({
    mutationFn: (m: MergeResult) => api(`/api/v1/merges/${m.id}/undo`, { method: "POST" }),
    onSuccess: () => {
      setMerged(null);
      setNotice("The merge was undone: both records are back.");
      refresh();
    },
  });
  const items = pairs.data?.pages.flatMap((p) => p.items) ?? [];
  const setParam = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    next.set(k, v);
    setParams(next, { replace: true });
  };
  return (
    <div className="page auto-page">
      <header className="page-head">
        <div>
          <h1>Duplicates</h1>
          <p className="muted">Candidate pairs with their match probability, most likely first.</p>
        </div>
        <div className="toolbar">
          {summary && can(summary, "edit") && (
            <button type="button" className="btn" disabled={scan.isPending} onClick={() => scan.mutate()}>
              <Icon name="search" size={18} /> Scan {summary.label.toLowerCase()} now
            </button>
          )}
        </div>
      </header>
      <div className="filter-bar">
        <div className="field">
          <label className="field-label" htmlFor="dup-object">
            Object
          </label>
          <select id="dup-object" className="input" value={object} onChange={(e) => setParam("object", e.target.value)}>
            {readable.map((o) => (
              <option key={o.name} value={o.name}>
                {o.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label className="field-label" htmlFor="dup-status">
            Show
          </label>
          <select id="dup-status" className="input" value={status} onChange={(e) => setParam("status", e.target.value)}>
            <option value="open">To review</option>
            <option value="dismissed">Dismissed</option>
            <option value="merged">Merged</option>
          </select>
        </div>
        <div className="field">
          <label className="field-label" htmlFor="dup-min">
            At least
          </label>
          <select id="dup-min" className="input" value={minP} onChange={(e) => setMinP(e.target.value)}>
            {["0", "0.5", "0.8", "0.95"].map((v) => (
              <option key={v} value={v}>
                {v === "0" ? "Any probability" : `${Number(v) * 100}% likely`}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorBanner error={pairs.error ?? scan.error ?? dismiss.error ?? unmerge.error} />
      {notice && (
        <div className="banner banner-ok" role="status">
          <span>{notice}</span>
          <button type="button" className="icon-btn" aria-label="Dismiss message" onClick={() => setNotice(null)}>
            <Icon name="x" size={16} />
          </button>
        </div>
      )}
      {merged && (
        <div className="banner banner-ok" role="status">
          <span>
            Merged into #{merged.master_id}: {merged.changed.length} fields changed, {merged.moved} related records moved.
          </span>
          <Link className="btn btn-small" to={`/o/${object}/${merged.master_id}`}>
            Open it
          </Link>
          <button type="button" className="btn btn-small" disabled={unmerge.isPending} onClick={() => unmerge.mutate(merged)}>
            Undo the merge
          </button>
        </div>
      )}
      {(pairs.isLoading || meta.isLoading) && <Spinner />}
      {meta.data && (
        <ul className="pair-list">
          {items.map((p) => (
            <PairCard key={p.id} pair={p} meta={meta.data!} busy={dismiss.isPending} onCompare={() => setComparing(p)} onDismiss={() => dismiss.mutate(p)} />
          ))}
        </ul>
      )}
      {pairs.data && items.length === 0 && <p className="empty">No {status === "open" ? "pairs to review" : `${status} pairs`}. A scan runs after every import, or now with “Scan”.</p>}
      {pairs.hasNextPage && (
        <div className="load-more">
          <button type="button" className="btn" disabled={pairs.isFetchingNextPage} onClick={() => pairs.fetchNextPage()}>
            Load more
          </button>
        </div>
      )}
      {comparing && meta.data && (
        <MergeDialog
          key={comparing.id}
          pair={comparing}
          meta={meta.data}
          onClose={() => setComparing(null)}
          onMerged={(m) => {
            setComparing(null);
            setMerged(m);
            refresh();
          }}
        />
      )}
    </div>
  );
}
