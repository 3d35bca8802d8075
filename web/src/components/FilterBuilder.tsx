import { useId, useState } from "react";
import { fromLocalInput, toLocalInput } from "../lib/format";
import type { FieldMeta } from "../lib/types";
import { Icon } from "./Icon";
import { ReferencePicker } from "./ReferencePicker";

export interface Condition {
  field: string;
  op: string;
  value?: unknown;
}

/** A filter as the builder edits it: an and/or group of conditions and (one level of) sub-groups. */
export interface FilterGroup {
  mode: "and" | "or";
  items: FilterItem[];
}
export type FilterItem = Condition | FilterGroup;
/** Kept for callers of the first version (a group without sub-groups). */
export type FlatFilter = FilterGroup;

export function isGroup(item: FilterItem): item is FilterGroup {
  return typeof item === "object" && item !== null && "items" in item;
}

export const EMPTY_FILTER: FilterGroup = { mode: "and", items: [] };

export const OP_LABELS: Record<string, string> = {
  eq: "is",
  ne: "is not",
  contains: "contains",
  not_contains: "does not contain",
  starts_with: "starts with",
  ends_with: "ends with",
  gt: "greater than",
  gte: "at least",
  lt: "less than",
  lte: "at most",
  between: "between",
  in: "is any of",
  not_in: "is none of",
  is_empty: "is empty",
  is_not_empty: "is not empty",
  in_last: "in the last",
  in_next: "in the next",
  older_than: "more than … ago",
  in_period: "in period",
};

const DATE_OP_LABELS: Record<string, string> = { gt: "after", gte: "on or after", lt: "before", lte: "on or before" };

const OP_ORDER = [
  "contains", "eq", "ne", "not_contains", "starts_with", "ends_with", "in", "not_in", "gt", "gte", "lt", "lte",
  "between", "in_last", "in_next", "older_than", "in_period", "is_empty", "is_not_empty",
];

const PERIODS = [
  "today", "yesterday", "tomorrow", "this_week", "last_week", "next_week", "this_month", "last_month",
  "next_month", "this_quarter", "last_quarter", "next_quarter", "this_year", "last_year", "next_year",
];
const UNITS = ["minutes", "hours", "days", "weeks", "months", "years"];

export function opLabel(field: FieldMeta | undefined, op: string): string {
  if (field && (field.type === "date" || field.type === "datetime") && DATE_OP_LABELS[op]) return DATE_OP_LABELS[op];
  return OP_LABELS[op] ?? op;
}

export function orderedOps(field: FieldMeta): string[] {
  return [...field.operators].sort((a, b) => OP_ORDER.indexOf(a) - OP_ORDER.indexOf(b));
}

export function needsValue(op: string): boolean {
  return op !== "is_empty" && op !== "is_not_empty";
}

function conditionJson(c: Condition): object {
  return needsValue(c.op) ? { field: c.field, op: c.op, value: c.value } : { field: c.field, op: c.op };
}

function groupJson(g: FilterGroup): object | undefined {
  const parts = g.items
    .map((i) => (isGroup(i) ? groupJson(i) : conditionJson(i)))
    .filter((x): x is object => x !== undefined);
  return parts.length ? { [g.mode]: parts } : undefined;
}

/** The filter language JSON for the API, or undefined when there is nothing to filter on. */
export function toFilterJson(f: FilterGroup): object | undefined {
  return groupJson(f);
}

function parseNode(data: unknown, depth: number): FilterItem | null {
  if (!data || typeof data !== "object" || Array.isArray(data)) return null;
  const obj = data as Record<string, unknown>;
  if ("field" in obj && "op" in obj) {
    return { field: String(obj.field), op: String(obj.op), ...("value" in obj ? { value: obj.value } : {}) };
  }
  const mode = "or" in obj ? "or" : "and" in obj ? "and" : null;
  if (!mode || !Array.isArray(obj[mode]) || depth > 1) return null;
  const items = (obj[mode] as unknown[]).map((n) => parseNode(n, depth + 1)).filter((x): x is FilterItem => x !== null);
  return { mode, items };
}

/** Back from the URL or a saved view: an and/or group of conditions and sub-groups. Anything the builder
 * cannot show (a `not`, deeper nesting) is left out, and `partial` says so. */
