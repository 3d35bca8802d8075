import { useInfiniteQuery } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { api, ApiError, qs } from "../lib/api";
import { valueText } from "../lib/format";
import { can, titleOf, useObjectMeta } from "../lib/meta";
import { primeFromRecords } from "../lib/refs";
import type { FieldMeta, ObjectMeta, Page } from "../lib/types";
import { FilterBuilder, fromFilterJson, needsValue, opLabel, toFilterJson, type FlatFilter } from "../components/FilterBuilder";
import { Icon } from "../components/Icon";
import { RecordForm } from "../components/RecordForm";
import { FieldValue } from "../components/Value";
import { ErrorBanner, Modal, Spinner, useDismiss } from "../components/ui";
import { NotFound } from "./NotFound";

const PAGE = 50;

/** The subtitle fields, then the first field of each kind not shown yet (one phone, one status ...), then the
 * owner: a useful first view without knowing the object. */
function defaultColumns(meta: ObjectMeta): string[] {
  const readable = meta.fields.filter((f) => f.readable);
  const byName = Object.fromEntries(readable.map((f) => [f.name, f]));
  const cols: string[] = meta.subtitle_fields.filter((n) => byName[n]);
  const types = new Set(cols.map((n) => byName[n].type));
  for (const f of readable) {
    if (cols.length >= 4) break;
    if (f.system || f.section === "System" || meta.title_fields.includes(f.name) || cols.includes(f.name)) continue;
    if (f.type === "long_text" || f.type === "multi_select" || f.type === "boolean") continue;
    if (types.has(f.type) && f.type !== "reference") continue;
    types.add(f.type);
    cols.push(f.name);
  }
  if (byName.owner_id) cols.push("owner_id");
  return cols;
}

function storageKey(object: string) {
  return `sextant.columns.${object}`;
}

function useColumns(meta: ObjectMeta | undefined): [string[], (c: string[]) => void] {
  const [cols, setCols] = useState<string[] | null>(null);
  useEffect(() => {
    if (!meta) return;
    let saved: string[] | null = null;
    try {
      saved = JSON.parse(localStorage.getItem(storageKey(meta.name)) ?? "null");
    } catch {
      saved = null;
    }
    const names = new Set(meta.fields.filter((f) => f.readable).map((f) => f.name));
    const valid = Array.isArray(saved) ? saved.filter((n) => names.has(n)) : null;
    setCols(valid && valid.length ? valid : defaultColumns(meta));
  }, [meta]);
  const save = useCallback(
    (c: string[]) => {
      setCols(c);
      if (meta) localStorage.setItem(storageKey(meta.name), JSON.stringify(c));
    },
    [meta],
  );
  return [cols ?? (meta ? defaultColumns(meta) : []), save];
}

function ColumnChooser({ meta, columns, onChange }: { meta: ObjectMeta; columns: string[]; onChange: (c: string[]) => void }) {
  const [open, setOpen] = useState(false);
  const panel = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const close = useCallback(() => setOpen(false), []);
  useDismiss(open, close, panel, button);
  const choices = meta.fields.filter((f) => f.readable && !meta.title_fields.includes(f.name));
  return (
    <div className="popover-anchor">
      <button ref={button} type="button" className="btn" aria-expanded={open} aria-haspopup="true" onClick={() => setOpen((o) => !o)}>
        <Icon name="columns" size={18} /> <span className="btn-text">Columns</span>
      </button>
      {open && (
        <div ref={panel} className="popover popover-right column-chooser">
          <fieldset>
            <legend>Columns to show</legend>
            {choices.map((f) => (
              <label key={f.name} className="check">
                <input
                  type="checkbox"
                  checked={columns.includes(f.name)}
                  onChange={(e) =>
                    onChange(
                      e.target.checked
                        ? choices.map((c) => c.name).filter((n) => n === f.name || columns.includes(n))
                        : columns.filter((n) => n !== f.name),
                    )
                  }
                />
                {f.label}
              </label>
            ))}
          </fieldset>
          <button type="button" className="btn btn-small" onClick={() => onChange(defaultColumns(meta))}>
            Reset to default
          </button>
        </div>
      )}
    </div>
  );
}

