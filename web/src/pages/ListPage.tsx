import { useInfiniteQuery, useQuery, useQueryClient, type InfiniteData } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { api, ApiError, qs } from "../lib/api";
import { valueText } from "../lib/format";
import { can, titleOf, useObjectMeta } from "../lib/meta";
import { listPage } from "../lib/prefetch";
import { primeFromRecords } from "../lib/refs";
import type { FieldMeta, ObjectMeta, Page, Rec } from "../lib/types";
import { useSavedViews } from "../lib/views";
import { countConditions, EMPTY_FILTER, FilterBuilder, isGroup, needsValue, opLabel, parseFilter, toFilterJson, type FilterGroup, type FilterItem } from "../components/FilterBuilder";
import { BulkBar } from "../components/BulkActions";
import { EditableCell } from "../components/CellEdit";
import { SavedViewsBar } from "../components/SavedViews";
import { Icon } from "../components/Icon";
import { RecordForm } from "../components/RecordForm";
import { ErrorBanner, Modal, Spinner, useDismiss, useMediaQuery } from "../components/ui";
import { NotFound } from "./NotFound";


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

function itemText(fields: FieldMeta[], item: FilterItem): string {
  if (!isGroup(item)) return conditionText(fields, item);
  const joiner = item.mode === "and" ? " and " : " or ";
  return `(${item.items.map((i) => itemText(fields, i)).join(joiner)})`;
}