export function parseFilter(raw: unknown): { filter: FilterGroup; partial: boolean } {
  if (raw === null || raw === undefined || raw === "") return { filter: EMPTY_FILTER, partial: false };
  let data: unknown = raw;
  if (typeof raw === "string") {
    try {
      data = JSON.parse(raw);
    } catch {
      return { filter: EMPTY_FILTER, partial: true };
    }
  }
  const node = parseNode(data, 0);
  const filter: FilterGroup = !node ? EMPTY_FILTER : isGroup(node) ? node : { mode: "and", items: [node] };
  return { filter, partial: countConditions(filter) < countRaw(data) };
}

function countRaw(data: unknown): number {
  if (Array.isArray(data)) return data.reduce((n: number, x) => n + countRaw(x), 0);
  if (!data || typeof data !== "object") return 0;
  const obj = data as Record<string, unknown>;
  if ("field" in obj) return 1;
  return Object.values(obj).reduce((n: number, x) => n + countRaw(x), 0);
}

export function fromFilterJson(raw: string | null): FilterGroup {
  return parseFilter(raw).filter;
}

/** Number of conditions, sub-groups included. */
export function countConditions(g: FilterGroup): number {
  return g.items.reduce((n, i) => n + (isGroup(i) ? countConditions(i) : 1), 0);
}

function defaultValue(field: FieldMeta, op: string): unknown {
  if (!needsValue(op)) return undefined;
  if (op === "in_last" || op === "in_next" || op === "older_than") return { amount: 30, unit: "days" };
  if (op === "in_period") return "this_month";
  if (op === "between") return ["", ""];
  if (op === "in" || op === "not_in") return [];
  if (field.type === "boolean") return true;
  if (field.type === "single_select" || (field.type === "multi_select" && field.options)) return field.options?.[0]?.value ?? "";
  return "";
}

function scalarInput(field: FieldMeta, value: unknown, onChange: (v: unknown) => void, label: string) {
  const str = value === null || value === undefined ? "" : String(value);
  if (field.type === "boolean") {
    return (
      <select className="input" aria-label={label} value={String(value)} onChange={(e) => onChange(e.target.value === "true")}>
        <option value="true">Yes</option>
        <option value="false">No</option>
      </select>
    );
  }
  if ((field.type === "single_select" || field.type === "multi_select") && field.options) {
    return (
      <select className="input" aria-label={label} value={str} onChange={(e) => onChange(e.target.value)}>
        {field.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    );
  }
  if (field.type === "reference" && field.reference) {
    return (
      <ReferencePicker object={field.reference} value={typeof value === "number" ? value : null} onChange={(v) => onChange(v)} label={label} />
    );
  }
  if (field.type === "date") {
    return <input className="input" type="date" aria-label={label} value={str} onChange={(e) => onChange(e.target.value)} />;
  }
  if (field.type === "datetime") {
    return (
      <input
        className="input"
        type="datetime-local"
        aria-label={label}
        value={toLocalInput(value)}
        onChange={(e) => onChange(fromLocalInput(e.target.value) ?? "")}
      />
    );
  }
  const numeric = field.type === "number" || field.type === "currency" || field.type === "percent";
  return (
    <input
      className="input"
      type="text"
      inputMode={numeric ? "decimal" : undefined}
      aria-label={label}
      value={str}
      onChange={(e) => {
        const t = e.target.value;
        onChange(numeric && t.trim() !== "" && Number.isFinite(Number(t)) ? Number(t) : t);
      }}
    />
  );
}

function ValueInput({ field, cond, onChange, prefix = "" }: { field: FieldMeta; cond: Condition; onChange: (v: unknown) => void; prefix?: string }) {
  const label = `${prefix}Value for ${field.label}`;
  const { op, value } = cond;
  if (!needsValue(op)) return null;
  if (op === "in_last" || op === "in_next" || op === "older_than") {
    const v = (value as { amount: number; unit: string }) ?? { amount: 30, unit: "days" };
    return (
      <span className="value-pair">
        <input
          className="input num"
          type="number"
          min={1}
          aria-label={`${label}: amount`}
          value={v.amount}
          onChange={(e) => onChange({ ...v, amount: Number(e.target.value) })}
        />
        <select className="input" aria-label={`${label}: unit`} value={v.unit} onChange={(e) => onChange({ ...v, unit: e.target.value })}>
          {UNITS.map((u) => (
            <option key={u}>{u}</option>
          ))}
        </select>
      </span>
    );
  }
  if (op === "in_period") {
    return (
      <select className="input" aria-label={label} value={String(value)} onChange={(e) => onChange(e.target.value)}>
        {PERIODS.map((p) => (
          <option key={p} value={p}>
            {p.replace(/_/g, " ")}
          </option>
        ))}
      </select>
    );
  }
  if (op === "between") {
    const pair = Array.isArray(value) ? value : ["", ""];
    return (
      <span className="value-pair">
        {scalarInput(field, pair[0], (v) => onChange([v, pair[1]]), `${label}: from`)}
        <span aria-hidden="true">and</span>
        {scalarInput(field, pair[1], (v) => onChange([pair[0], v]), `${label}: to`)}
      </span>
    );
  }
  if (op === "in" || op === "not_in") {
    const list = Array.isArray(value) ? value : [];
    if (field.options) {
      return (
        <fieldset className="checks compact">
          <legend className="sr-only">{label}</legend>
          {field.options.map((o) => (
            <label key={o.value} className="check">
              <input
                type="checkbox"
                checked={list.includes(o.value)}
                onChange={(e) => onChange(e.target.checked ? [...list, o.value] : list.filter((x) => x !== o.value))}
              />
              {o.label}
            </label>
          ))}
        </fieldset>
      );
    }
    const numeric = ["number", "currency", "percent", "reference"].includes(field.type);
    return (
      <input
        className="input"
        type="text"
        aria-label={`${label} (comma-separated)`}
        placeholder="a, b, c"
        defaultValue={list.join(", ")}
        onChange={(e) =>
          onChange(
            e.target.value
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean)
              .map((s) => (numeric && Number.isFinite(Number(s)) ? Number(s) : s)),
          )
        }
      />
    );
  }
  return scalarInput(field, value, onChange, label);
}