function conditionText(fields: FieldMeta[], c: { field: string; op: string; value?: unknown }): string {
  const f = fields.find((x) => x.name === c.field);
  const label = f?.label ?? c.field;
  if (!needsValue(c.op)) return `${label} ${opLabel(f, c.op)}`;
  let v: string;
  if (Array.isArray(c.value)) v = c.value.map((x) => valueText(f, x)).join(c.op === "between" ? " and " : ", ");
  else if (c.value && typeof c.value === "object") {
    const d = c.value as { amount?: number; unit?: string };
    v = `${d.amount} ${d.unit}`;
  } else v = f?.type === "reference" ? `#${c.value}` : valueText(f, c.value);
  return `${label} ${opLabel(f, c.op)} ${v}`;
}

export function ListPage() {
  const { object = "" } = useParams();
  const meta = useObjectMeta(object);
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const [showFilter, setShowFilter] = useState(false);
  const [creating, setCreating] = useState(false);
  const [columns, setColumns] = useColumns(meta.data);

  const filterRaw = params.get("filter");
  const flat = useMemo(() => fromFilterJson(filterRaw), [filterRaw]);
  const sort = params.get("sort") ?? "";

  useEffect(() => {
    if (meta.data) document.title = `${meta.data.label} · Sextant`;
  }, [meta.data]);
  useEffect(() => {
    setShowFilter(false);
  }, [object]);

  const list = useInfiniteQuery({
    queryKey: ["list", object, filterRaw ?? "", sort],
    enabled: !!meta.data,
    initialPageParam: null as string | null,
    queryFn: async ({ pageParam, signal }) => {
      const page = await api<Page>(
        `/api/v1/${object}${qs({ filter: filterRaw, sort, limit: PAGE, cursor: pageParam, total: pageParam === null })}`,
        { signal },
      );
      if (meta.data) primeFromRecords(object, meta.data.title_fields, meta.data.singular, page.items);
      return page;
    },
    getNextPageParam: (last) => last.next_cursor,
  });

  if (meta.error instanceof ApiError && (meta.error.status === 404 || meta.error.status === 403)) {
    return <NotFound what="This list" />;
  }
  if (!meta.data) return meta.error ? <ErrorBanner error={meta.error} /> : <Spinner />;
  const m = meta.data;
  const fields = Object.fromEntries(m.fields.map((f) => [f.name, f]));
  const shownCols = columns.map((c) => fields[c]).filter((f): f is FieldMeta => !!f);
  const rows = list.data?.pages.flatMap((p) => p.items) ?? [];
  const total = list.data?.pages[0]?.total;
  const titleSort = m.title_fields[0];

  const applyFilter = (f: FlatFilter) => {
    const json = toFilterJson(f);
    const next = new URLSearchParams(params);
    if (json) next.set("filter", JSON.stringify(json));
    else next.delete("filter");
    setParams(next);
    setShowFilter(false);
  };
  const sortBy = (name: string) => {
    const next = new URLSearchParams(params);
    next.set("sort", sort === name ? `-${name}` : name);
    setParams(next);
  };
  const sortState = (name: string): "ascending" | "descending" | undefined =>
    sort === name ? "ascending" : sort === `-${name}` ? "descending" : undefined;

  const header = (f: { name: string; label: string; sortable: boolean }, extra?: string) => {
    const state = sortState(f.name);
    return (
      <th key={f.name} scope="col" aria-sort={state ?? "none"} className={extra}>
        {f.sortable ? (
          <button type="button" className="th-sort" onClick={() => sortBy(f.name)}>
            {f.label}
            <span className="sort-mark" aria-hidden="true">
              {state === "ascending" ? "▲" : state === "descending" ? "▼" : ""}
            </span>
          </button>
        ) : (
          f.label
        )}
      </th>
    );
  };

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>{m.label}</h1>
          <p className="muted" aria-live="polite">
            {total !== null && total !== undefined ? `${total} ${total === 1 ? m.singular.toLowerCase() : m.label.toLowerCase()}` : " "}
          </p>
        </div>
        <div className="toolbar">
          <button type="button" className="btn" aria-expanded={showFilter} onClick={() => setShowFilter((s) => !s)}>
            <Icon name="filter" size={18} /> <span className="btn-text">Filter</span>
            {flat.conditions.length > 0 && <span className="badge">{flat.conditions.length}</span>}
          </button>
          <ColumnChooser meta={m} columns={columns} onChange={setColumns} />
          {can(m, "create") && (
            <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
              <Icon name="plus" size={18} /> New {m.singular.toLowerCase()}
            </button>
          )}
        </div>
      </header>

      {showFilter && (
        <FilterBuilder
          fields={m.fields}
          initial={flat.conditions.length ? flat : { mode: "and", conditions: [] }}
          onApply={applyFilter}
          onCancel={() => setShowFilter(false)}
        />
      )}
      {flat.conditions.length > 0 && !showFilter && (
        <div className="active-filters" aria-label="Active filter">
          <span className="muted">{flat.mode === "and" ? "All of:" : "Any of:"}</span>
          {flat.conditions.map((c, i) => (
            <span key={i} className="chip chip-filter">
              {conditionText(m.fields, c)}
              <button
                type="button"
                className="chip-x"
                aria-label={`Remove condition: ${conditionText(m.fields, c)}`}
                onClick={() => applyFilter({ ...flat, conditions: flat.conditions.filter((_, j) => j !== i) })}
              >
                <Icon name="x" size={14} />
              </button>
            </span>
          ))}
          <button type="button" className="btn btn-small" onClick={() => applyFilter({ mode: "and", conditions: [] })}>
            Clear
          </button>
        </div>
      )}

      <ErrorBanner error={list.error} />
      <div className="table-wrap">
        <table className="data-table">
          <caption className="sr-only">
            {m.label}
            {sort ? `, sorted by ${fields[sort.replace(/^-/, "")]?.label ?? sort} ${sort.startsWith("-") ? "descending" : "ascending"}` : ""}
          </caption>
          <thead>
            <tr>
              {header({ name: titleSort, label: "Name", sortable: fields[titleSort]?.sortable ?? false }, "col-title")}
              {shownCols.map((f) => header(f))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} className="row-link" onClick={() => navigate(`/o/${object}/${r.id}`)}>
                <td className="col-title" data-label="Name">
                  <Link to={`/o/${object}/${r.id}`} onClick={(e) => e.stopPropagation()}>
                    {titleOf(m, r)}
                  </Link>
                </td>
                {shownCols.map((f) => (
                  <td key={f.name} data-label={f.label} className={`t-${f.type}`}>
                    <FieldValue field={f} value={r[f.name]} record={r} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        {list.isLoading && <Spinner />}
        {list.isSuccess && rows.length === 0 && (
          <p className="empty">
            {flat.conditions.length ? "No records match this filter." : `No ${m.label.toLowerCase()} yet.`}
          </p>
        )}
      </div>
      {list.hasNextPage && (
        <div className="load-more">
          <button type="button" className="btn" disabled={list.isFetchingNextPage} onClick={() => list.fetchNextPage()}>
            {list.isFetchingNextPage ? "Loading…" : "Load more"}
          </button>
        </div>
      )}

      <Modal open={creating} title={`New ${m.singular.toLowerCase()}`} onClose={() => setCreating(false)} wide>
        <RecordForm
          meta={m}
          onCancel={() => setCreating(false)}
          onCreated={(rec) => {
            setCreating(false);
            navigate(`/o/${object}/${rec.id}`);
          }}
        />
      </Modal>
    </div>
  );
}
