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

export interface FlatFilter {
  mode: "and" | "or";
  conditions: Condition[];
}

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

/** The filter language JSON for the API, or undefined when there is nothing to filter on. */
export function toFilterJson(f: FlatFilter): object | undefined {
  if (!f.conditions.length) return undefined;
  return { [f.mode]: f.conditions.map((c) => (needsValue(c.op) ? { field: c.field, op: c.op, value: c.value } : { field: c.field, op: c.op })) };
}

/** Back from the URL: a flat and/or group of conditions (anything else is ignored). */
export function fromFilterJson(raw: string | null): FlatFilter {
  if (!raw) return { mode: "and", conditions: [] };
  try {
    const data = JSON.parse(raw);
    const mode = "or" in data ? "or" : "and";
    const items = Array.isArray(data[mode]) ? data[mode] : [];
    const conditions = items.filter((c: unknown) => c && typeof c === "object" && "field" in (c as object) && "op" in (c as object));
    return { mode, conditions };
  } catch {
    return { mode: "and", conditions: [] };
  }
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

function ValueInput({ field, cond, onChange }: { field: FieldMeta; cond: Condition; onChange: (v: unknown) => void }) {
  const label = `Value for ${field.label}`;
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

/** Conditions on the object's filterable fields, combined with all (and) or any (or). */
export function FilterBuilder({
  fields,
  initial,
  onApply,
  onCancel,
}: {
  fields: FieldMeta[];
  initial: FlatFilter;
  onApply: (f: FlatFilter) => void;
  onCancel: () => void;
}) {
  const filterable = fields.filter((f) => f.filterable && f.readable && f.operators.length);
  const [state, setState] = useState<FlatFilter>(initial);
  const base = useId();

  const set = (i: number, c: Condition) =>
    setState((s) => ({ ...s, conditions: s.conditions.map((x, j) => (j === i ? c : x)) }));
  const add = () => {
    const f = filterable.find((x) => x.type === "text") ?? filterable[0];
    if (!f) return;
    const op = orderedOps(f)[0];
    setState((s) => ({ ...s, conditions: [...s.conditions, { field: f.name, op, value: defaultValue(f, op) }] }));
  };

  return (
    <form
      className="filter-builder card"
      aria-label="Filter"
      onSubmit={(e) => {
        e.preventDefault();
        onApply(state);
      }}
    >
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
      {state.conditions.length === 0 && <p className="muted">No conditions yet.</p>}
      <ol className="conditions">
        {state.conditions.map((c, i) => {
          const field = filterable.find((f) => f.name === c.field) ?? filterable[0];
          return (
            <li key={i} className="condition">
              <select
                className="input"
                aria-label={`Condition ${i + 1}: field`}
                value={field.name}
                onChange={(e) => {
                  const f = filterable.find((x) => x.name === e.target.value)!;
                  const op = f.operators.includes(c.op) ? c.op : orderedOps(f)[0];
                  set(i, { field: f.name, op, value: defaultValue(f, op) });
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
                aria-label={`Condition ${i + 1}: operator`}
                value={c.op}
                onChange={(e) => {
                  const op = e.target.value;
                  const keep = needsValue(op) && needsValue(c.op) && !["between", "in", "not_in", "in_last", "in_next", "older_than", "in_period"].some((x) => x === op || x === c.op);
                  set(i, { ...c, op, value: keep ? c.value : defaultValue(field, op) });
                }}
              >
                {orderedOps(field).map((op) => (
                  <option key={op} value={op}>
                    {opLabel(field, op)}
                  </option>
                ))}
              </select>
              <ValueInput key={`${c.field}-${c.op}`} field={field} cond={c} onChange={(v) => set(i, { ...c, value: v })} />
              <button
                type="button"
                className="icon-btn"
                aria-label={`Remove condition ${i + 1}`}
                onClick={() => setState((s) => ({ ...s, conditions: s.conditions.filter((_, j) => j !== i) }))}
              >
                <Icon name="x" size={18} />
              </button>
            </li>
          );
        })}
      </ol>
      <div className="form-actions">
        <button type="button" className="btn" onClick={add}>
          <Icon name="plus" size={16} /> Add condition
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