function ConditionRow({
  cond,
  filterable,
  label,
  valuePrefix,
  onChange,
  onRemove,
}: {
  cond: Condition;
  filterable: FieldMeta[];
  label: string;
  valuePrefix: string;
  onChange: (c: Condition) => void;
  onRemove: () => void;
}) {
  const field = filterable.find((f) => f.name === cond.field) ?? filterable[0];
  return (
    <li className="condition">
      <select
        className="input"
        aria-label={`${label}: field`}
        value={field.name}
        onChange={(e) => {
          const f = filterable.find((x) => x.name === e.target.value)!;
          const op = f.operators.includes(cond.op) ? cond.op : orderedOps(f)[0];
          onChange({ field: f.name, op, value: defaultValue(f, op) });
        }}
      >
        {filterable.map((f) => (
          <option key={f.name} value={f.name}>
            {f.label}
          </option>
        ))}
      </select>
      <select
        className="input"
        aria-label={`${label}: operator`}
        value={cond.op}
        onChange={(e) => {
          const op = e.target.value;
          const special = ["between", "in", "not_in", "in_last", "in_next", "older_than", "in_period"];
          const keep = needsValue(op) && needsValue(cond.op) && !special.some((x) => x === op || x === cond.op);
          onChange({ ...cond, op, value: keep ? cond.value : defaultValue(field, op) });
        }}
      >
        {orderedOps(field).map((op) => (
          <option key={op} value={op}>
            {opLabel(field, op)}
          </option>
        ))}
      </select>
      <ValueInput key={`${cond.field}-${cond.op}`} field={field} cond={cond} prefix={valuePrefix} onChange={(v) => onChange({ ...cond, value: v })} />
      <button type="button" className="icon-btn" aria-label={`Remove ${label.toLowerCase()}`} onClick={onRemove}>
        <Icon name="x" size={18} />
      </button>
    </li>
  );
}

/** Conditions on the object's filterable fields, combined with all (and) or any (or), with sub-groups
 * ("city is Lyon and (stage is customer or created in the last 30 days)"). */