export function ListPage() {
  const { object = "" } = useParams();
  const meta = useObjectMeta(object);
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [showFilter, setShowFilter] = useState(false);
  const [creating, setCreating] = useState(false);
  const [columns, setColumns] = useColumns(meta.data);
  const [selected, setSelected] = useState<Map<number, Rec>>(new Map());
  const [notice, setNotice] = useState<{ tone: "warn" | "ok"; text: string } | null>(null);
  const narrow = useMediaQuery("(max-width: 760px)");

  const filterRaw = params.get("filter");
  const parsed = useMemo(() => parseFilter(filterRaw), [filterRaw]);
  const flat = parsed.filter;
  const sort = params.get("sort") ?? "";
  const viewId = Number(params.get("view")) || null;
  const views = useSavedViews(object);
  const current = views.data?.find((v) => v.id === viewId);

  useEffect(() => {
    if (meta.data) document.title = `${meta.data.label} · Sextant`;
  }, [meta.data]);
  useEffect(() => {
    setShowFilter(false);
    setNotice(null);
  }, [object]);
  useEffect(() => setSelected(new Map()), [object, filterRaw, sort]);

  // A link to ?view=N alone opens the view's filter and sort.
  const opened = useRef<number | null>(null);
  useEffect(() => {
    if (!current || !meta.data || opened.current === current.id) return;
    opened.current = current.id;
    if (!params.has("filter") && !params.has("sort")) openView(current);
    else if (current.columns.length) setColumns(readableCols(meta.data, current.columns));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [current, meta.data]);

  const listKey = ["list", object, filterRaw ?? "", sort];
  const list = useInfiniteQuery({
    queryKey: listKey,
    enabled: !!meta.data,
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) => listPage(object, filterRaw, sort, pageParam, signal),
    getNextPageParam: (last) => last.next_cursor,
  });
  // Titles of the rows in hand: reference cells elsewhere need no request for them.
  useEffect(() => {
    if (meta.data && list.data) primeFromRecords(object, meta.data.title_fields, meta.data.singular, list.data.pages.flatMap((p) => p.items));
  }, [meta.data, list.data, object]);
  // The count is asked separately, so the rows paint without waiting for it (it reads every match).
  const count = useQuery({
    queryKey: ["count", object, filterRaw ?? ""],
    enabled: !!meta.data && list.isSuccess,
    queryFn: ({ signal }) => api<{ count: number }>(`/api/v1/${object}/count${qs({ filter: filterRaw })}`, { signal }),
  });

  if (meta.error instanceof ApiError && (meta.error.status === 404 || meta.error.status === 403)) {
    return <NotFound what="This list" />;
  }
  if (!meta.data) return meta.error ? <ErrorBanner error={meta.error} /> : <Spinner />;
  const m = meta.data;
  const fields = Object.fromEntries(m.fields.map((f) => [f.name, f]));
  const shownCols = columns.map((c) => fields[c]).filter((f): f is FieldMeta => !!f && f.readable);
  const rows = list.data?.pages.flatMap((p) => p.items) ?? [];
  const total = count.data?.count;
  const titleSort = m.title_fields[0];
  const canEdit = can(m, "edit");
  const selectable = canEdit || can(m, "delete");
  const filterJson = toFilterJson(flat);

  function readableCols(meta: ObjectMeta, cols: string[]): string[] {
    const ok = new Set(meta.fields.filter((f) => f.readable).map((f) => f.name));
    return cols.filter((c) => ok.has(c));
  }
  function openView(v: { id: number; filter: unknown; sort: string; columns: string[] } | null) {
    const next = new URLSearchParams();
    if (v) {
      next.set("view", String(v.id));
      if (v.filter) next.set("filter", JSON.stringify(v.filter));
      if (v.sort) next.set("sort", v.sort);
      if (v.columns.length && meta.data) setColumns(readableCols(meta.data, v.columns));
      opened.current = v.id;
    }
    setParams(next);
    setShowFilter(false);
  }
  const applyFilter = (f: FilterGroup) => {
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

  const replaceRow = (rec: Rec) => {
    qc.setQueryData<InfiniteData<Page>>(listKey, (old) =>
      old ? { ...old, pages: old.pages.map((p) => ({ ...p, items: p.items.map((r) => (r.id === rec.id ? rec : r)) })) } : old,
    );
    qc.setQueryData(["record", object, rec.id], rec);
    setSelected((s) => (s.has(rec.id) ? new Map(s).set(rec.id, rec) : s));
  };
  const onConflict = (text: string) => {
    setNotice({ tone: "warn", text });
    list.refetch();
  };
  const toggle = (r: Rec, on: boolean) =>
    setSelected((s) => {
      const next = new Map(s);
      if (on) next.set(r.id, r);
      else next.delete(r.id);
      return next;
    });
  const allSelected = rows.length > 0 && rows.every((r) => selected.has(r.id));

  const exportFields = [...new Set([...m.title_fields, ...shownCols.map((f) => f.name)])].filter((n) => fields[n]?.readable);
  const exportHref = `/api/v1/${object}/export${qs({ filter: filterRaw, sort, fields: exportFields.join(",") })}`;

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

  const nConditions = countConditions(flat);
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>{current ? current.name : m.label}</h1>
          <p className="muted" aria-live="polite">
            {current && <span className="pill">{m.label}</span>}{" "}
            {total !== undefined ? `${total} ${total === 1 ? m.singular.toLowerCase() : m.label.toLowerCase()}` : " "}
          </p>
        </div>
        <div className="toolbar">
          <button type="button" className="btn" aria-expanded={showFilter} onClick={() => setShowFilter((s) => !s)}>
            <Icon name="filter" size={18} /> <span className="btn-text">Filter</span>
            {nConditions > 0 && <span className="badge">{nConditions}</span>}
          </button>
          <ColumnChooser meta={m} columns={columns} onChange={setColumns} />
          {can(m, "export") && (
            <a className="btn" href={exportHref} download={`${object}.csv`}>
              <Icon name="download" size={18} /> <span className="btn-text">Export</span>
            </a>
          )}
          {can(m, "create") && (
            <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
              <Icon name="plus" size={18} /> New {m.singular.toLowerCase()}
            </button>
          )}
        </div>
      </header>

      <SavedViewsBar
        object={object}
        current={current}
        activeId={viewId}
        state={{ columns, sort, filter: filterJson ?? null }}
        onOpen={openView}
      />

      {showFilter && (
        <FilterBuilder
          fields={m.fields}
          initial={flat.items.length ? flat : EMPTY_FILTER}
          partial={parsed.partial}
          onApply={applyFilter}
          onCancel={() => setShowFilter(false)}
        />
      )}
      {flat.items.length > 0 && !showFilter && (
        <div className="active-filters" aria-label="Active filter">
          <span className="muted">{flat.mode === "and" ? "All of:" : "Any of:"}</span>
          {flat.items.map((c, i) => (
            <span key={i} className="chip chip-filter">
              {itemText(m.fields, c)}
              <button
                type="button"
                className="chip-x"
                aria-label={`Remove condition: ${itemText(m.fields, c)}`}
                onClick={() => applyFilter({ ...flat, items: flat.items.filter((_, j) => j !== i) })}
              >
                <Icon name="x" size={14} />
              </button>
            </span>
          ))}
          <button type="button" className="btn btn-small" onClick={() => applyFilter(EMPTY_FILTER)}>
            Clear
          </button>
        </div>
      )}

      {notice && (
        <div className={`banner ${notice.tone === "warn" ? "banner-warn" : "banner-ok"}`} role={notice.tone === "warn" ? "alert" : "status"}>
          <span>{notice.text}</span>
          <button type="button" className="icon-btn" aria-label="Dismiss message" onClick={() => setNotice(null)}>
            <Icon name="x" size={16} />
          </button>
        </div>
      )}
      {selected.size > 0 && (
        <BulkBar
          meta={m}
          selected={[...selected.values()]}
          onClear={() => setSelected(new Map())}
          onDone={(text) => {
            setSelected(new Map());
            setNotice({ tone: "ok", text });
          }}
        />
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
              {selectable && (
                <th scope="col" className="col-select">
                  <input
                    type="checkbox"
                    aria-label={`Select all ${rows.length} ${m.label.toLowerCase()} shown`}
                    checked={allSelected}
                    onChange={(e) => setSelected(e.target.checked ? new Map(rows.map((r) => [r.id, r])) : new Map())}
                  />
                </th>
              )}
              {header({ name: titleSort, label: "Name", sortable: fields[titleSort]?.sortable ?? false }, "col-title")}
              {shownCols.map((f) => header(f))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const title = titleOf(m, r);
              return (
                <tr
                  key={r.id}
                  className={selected.has(r.id) ? "row-link selected" : "row-link"}
                  onClick={(e) => {
                    if ((e.target as HTMLElement).closest("a,button,input,select,textarea,label,form,.cell-edit")) return;
                    navigate(`/o/${object}/${r.id}`);
                  }}
                >
                  {selectable && (
                    <td className="col-select">
                      <label className="select-target">
                        <input type="checkbox" aria-label={`Select ${title}`} checked={selected.has(r.id)} onChange={(e) => toggle(r, e.target.checked)} />
                      </label>
                    </td>
                  )}
                  <td className="col-title" data-label="Name">
                    <Link to={`/o/${object}/${r.id}`}>{title}</Link>
                  </td>
                  {shownCols.map((f) => (
                    <td key={f.name} data-label={f.label} className={`t-${f.type}`}>
                      <EditableCell
                        meta={m}
                        field={f}
                        record={r}
                        title={title}
                        editable={canEdit && f.writable && !narrow}
                        onSaved={replaceRow}
                        onConflict={onConflict}
                      />
                    </td>
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
        {list.isLoading && <Spinner />}
        {list.isSuccess && rows.length === 0 && (
          <p className="empty">{nConditions ? "No records match this filter." : `No ${m.label.toLowerCase()} yet.`}</p>
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