export function FilterBuilder({
  fields,
  initial,
  onApply,
  onCancel,
  partial,
}: {
  fields: FieldMeta[];
  initial: FilterGroup;
  onApply: (f: FilterGroup) => void;
  onCancel: () => void;
  partial?: boolean;
}) {
  const filterable = fields.filter((f) => f.filterable && f.readable && f.operators.length);
  const [state, setState] = useState<FilterGroup>(initial);
  const base = useId();

  const newCondition = (): Condition | null => {
    const f = filterable.find((x) => x.type === "text") ?? filterable[0];
    if (!f) return null;
    const op = orderedOps(f)[0];
    return { field: f.name, op, value: defaultValue(f, op) };
  };
  const setItem = (i: number, item: FilterItem) =>
    setState((s) => ({ ...s, items: s.items.map((x, j) => (j === i ? item : x)) }));
  const removeItem = (i: number) => setState((s) => ({ ...s, items: s.items.filter((_, j) => j !== i) }));
  const add = () => {
    const c = newCondition();
    if (c) setState((s) => ({ ...s, items: [...s.items, c] }));
  };
  const addGroup = () => {
    const c = newCondition();
    if (c) setState((s) => ({ ...s, items: [...s.items, { mode: s.mode === "and" ? "or" : "and", items: [c] }] }));
  };

  let groupNo = 0;
  return (
    <form
      className="filter-builder card"
      aria-label="Filter"
      onSubmit={(e) => {
        e.preventDefault();
        onApply(state);
      }}
    >
      {partial && (
        <p className="banner banner-warn">Part of this filter (a “not” or deeper nesting) cannot be shown here; applying replaces it.</p>
      )}
      <div className="filter-mode">
        <label htmlFor={`${base}-mode`}>Show records matching</label>
        <select
          id={`${base}-mode`}
          className="input input-inline"
          value={state.mode}
          onChange={(e) => setState((s) => ({ ...s, mode: e.target.value as "and" | "or" }))}
        >
          <option value="and">all</option>
          <option value="or">any</option>
        </select>
        <span>of these conditions:</span>
      </div>
      {state.items.length === 0 && <p className="muted">No conditions yet.</p>}
      <ol className="conditions">
        {state.items.map((item, i) => {
          if (!isGroup(item)) {
            return (
              <ConditionRow
                key={i}
                cond={item}
                filterable={filterable}
                label={`Condition ${i + 1}`}
                valuePrefix=""
                onChange={(c) => setItem(i, c)}
                onRemove={() => removeItem(i)}
              />
            );
          }
          groupNo += 1;
          const g = groupNo;
          const gid = `${base}-g${i}`;
          return (
            <li key={i} className="filter-group">
              <fieldset>
                <legend className="filter-mode">
                  <label htmlFor={gid}>Group {g}: matching</label>
                  <select
                    id={gid}
                    className="input input-inline"
                    value={item.mode}
                    onChange={(e) => setItem(i, { ...item, mode: e.target.value as "and" | "or" })}
                  >
                    <option value="and">all</option>
                    <option value="or">any</option>
                  </select>
                  <span>of:</span>
                </legend>
                <ol className="conditions">
                  {item.items.map((sub, j) =>
                    isGroup(sub) ? null : (
                      <ConditionRow
                        key={j}
                        cond={sub}
                        filterable={filterable}
                        label={`Group ${g}, condition ${j + 1}`}
                        valuePrefix={`Group ${g}: `}
                        onChange={(c) => setItem(i, { ...item, items: item.items.map((x, k) => (k === j ? c : x)) })}
                        onRemove={() => {
                          const rest = item.items.filter((_, k) => k !== j);
                          if (rest.length) setItem(i, { ...item, items: rest });
                          else removeItem(i);
                        }}
                      />
                    ),
                  )}
                </ol>
                <div className="form-actions">
                  <button
                    type="button"
                    className="btn btn-small"
                    onClick={() => {
                      const c = newCondition();
                      if (c) setItem(i, { ...item, items: [...item.items, c] });
                    }}
                  >
                    <Icon name="plus" size={16} /> Add condition to group {g}
                  </button>
                  <button type="button" className="btn btn-small" onClick={() => removeItem(i)}>
                    Remove group {g}
                  </button>
                </div>
              </fieldset>
            </li>
          );
        })}
      </ol>
      <div className="form-actions">
        <button type="button" className="btn" onClick={add}>
          <Icon name="plus" size={16} /> Add condition
        </button>
        <button type="button" className="btn" onClick={addGroup}>
          <Icon name="plus" size={16} /> Add group
        </button>
        <span className="spacer" />
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary">
          Apply filter
        </button>
      </div>
    </form>
  );
}
