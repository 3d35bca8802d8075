import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from "react";
import { Link, useLocation, useNavigate, useParams } from "react-router";
import { api, ApiError, ifMatch } from "../../lib/api";
import {
  catalogQuery,
  errorsUnder,
  pathErrors,
  workflowQuery,
  type ActionDef,
  type Catalog,
  type CatalogEntry,
  type DryRun,
  type TriggerDef,
  type Workflow,
  type WorkflowVersion,
} from "../../lib/automation";
import { useObjectMeta, useObjects } from "../../lib/meta";
import { optionLabel } from "../../lib/format";
import { pipelinesQuery, userLabel, usersQuery } from "../../lib/refs";
import type { FieldMeta, ObjectMeta } from "../../lib/types";
import { teamsQuery } from "../../lib/views";
import { FilterBuilder, isGroup, OP_LABELS, opLabel, parseFilter, toFilterJson, type FilterGroup } from "../../components/FilterBuilder";
import { Icon } from "../../components/Icon";
import { ReferencePicker } from "../../components/ReferencePicker";
import { ErrorBanner, Modal, Spinner } from "../../components/ui";
import { AutomationFrame, CopyButton, Json, When } from "./common";

// ------------------------------------------------------------------------------------------- the draft

type Keyed = ActionDef & { _k: string };
let seq = 0;
const newKey = () => `a${++seq}`;

function keyed(items: unknown): Keyed[] {
  if (!Array.isArray(items)) return [];
  return items.map((raw) => {
    const a = { ...(raw as ActionDef), _k: newKey() } as Keyed;
    if (a.type === "branch") {
      a.then = keyed(a.then);
      a.else = keyed(a.else);
    }
    return a;
  });
}

function plain(items: Keyed[]): ActionDef[] {
  return items.map(({ _k, ...rest }) => {
    void _k;
    const a = { ...rest } as ActionDef;
    if (a.type === "branch") {
      a.then = plain((a.then as Keyed[]) ?? []);
      a.else = plain((a.else as Keyed[]) ?? []);
    }
    return a;
  });
}

interface Draft {
  name: string;
  description: string;
  object_name: string | null;
  enabled: boolean;
  trigger: TriggerDef;
  conditions: unknown;
  actions: Keyed[];
  max_runs_per_minute: string;
}

function draftOf(wf: Partial<Workflow> | null): Draft {
  return {
    name: wf?.name ?? "",
    description: wf?.description ?? "",
    object_name: wf ? (wf.object_name ?? null) : "contacts",
    enabled: wf?.enabled ?? false,
    trigger: wf?.trigger ?? { type: "record.created" },
    conditions: wf?.conditions ?? null,
    actions: keyed(wf?.actions ?? []),
    max_runs_per_minute: String(wf?.max_runs_per_minute ?? 600),
  };
}

// ------------------------------------------------------------------------------------------- small inputs

function Field({ label, error, help, children, id }: { label: string; error?: string; help?: string; children: (p: { id: string; describedBy?: string; invalid?: true }) => ReactNode; id?: string }) {
  const auto = useId();
  const fid = id ?? auto;
  const describedBy = [help ? `${fid}-help` : "", error ? `${fid}-err` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field ${error ? "has-error" : ""}`}>
      <label className="field-label" htmlFor={fid}>
        {label}
      </label>
      {children({ id: fid, describedBy, invalid: error ? true : undefined })}
      {help && (
        <p id={`${fid}-help`} className="help">
          {help}
        </p>
      )}
      {error && (
        <p id={`${fid}-err`} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

function Text({ label, value, onChange, error, help, multiline, type = "text" }: { label: string; value: unknown; onChange: (v: string) => void; error?: string; help?: string; multiline?: boolean; type?: string }) {
  const str = value === undefined || value === null ? "" : String(value);
  return (
    <Field label={label} error={error} help={help}>
      {(p) =>
        multiline ? (
          <textarea id={p.id} className="input" rows={3} value={str} aria-describedby={p.describedBy} aria-invalid={p.invalid} onChange={(e) => onChange(e.target.value)} />
        ) : (
          <input id={p.id} className="input" type={type} inputMode={type === "number" ? "numeric" : undefined} value={str} aria-describedby={p.describedBy} aria-invalid={p.invalid} onChange={(e) => onChange(e.target.value)} />
        )
      }
    </Field>
  );
}

function Choice({ label, value, onChange, options, error, help }: { label: string; value: string; onChange: (v: string) => void; options: { value: string; label: string }[]; error?: string; help?: string }) {
  return (
    <Field label={label} error={error} help={help}>
      {(p) => (
        <select id={p.id} className="input" value={value} aria-describedby={p.describedBy} aria-invalid={p.invalid} onChange={(e) => onChange(e.target.value)}>
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** A number option: whole numbers go to the API as numbers, anything else as typed (the API says why). */
function num(v: string): number | string | undefined {
  const t = v.trim();
  if (!t) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

/** An option of a type the editor has no special input for: JSON when it parses as JSON, text otherwise. */
function looseValue(v: string): unknown {
  const t = v.trim();
  if (t === "") return undefined;
  if (/^[[{"\d-]|^(true|false|null)$/.test(t)) {
    try {
      return JSON.parse(t);
    } catch {
      return v;
    }
  }
  return v;
}

function looseText(v: unknown): string {
  if (v === undefined || v === null) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

function set<T extends Record<string, unknown>>(o: T, key: string, value: unknown): T {
  const next = { ...o } as Record<string, unknown>;
  if (value === undefined || value === "") delete next[key];
  else next[key] = value;
  return next as T;
}

// ------------------------------------------------------------------------------------------- conditions

function valueText(f: FieldMeta | undefined, v: unknown): string {
  if (Array.isArray(v)) return v.map((x) => valueText(f, x)).join(", ");
  if (v && typeof v === "object" && "amount" in v) {
    const span = v as unknown as { amount: number; unit: string };
    return `${span.amount} ${span.unit}`;
  }
  if (f?.options) return optionLabel(f.options, v) || String(v);
  if (typeof v === "boolean") return v ? "yes" : "no";
  return String(v ?? "");
}

/** One line for a filter-language node ("City is Lyon and (Stage is Customer or …)"). */
export function filterText(fields: FieldMeta[], node: unknown): string {
  if (!node || typeof node !== "object") return "";
  const o = node as Record<string, unknown>;
  if ("field" in o) {
    const f = fields.find((x) => x.name === o.field);
    const op = String(o.op);
    const label = f ? opLabel(f, op) : (OP_LABELS[op] ?? op);
    return `${f?.label ?? String(o.field)} ${label}${"value" in o ? ` ${valueText(f, o.value)}` : ""}`;
  }
  if ("not" in o) return `not (${filterText(fields, o.not)})`;
  const mode = "or" in o ? "or" : "and";
  const parts = Array.isArray(o[mode]) ? (o[mode] as unknown[]) : [];
  return parts.map((p) => (p && typeof p === "object" && !("field" in (p as object)) ? `(${filterText(fields, p)})` : filterText(fields, p))).join(` ${mode} `);
}

interface FilterEdit {
  title: string;
  value: unknown;
  onApply: (json: unknown) => void;
}

function ConditionBlock({
  label,
  value,
  fields,
  errors,
  onEdit,
  onClear,
  disabled,
}: {
  label: string;
  value: unknown;
  fields: FieldMeta[];
  errors: [string, string][];
  onEdit: () => void;
  onClear: () => void;
  disabled?: boolean;
}) {
  const text = value ? filterText(fields, value) : "";
  return (
    <div className={errors.length ? "has-error" : undefined}>
      <p className="cond-summary">
        {text ? <span className="chip chip-filter">{text}</span> : <span className="muted">No conditions: every record qualifies.</span>}
      </p>
      <div className="row-flex">
        <button type="button" className="btn btn-small" onClick={onEdit} disabled={disabled}>
          <Icon name="filter" size={16} /> {text ? `Edit ${label.toLowerCase()}` : `Add ${label.toLowerCase()}`}
        </button>
        {text && (
          <button type="button" className="btn btn-small" onClick={onClear}>
            Clear {label.toLowerCase()}
          </button>
        )}
      </div>
      {errors.map(([k, m]) => (
        <p key={k} className="field-error">
          {k}: {m}
        </p>
      ))}
    </div>
  );
}

// ------------------------------------------------------------------------------------------- trigger

interface Ctx {
  catalog: Catalog;
  meta: ObjectMeta | undefined;
  errors: Record<string, string>;
  editFilter: (e: FilterEdit) => void;
}

function TriggerOptions({ trigger, onChange, ctx }: { trigger: TriggerDef; onChange: (t: TriggerDef) => void; ctx: Ctx }) {
  const pipelines = useQuery({ ...pipelinesQuery(), enabled: trigger.type === "deal.stage_entered" });
  const fields = ctx.meta?.fields ?? [];
  const err = (k: string) => ctx.errors[`trigger.${k}`];
  const entry = ctx.catalog.triggers.find((t) => t.type === trigger.type);
  switch (trigger.type) {
    case "record.created":
    case "record.deleted":
    case "manual":
    case "webhook":
      return null;
    case "record.updated": {
      const chosen = Array.isArray(trigger.fields) ? (trigger.fields as string[]) : [];
      return (
        <fieldset className={`field ${err("fields") ? "has-error" : ""}`}>
          <legend className="field-label">Only when one of these fields changed (none ticked: any change)</legend>
          <div className="check-grid">
            {fields
              .filter((f) => !f.system || f.name === "owner_id")
              .map((f) => (
                <label key={f.name} className="check">
                  <input
                    type="checkbox"
                    checked={chosen.includes(f.name)}
                    onChange={(e) => {
                      const next = e.target.checked ? [...chosen, f.name] : chosen.filter((x) => x !== f.name);
                      onChange(set(trigger, "fields", next.length ? next : undefined));
                    }}
                  />
                  {f.label}
                </label>
              ))}
          </div>
          {err("fields") && <p className="field-error">{err("fields")}</p>}
        </fieldset>
      );
    }
    case "field.changed": {
      const f = fields.find((x) => x.name === trigger.field);
      const valueInput = (key: "from" | "to", label: string) =>
        f?.options ? (
          <Choice
            label={label}
            value={trigger[key] === undefined ? "" : String(trigger[key])}
            error={err(key)}
            onChange={(v) => onChange(set(trigger, key, v === "" ? undefined : v))}
            options={[{ value: "", label: "Any value" }, ...f.options]}
          />
        ) : (
          <Text label={label} value={looseText(trigger[key])} error={err(key)} help="Empty: any value" onChange={(v) => onChange(set(trigger, key, f && ["number", "currency", "percent", "reference"].includes(f.type) ? num(v) : v === "" ? undefined : v))} />
        );
      return (
        <div className="form-grid">
          <Choice
            label="Field"
            value={String(trigger.field ?? "")}
            error={err("field")}
            onChange={(v) => onChange({ type: trigger.type, ...(v ? { field: v } : {}) })}
            options={[{ value: "", label: "Choose a field" }, ...fields.filter((x) => !x.system || x.name === "owner_id").map((x) => ({ value: x.name, label: x.label }))]}
          />
          {valueInput("from", "From (before)")}
          {valueInput("to", "To (after)")}
        </div>
      );
    }
    case "deal.stage_entered":
      return (
        <Field label="Stage" error={err("stage_id")}>
          {(p) => (
            <select
              id={p.id}
              className="input"
              aria-invalid={p.invalid}
              aria-describedby={p.describedBy}
              value={String(trigger.stage_id ?? "")}
              onChange={(e) => onChange(set(trigger, "stage_id", e.target.value ? Number(e.target.value) : undefined))}
            >
              <option value="">Choose a stage</option>
              {(pipelines.data ?? []).map((pl) => (
                <optgroup key={pl.id} label={pl.name}>
                  {pl.stages.map((s) => (
                    <option key={s.id} value={s.id}>
                      {s.name}
                    </option>
                  ))}
                </optgroup>
              ))}
            </select>
          )}
        </Field>
      );
    case "date.reached":
      return (
        <div className="form-grid">
          <Choice
            label="Date field"
            value={String(trigger.field ?? "")}
            error={err("field")}
            onChange={(v) => onChange(set(trigger, "field", v))}
            options={[{ value: "", label: "Choose a date field" }, ...fields.filter((x) => x.type === "date" || x.type === "datetime").map((x) => ({ value: x.name, label: x.label }))]}
          />
          <Text label="Days after the date (negative: before)" type="number" value={trigger.offset_days ?? 0} error={err("offset_days")} onChange={(v) => onChange(set(trigger, "offset_days", num(v)))} />
        </div>
      );
    case "schedule":
      return <Text label="Schedule (cron, UTC)" value={trigger.cron} error={err("cron")} help="minute hour day month weekday, e.g. 0 8 * * 1-5" onChange={(v) => onChange(set(trigger, "cron", v))} />;
    default:
      return <GenericOptions entry={entry} value={trigger} path="trigger" errors={ctx.errors} onChange={(t) => onChange(t as TriggerDef)} />;
  }
}

function GenericOptions({ entry, value, path, errors, onChange }: { entry: CatalogEntry | undefined; value: Record<string, unknown>; path: string; errors: Record<string, string>; onChange: (v: Record<string, unknown>) => void }) {
  if (!entry || !Object.keys(entry.options).length) return null;
  return (
    <div className="form-grid">
      {Object.entries(entry.options).map(([name, help]) => (
        <Text key={name} label={name.replace(/_/g, " ")} help={help} value={looseText(value[name])} error={errors[`${path}.${name}`]} onChange={(v) => onChange(set(value, name, looseValue(v)))} />
      ))}
    </div>
  );
}

// ------------------------------------------------------------------------------------------- actions

const TEMPLATE_HELP = "Text, or a template such as {{ record.first_name }}";

function FieldValues({ action, path, onChange, ctx }: { action: Keyed; path: string; onChange: (a: Keyed) => void; ctx: Ctx }) {
  const values = (action.values && typeof action.values === "object" ? action.values : {}) as Record<string, unknown>;
  const writable = (ctx.meta?.fields ?? []).filter((f) => !f.system && f.writable);
  const unused = writable.filter((f) => !(f.name in values));
  const [adding, setAdding] = useState("");
  const addId = useId();
  const put = (entries: [string, unknown][]) => onChange({ ...action, values: Object.fromEntries(entries) });
  const entries = Object.entries(values);
  const groupErr = ctx.errors[`${path}.values`];
  const input = (f: FieldMeta | undefined, name: string, v: unknown, i: number) => {
    const label = `Value for ${f?.label ?? name}`;
    const err = ctx.errors[`${path}.values.${name}`];
    const common = { "aria-invalid": err ? true : undefined, "aria-describedby": err ? `${addId}-e${i}` : undefined };
    const change = (nv: unknown) => put(entries.map(([k, x], j) => [k, j === i ? nv : x]));
    let control: ReactNode;
    if (f?.type === "boolean") {
      control = (
        <select className="input" aria-label={label} value={String(v)} onChange={(e) => change(e.target.value === "true")} {...common}>
          <option value="true">Yes</option>
          <option value="false">No</option>
        </select>
      );
    } else if (f?.options && f.type === "single_select") {
      control = (
        <select className="input" aria-label={label} value={String(v ?? "")} onChange={(e) => change(e.target.value)} {...common}>
          <option value="">(empty)</option>
          {f.options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      );
    } else {
      const numeric = f && ["number", "currency", "percent", "reference"].includes(f.type);
      control = (
        <input
          className="input"
          aria-label={label}
          value={Array.isArray(v) ? v.join(", ") : looseText(v)}
          placeholder={f?.type === "multi_select" ? "a, b, c" : TEMPLATE_HELP}
          onChange={(e) => {
            const t = e.target.value;
            if (f?.type === "multi_select") change(t.split(",").map((s) => s.trim()).filter(Boolean));
            else change(numeric && t.trim() && Number.isFinite(Number(t)) ? Number(t) : t);
          }}
          {...common}
        />
      );
    }
    return (
      <>
        {control}
        {err && (
          <p id={`${addId}-e${i}`} className="field-error">
            {err}
          </p>
        )}
      </>
    );
  };
  return (
    <fieldset className={`field ${groupErr ? "has-error" : ""}`}>
      <legend className="field-label">Set these fields</legend>
      <ul className="kv-rows">
        {entries.map(([name, v], i) => {
          const f = (ctx.meta?.fields ?? []).find((x) => x.name === name);
          return (
            <li key={name} className="kv-row">
              <select
                className="input"
                aria-label={`Field ${i + 1}`}
                value={name}
                onChange={(e) => put(entries.map(([k, x], j) => (j === i ? [e.target.value, x] : [k, x])))}
              >
                {[...(f ? [f] : [{ name, label: name } as FieldMeta]), ...unused].map((x) => (
                  <option key={x.name} value={x.name}>
                    {x.label}
                  </option>
                ))}
              </select>
              <div>{input(f, name, v, i)}</div>
              <button type="button" className="icon-btn" aria-label={`Do not set ${f?.label ?? name}`} onClick={() => put(entries.filter((_, j) => j !== i))}>
                <Icon name="x" size={18} />
              </button>
            </li>
          );
        })}
      </ul>
      {unused.length > 0 && (
        <div className="row-flex">
          <label className="sr-only" htmlFor={`${addId}-add`}>
            Field to set
          </label>
          <select id={`${addId}-add`} className="input input-inline" value={adding} onChange={(e) => setAdding(e.target.value)}>
            <option value="">Choose a field…</option>
            {unused.map((f) => (
              <option key={f.name} value={f.name}>
                {f.label}
              </option>
            ))}
          </select>
          <button
            type="button"
            className="btn btn-small"
            disabled={!adding}
            onClick={() => {
              const f = writable.find((x) => x.name === adding);
              put([...entries, [adding, f?.type === "boolean" ? true : f?.options && f.type === "single_select" ? f.options[0]?.value ?? "" : ""]]);
              setAdding("");
            }}
          >
            <Icon name="plus" size={16} /> Add field
          </button>
        </div>
      )}
      <p className="help">Values may be templates: {"{{ record.email }}"}, {"{{ now }}"}, {"{{ payload.x }}"}.</p>
      {groupErr && <p className="field-error">{groupErr}</p>}
    </fieldset>
  );
}

/** Option names a type's own editor shows at an input (errors for them show there). */
const SHOWN: Record<string, string[]> = {
  update_fields: ["values"],
  create_task: ["title", "description", "due_in_days", "assignee"],
  create_activity: ["kind", "subject", "body"],
  assign_owner: ["strategy", "team_id"],
  notify: ["users", "title", "body"],
  send_email: ["to", "subject", "body"],
  webhook: ["url", "body", "secret"],
  wait: [],
  branch: ["condition", "then", "else"],
};

function ActionOptions({ action, path, onChange, ctx }: { action: Keyed; path: string; onChange: (a: Keyed) => void; ctx: Ctx }) {
  const users = useQuery({ ...usersQuery(), enabled: ["create_task", "notify"].includes(action.type) });
  const teams = useQuery({ ...teamsQuery, enabled: action.type === "assign_owner" });
  const err = (k: string) => ctx.errors[`${path}.${k}`];
  const text = (k: string, label: string, opts: { multiline?: boolean; help?: string } = {}) => (
    <Text label={label} value={action[k]} error={err(k)} multiline={opts.multiline} help={opts.help} onChange={(v) => onChange(set(action, k, v))} />
  );
  const people = (users.data ?? []).filter((u) => u.is_active);
  switch (action.type) {
    case "update_fields":
      return <FieldValues action={action} path={path} onChange={onChange} ctx={ctx} />;
    case "create_task":
      return (
        <div className="form-grid">
          {text("title", "Task title", { help: TEMPLATE_HELP })}
          <Text label="Due in days" type="number" value={action.due_in_days ?? 0} error={err("due_in_days")} onChange={(v) => onChange(set(action, "due_in_days", num(v)))} />
          <Choice
            label="Assign to"
            value={String(action.assignee ?? "owner")}
            error={err("assignee")}
            onChange={(v) => onChange(set(action, "assignee", v === "owner" ? "owner" : Number(v)))}
            options={[{ value: "owner", label: "The record's owner" }, ...people.map((u) => ({ value: String(u.id), label: userLabel(u) }))]}
          />
          <div className="span-2">{text("description", "Description", { multiline: true })}</div>
        </div>
      );
    case "create_activity":
      return (
        <div className="form-grid">
          <Choice
            label="Kind"
            value={String(action.kind ?? "")}
            error={err("kind")}
            onChange={(v) => onChange(set(action, "kind", v))}
            options={[{ value: "", label: "Choose…" }, ...["note", "call", "meeting", "email"].map((k) => ({ value: k, label: k[0].toUpperCase() + k.slice(1) }))]}
          />
          {text("subject", "Subject", { help: TEMPLATE_HELP })}
          <div className="span-2">{text("body", "Body", { multiline: true })}</div>
        </div>
      );
    case "assign_owner":
      return (
        <div className="form-grid">
          <Choice
            label="Strategy"
            value={String(action.strategy ?? "")}
            error={err("strategy")}
            onChange={(v) => onChange(set(action, "strategy", v))}
            options={[
              { value: "", label: "Choose…" },
              { value: "round_robin", label: "Round robin" },
              { value: "least_loaded", label: "Least loaded" },
            ]}
          />
          <Choice
            label="Team"
            value={String(action.team_id ?? "")}
            error={err("team_id")}
            onChange={(v) => onChange(set(action, "team_id", v ? Number(v) : undefined))}
            options={[{ value: "", label: "Choose a team" }, ...(teams.data ?? []).map((t) => ({ value: String(t.id), label: t.name }))]}
          />
        </div>
      );
    case "notify": {
      const chosen = Array.isArray(action.users) ? (action.users as (string | number)[]) : ["owner"];
      const toggle = (u: string | number, on: boolean) => onChange({ ...action, users: on ? [...chosen, u] : chosen.filter((x) => x !== u) });
      return (
        <>
          <fieldset className={`field ${err("users") ? "has-error" : ""}`}>
            <legend className="field-label">Notify</legend>
            <div className="check-grid">
              <label className="check">
                <input type="checkbox" checked={chosen.includes("owner")} onChange={(e) => toggle("owner", e.target.checked)} /> The record's owner
              </label>
              {people.map((u) => (
                <label key={u.id} className="check">
                  <input type="checkbox" checked={chosen.includes(u.id)} onChange={(e) => toggle(u.id, e.target.checked)} /> {userLabel(u)}
                </label>
              ))}
            </div>
            {err("users") && <p className="field-error">{err("users")}</p>}
          </fieldset>
          <div className="form-grid">
            {text("title", "Title", { help: TEMPLATE_HELP })}
            {text("body", "Body", { multiline: true })}
          </div>
        </>
      );
    }
    case "send_email":
      return (
        <div className="form-grid">
          {text("to", "To", { help: "An address or {{ record.email }}" })}
          {text("subject", "Subject", { help: TEMPLATE_HELP })}
          <div className="span-2">{text("body", "Body (plain text)", { multiline: true })}</div>
        </div>
      );
    case "webhook":
      return <WebhookAction action={action} onChange={onChange} err={err} />;
    case "wait":
      return (
        <div className="form-grid wait-grid">
          {["days", "hours", "minutes", "seconds"].map((k) => (
            <Text key={k} label={k[0].toUpperCase() + k.slice(1)} type="number" value={action[k] ?? ""} error={err(k)} onChange={(v) => onChange(set(action, k, num(v)))} />
          ))}
        </div>
      );
    case "branch":
      return <BranchEditor action={action} path={path} onChange={onChange} ctx={ctx} />;
    default:
      return <GenericOptions entry={ctx.catalog.actions.find((a) => a.type === action.type)} value={action} path={path} errors={ctx.errors} onChange={(v) => onChange(v as Keyed)} />;
  }
}

function WebhookAction({ action, onChange, err }: { action: Keyed; onChange: (a: Keyed) => void; err: (k: string) => string | undefined }) {
  const [bodyText, setBodyText] = useState(action.body === undefined ? "" : JSON.stringify(action.body, null, 2));
  const [bad, setBad] = useState<string | null>(null);
  return (
    <div className="form-grid">
      <Text label="URL" type="url" value={action.url} error={err("url")} onChange={(v) => onChange(set(action, "url", v))} />
      <Text label="Signing secret (optional)" value={action.secret} error={err("secret")} help="Signs the request with HMAC-SHA256 (Sextant-Signature header)" onChange={(v) => onChange(set(action, "secret", v))} />
      <div className="span-2">
        <Text
          label="Body (JSON, optional)"
          multiline
          value={bodyText}
          error={bad ?? err("body")}
          help="Default: the record. Strings may be templates."
          onChange={(v) => {
            setBodyText(v);
            if (!v.trim()) {
              setBad(null);
              onChange(set(action, "body", undefined));
              return;
            }
            try {
              const parsed = JSON.parse(v);
              setBad(null);
              onChange({ ...action, body: parsed });
            } catch {
              setBad("Not valid JSON yet");
            }
          }}
        />
      </div>
    </div>
  );
}

function BranchEditor({ action, path, onChange, ctx }: { action: Keyed; path: string; onChange: (a: Keyed) => void; ctx: Ctx }) {
  const fields = ctx.meta?.fields ?? [];
  return (
    <>
      <div className="field">
        <span className="field-label">If the record matches</span>
        <ConditionBlock
          label="Branch condition"
          value={action.condition}
          fields={fields}
          errors={errorsUnder(ctx.errors, `${path}.condition`)}
          disabled={!ctx.meta}
          onClear={() => onChange(set(action, "condition", undefined))}
          onEdit={() =>
            ctx.editFilter({
              title: "Branch condition",
              value: action.condition,
              onApply: (json) => onChange(set(action, "condition", json ?? undefined)),
            })
          }
        />
      </div>
      {(["then", "else"] as const).map((arm) => (
        <section key={arm} className="branch-arm" aria-label={`${arm === "then" ? "Then" : "Else"} (${path})`}>
          <h4>{arm === "then" ? "Then" : "Otherwise"}</h4>
          <ActionList items={(action[arm] as Keyed[]) ?? []} path={`${path}.${arm}`} onChange={(items) => onChange({ ...action, [arm]: items })} ctx={ctx} />
        </section>
      ))}
    </>
  );
}

/** A run step's path ("2.then.0") as people count ("3 › then 1"). */
export function stepPath(path: string): string {
  return path
    .split(".")
    .map((p) => (/^\d+$/.test(p) ? String(Number(p) + 1) : p))
    .join(" › ");
}

function describePath(path: string): string {
  // actions[0].then[1] -> "1 › then 2"
  return path
    .replace(/^actions/, "")
    .replace(/\[(\d+)\]/g, (_m, n) => ` ${Number(n) + 1}`)
    .replace(/\./g, " › ")
    .trim();
}

function ActionCard({
  action,
  path,
  index,
  count,
  onChange,
  onMove,
  onRemove,
  ctx,
}: {
  action: Keyed;
  path: string;
  index: number;
  count: number;
  onChange: (a: Keyed) => void;
  onMove: (to: number) => void;
  onRemove: () => void;
  ctx: Ctx;
}) {
  const entry = ctx.catalog.actions.find((a) => a.type === action.type);
  const shownKeys = SHOWN[action.type] ?? (entry ? Object.keys(entry.options) : []);
  const mine = errorsUnder(ctx.errors, path).filter(([k]) => {
    const rest = k.slice(path.length);
    if (rest.startsWith("[")) return false; // never: a card's path ends in ]
    return !shownKeys.some((s) => rest === `.${s}` || rest.startsWith(`.${s}.`) || rest.startsWith(`.${s}[`));
  });
  const anyErr = errorsUnder(ctx.errors, path).length > 0;
  const title = `${describePath(path)}. ${entry?.label ?? action.type}`;
  return (
    <li className={`action-card ${anyErr ? "has-error" : ""}`} aria-label={`Action ${describePath(path)}`}>
      <div className="action-head">
        <h3>
          {title}
          {entry?.external && <span className="pill"> runs in the background</span>}
        </h3>
        <button type="button" className="icon-btn" aria-label={`Move action ${describePath(path)} up`} disabled={index === 0} onClick={() => onMove(index - 1)}>
          <Icon name="up" size={18} />
        </button>
        <button type="button" className="icon-btn" aria-label={`Move action ${describePath(path)} down`} disabled={index === count - 1} onClick={() => onMove(index + 1)}>
          <Icon name="down" size={18} />
        </button>
        <button type="button" className="icon-btn" aria-label={`Remove action ${describePath(path)}`} onClick={onRemove}>
          <Icon name="trash" size={18} />
        </button>
      </div>
      {mine.map(([k, m]) => (
        <p key={k} className="field-error" role="alert">
          {k === path ? m : `${k.slice(path.length + 1)}: ${m}`}
        </p>
      ))}
      <ActionOptions action={action} path={path} onChange={onChange} ctx={ctx} />
    </li>
  );
}

function ActionList({ items, path, onChange, ctx }: { items: Keyed[]; path: string; onChange: (items: Keyed[]) => void; ctx: Ctx }) {
  const [type, setType] = useState("");
  const id = useId();
  const add = () => {
    if (!type) return;
    const base: Keyed = { type, _k: newKey() };
    if (type === "branch") Object.assign(base, { then: [], else: [] });
    if (type === "update_fields") Object.assign(base, { values: {} });
    if (type === "notify") Object.assign(base, { users: ["owner"] });
    if (type === "create_task") Object.assign(base, { assignee: "owner", due_in_days: 0 });
    onChange([...items, base]);
    setType("");
  };
  const rootErr = ctx.errors[path];
  return (
    <>
      {items.length === 0 && <p className="muted">No actions yet.</p>}
      <ol className="action-list">
        {items.map((a, i) => (
          <ActionCard
            key={a._k}
            action={a}
            index={i}
            count={items.length}
            path={`${path}[${i}]`}
            ctx={ctx}
            onChange={(next) => onChange(items.map((x, j) => (j === i ? next : x)))}
            onRemove={() => onChange(items.filter((_, j) => j !== i))}
            onMove={(to) => {
              const next = [...items];
              const [moved] = next.splice(i, 1);
              next.splice(to, 0, moved);
              onChange(next);
            }}
          />
        ))}
      </ol>
      {rootErr && <p className="field-error">{rootErr}</p>}
      <div className="row-flex add-action">
        <label className="sr-only" htmlFor={`${id}-type`}>
          New action type{path === "actions" ? "" : ` (${describePath(path)})`}
        </label>
        <select id={`${id}-type`} className="input input-inline" value={type} onChange={(e) => setType(e.target.value)}>
          <option value="">Choose an action…</option>
          {ctx.catalog.actions.map((a) => (
            <option key={a.type} value={a.type}>
              {a.label}
            </option>
          ))}
        </select>
        <button type="button" className="btn btn-small" disabled={!type} onClick={add}>
          <Icon name="plus" size={16} /> Add action{path === "actions" ? "" : ` to ${describePath(path)}`}
        </button>
      </div>
    </>
  );
}

// ------------------------------------------------------------------------------------------- side panels

function DryRunPanel({ wf }: { wf: Workflow }) {
  const [recordId, setRecordId] = useState<number | null>(null);
  const [typed, setTyped] = useState("");
  const run = useMutation({
    mutationFn: () => api<DryRun>(`/api/v1/workflows/${wf.id}/dry-run`, { method: "POST", body: { record_id: recordId ?? (typed ? Number(typed) : null) } }),
  });
  const catalog = useQuery(catalogQuery);
  const label = (t: string) => catalog.data?.actions.find((a) => a.type === t)?.label ?? t;
  return (
    <section className="card auto-section" aria-labelledby="dry-run-h">
      <h2 id="dry-run-h">Dry run</h2>
      <p className="help">What the saved version would do for a record, without changing anything.</p>
      {wf.object_name && (
        <>
          <div className="field">
            <span className="field-label" id="dry-run-rec">
              Record
            </span>
            <ReferencePicker object={wf.object_name} value={recordId} onChange={setRecordId} label="Record for the dry run" />
          </div>
          <Text label="…or its id" type="number" value={typed} onChange={setTyped} />
        </>
      )}
      <button type="button" className="btn" onClick={() => run.mutate()} disabled={run.isPending || (!!wf.object_name && !recordId && !typed)}>
        <Icon name="play" size={16} /> Dry run
      </button>
      <ErrorBanner error={run.error} />
      {run.data && (
        <div role="status" aria-label="Dry run result">
          <p>
            <strong>{run.data.conditions_hold ? "The conditions hold." : "The conditions do not hold: nothing would happen."}</strong>
          </p>
          {run.data.actions.length > 0 && (
            <ol className="plan-list">
              {run.data.actions.map((a) => (
                <li key={a.path}>
                  <span>
                    {stepPath(a.path)}. {label(a.type)}
                  </span>
                  <Json value={a.would} label={`Would do: ${label(a.type)}`} />
                </li>
              ))}
            </ol>
          )}
        </div>
      )}
    </section>
  );
}

function VersionsPanel({ wf, onLoad }: { wf: Workflow; onLoad: (v: WorkflowVersion) => void }) {
  const versions = useQuery({
    queryKey: ["workflow-versions", wf.id, wf.version],
    queryFn: () => api<{ items: WorkflowVersion[] }>(`/api/v1/workflows/${wf.id}/versions`).then((r) => r.items),
  });
  const users = useQuery(usersQuery());
  const who = (id: number | null) => {
    const u = users.data?.find((x) => x.id === id);
    return u ? userLabel(u) : id ? `#${id}` : "—";
  };
  const [open, setOpen] = useState<number | null>(null);
  return (
    <section className="card auto-section" aria-labelledby="versions-h">
      <h2 id="versions-h">Versions</h2>
      <ErrorBanner error={versions.error} />
      <ol className="plan-list" reversed>
        {[...(versions.data ?? [])].reverse().map((v) => (
          <li key={v.version}>
            <div className="row-flex">
              <strong>v{v.version}</strong>
              <When at={v.created_at} />
              <span className="muted">{who(v.created_by_id)}</span>
              {v.version === wf.version && <span className="pill">current</span>}
            </div>
            <div className="row-flex">
              <button type="button" className="btn btn-small" aria-expanded={open === v.version} onClick={() => setOpen(open === v.version ? null : v.version)}>
                {open === v.version ? "Hide" : "Show"} v{v.version}
              </button>
              {v.version !== wf.version && (
                <button type="button" className="btn btn-small" onClick={() => onLoad(v)}>
                  Load v{v.version} into the editor
                </button>
              )}
            </div>
            {open === v.version && <Json value={v.definition} label={`Version ${v.version}`} />}
          </li>
        ))}
      </ol>
    </section>
  );
}

// ------------------------------------------------------------------------------------------- the page

export function WorkflowEditorPage() {
  const { id: param } = useParams();
  const isNew = !param || param === "new";
  const id = isNew ? 0 : Number(param);
  const wfQ = useQuery({ ...workflowQuery(id), enabled: !isNew });
  const catalog = useQuery(catalogQuery);
  if ((!isNew && wfQ.isLoading) || catalog.isLoading) {
    return (
      <AutomationFrame title="Workflow" back={{ to: "/automation/workflows", label: "Workflows" }}>
        <Spinner />
      </AutomationFrame>
    );
  }
  if (wfQ.error || catalog.error || !catalog.data) {
    return (
      <AutomationFrame title="Workflow" back={{ to: "/automation/workflows", label: "Workflows" }}>
        <ErrorBanner error={wfQ.error ?? catalog.error} />
      </AutomationFrame>
    );
  }
  return <Editor key={isNew ? "new" : `${id}`} wf={isNew ? null : (wfQ.data ?? null)} catalog={catalog.data} />;
}

function Editor({ wf, catalog }: { wf: Workflow | null; catalog: Catalog }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const objects = useObjects();
  const [draft, setDraft] = useState<Draft>(() => draftOf(wf));
  const [version, setVersion] = useState<number | null>(wf?.version ?? null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [conflict, setConflict] = useState<string | null>(null);
  const location = useLocation();
  // a new workflow's first save moves to its own address: the message comes along
  const [saved, setSaved] = useState<string | null>(() => (location.state as { saved?: string } | null)?.saved ?? null);
  const [filterEdit, setFilterEdit] = useState<FilterEdit | null>(null);
  const meta = useObjectMeta(draft.object_name ?? undefined);
  const formRef = useRef<HTMLFormElement>(null);
  const trig = catalog.triggers.find((t) => t.type === draft.trigger.type);

  useEffect(() => {
    if (Object.keys(errors).length) formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"], .field-error')?.closest(".field, .action-card")?.scrollIntoView({ block: "center" });
    const first = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
    first?.focus();
  }, [errors]);

  const save = useMutation({
    mutationFn: () => {
      const body = {
        name: draft.name,
        description: draft.description || null,
        object_name: draft.object_name,
        enabled: draft.enabled,
        trigger: draft.trigger,
        conditions: draft.conditions ?? null,
        actions: plain(draft.actions),
        max_runs_per_minute: num(draft.max_runs_per_minute) ?? 600,
      };
      return wf
        ? api<Workflow>(`/api/v1/workflows/${wf.id}`, { method: "PATCH", body, headers: ifMatch(version) })
        : api<Workflow>("/api/v1/workflows", { method: "POST", body });
    },
    onSuccess: (out) => {
      setErrors({});
      setConflict(null);
      setVersion(out.version);
      qc.setQueryData(["workflow", out.id], out);
      qc.invalidateQueries({ queryKey: ["workflows"] });
      qc.invalidateQueries({ queryKey: ["workflow-versions", out.id] });
      const message = `Saved as version ${out.version}.`;
      setSaved(message);
      if (!wf) navigate(`/automation/workflows/${out.id}`, { replace: true, state: { saved: message } });
    },
    onError: (err) => {
      setSaved(null);
      if (err instanceof ApiError && err.status === 409) {
        setConflict(err.message);
        return;
      }
      if (err instanceof ApiError && err.problem.errors?.length) setErrors(pathErrors(err.problem.errors));
      else setErrors({});
    },
  });

  const reloadCurrent = async () => {
    if (!wf) return;
    const fresh = await qc.fetchQuery({ ...workflowQuery(wf.id), staleTime: 0 });
    setDraft(draftOf(fresh));
    setVersion(fresh.version);
    setConflict(null);
    setErrors({});
  };

  const ctx: Ctx = { catalog, meta: meta.data, errors, editFilter: setFilterEdit };
  const placed = (k: string) =>
    ["name", "description", "object_name", "enabled", "max_runs_per_minute"].includes(k) ||
    k.startsWith("trigger") ||
    k.startsWith("conditions") ||
    k === "actions" ||
    /^actions\[\d+\]/.test(k);
  const unplaced = Object.entries(errors).filter(([k]) => !placed(k));
  const nErrors = Object.keys(errors).length;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(null);
    save.mutate();
  };
  const objectOptions = [
    ...(trig?.needs_object === false ? [{ value: "", label: "No object" }] : []),
    ...(objects.data ?? []).map((o) => ({ value: o.name, label: o.label })),
  ];
  const hookUrl = wf?.hook_url ? `${window.location.origin}${wf.hook_url}` : null;
  const title = wf ? wf.name : "New workflow";

  return (
    <AutomationFrame
      title={title}
      back={{ to: "/automation/workflows", label: "Workflows" }}
      actions={
        wf && (
          <Link className="btn" to={`/automation/workflows/${wf.id}/runs`}>
            <Icon name="history" size={18} /> Run history
          </Link>
        )
      }
    >
      <div className={wf ? "editor-layout" : "editor-layout single"}>
        <div>
          <form ref={formRef} noValidate onSubmit={submit} aria-label="Workflow">
            {nErrors > 0 && (
              <div className="banner banner-error" role="alert">
                <span>
                  Not saved: {nErrors === 1 ? "one problem is" : `${nErrors} problems are`} marked below.
                  {unplaced.map(([k, m]) => (
                    <span key={k} className="block">
                      {" "}
                      {k}: {m}
                    </span>
                  ))}
                </span>
              </div>
            )}
            {!nErrors && save.isError && !conflict && <ErrorBanner error={save.error} />}
            <section className="card auto-section" aria-labelledby="wf-basics">
              <h2 id="wf-basics">Workflow</h2>
              <div className="form-grid">
                <Text label="Name" value={draft.name} error={errors.name} onChange={(v) => setDraft({ ...draft, name: v })} />
                <Choice
                  label="Object"
                  value={draft.object_name ?? ""}
                  error={errors.object_name}
                  options={objectOptions}
                  onChange={(v) => setDraft({ ...draft, object_name: v || null, conditions: v === draft.object_name ? draft.conditions : null })}
                />
                <div className="span-2">
                  <Text label="Description" multiline value={draft.description} error={errors.description} onChange={(v) => setDraft({ ...draft, description: v })} />
                </div>
                <Text
                  label="At most runs per minute"
                  type="number"
                  value={draft.max_runs_per_minute}
                  error={errors.max_runs_per_minute}
                  help="Further runs in the same minute are skipped (rate_limited)."
                  onChange={(v) => setDraft({ ...draft, max_runs_per_minute: v })}
                />
                <div className="field">
                  <span className="field-label">Status</span>
                  <label className="switch-label">
                    <input type="checkbox" role="switch" checked={draft.enabled} onChange={(e) => setDraft({ ...draft, enabled: e.target.checked })} />
                    Enabled
                  </label>
                  {errors.enabled && <p className="field-error">{errors.enabled}</p>}
                </div>
              </div>
            </section>

            <section className="card auto-section" aria-labelledby="wf-trigger">
              <h2 id="wf-trigger">When</h2>
              <Choice
                label="Trigger"
                value={draft.trigger.type}
                error={errors["trigger.type"]}
                help={trig?.needs_object === false ? "Runs without a record unless given one (object optional)." : undefined}
                options={catalog.triggers.map((t) => ({ value: t.type, label: t.label }))}
                onChange={(v) => {
                  const t = catalog.triggers.find((x) => x.type === v);
                  setDraft({
                    ...draft,
                    trigger: { type: v },
                    object_name: v === "deal.stage_entered" ? "deals" : t?.needs_object && !draft.object_name ? "contacts" : draft.object_name,
                  });
                }}
              />
              <TriggerOptions trigger={draft.trigger} onChange={(t) => setDraft({ ...draft, trigger: t })} ctx={ctx} />
              {errorsUnder(errors, "trigger")
                .filter(([k]) => k !== "trigger.type" && !(SHOWN_TRIGGER[draft.trigger.type] ?? Object.keys(trig?.options ?? {})).some((s) => k === `trigger.${s}`))
                .map(([k, m]) => (
                  <p key={k} className="field-error">
                    {k}: {m}
                  </p>
                ))}
              {draft.trigger.type === "webhook" && (
                <div className="field">
                  <span className="field-label">Inbound hook URL</span>
                  {hookUrl ? (
                    <>
                      <div className="hook-url">
                        <code aria-label="Inbound hook URL">{hookUrl}</code>
                        <CopyButton text={hookUrl} label="Copy the hook URL" />
                      </div>
                      <p className="help">POST JSON to it (at most 64 KB); {"{\"record_id\": 12}"} runs the workflow on that record, the body is {"{{ payload }}"}. Keep it secret: whoever has it can start the workflow.</p>
                    </>
                  ) : (
                    <p className="help">Save the workflow to get its URL.</p>
                  )}
                </div>
              )}
            </section>

            <section className="card auto-section" aria-labelledby="wf-conditions">
              <h2 id="wf-conditions">Only if</h2>
              {draft.object_name ? (
                <ConditionBlock
                  label="Conditions"
                  value={draft.conditions}
                  fields={meta.data?.fields ?? []}
                  errors={errorsUnder(errors, "conditions")}
                  disabled={!meta.data}
                  onClear={() => setDraft({ ...draft, conditions: null })}
                  onEdit={() =>
                    setFilterEdit({
                      title: "Conditions",
                      value: draft.conditions,
                      onApply: (json) => setDraft((d) => ({ ...d, conditions: json ?? null })),
                    })
                  }
                />
              ) : (
                <p className="muted">Conditions need a workflow on an object.</p>
              )}
            </section>

            <section className="card auto-section" aria-labelledby="wf-actions">
              <h2 id="wf-actions">Then do, in order</h2>
              <ActionList items={draft.actions} path="actions" onChange={(items) => setDraft((d) => ({ ...d, actions: items }))} ctx={ctx} />
            </section>

            <div className="save-bar">
              {conflict && (
                <div className="banner banner-warn" role="alert">
                  <span>{conflict}. Your changes are not saved.</span>
                  <button type="button" className="btn btn-small" onClick={reloadCurrent}>
                    Load the current version (discards yours)
                  </button>
                </div>
              )}
              {saved && (
                <span role="status" className="ok-text">
                  {saved}
                </span>
              )}
              <span className="spacer" />
              <Link className="btn" to="/automation/workflows">
                Cancel
              </Link>
              <button type="submit" className="btn btn-primary" disabled={save.isPending}>
                {wf ? "Save workflow" : "Create workflow"}
              </button>
            </div>
          </form>
        </div>
        {wf && (
          <aside className="editor-side" aria-label="Workflow tools">
            <DryRunPanel wf={qc.getQueryData<Workflow>(["workflow", wf.id]) ?? wf} />
            <VersionsPanel
              wf={qc.getQueryData<Workflow>(["workflow", wf.id]) ?? wf}
              onLoad={(v) => {
                setDraft((d) => ({ ...draftOf({ ...v.definition, enabled: d.enabled, description: d.description } as Workflow) }));
                setSaved(`Version ${v.version} loaded: save to make it the current one.`);
              }}
            />
          </aside>
        )}
      </div>
      {/* outside the workflow form: the filter builder is a form of its own */}
      <Modal open={!!filterEdit} title={filterEdit?.title ?? "Conditions"} onClose={() => setFilterEdit(null)} wide>
        {filterEdit && meta.data && (
          <FilterBuilder
            fields={meta.data.fields}
            initial={parsedOrEmpty(filterEdit.value)}
            partial={parseFilter(filterEdit.value ?? null).partial}
            onCancel={() => setFilterEdit(null)}
            onApply={(f: FilterGroup) => {
              filterEdit.onApply(toFilterJson(f) ?? null);
              setFilterEdit(null);
            }}
          />
        )}
      </Modal>
    </AutomationFrame>
  );
}

const SHOWN_TRIGGER: Record<string, string[]> = {
  "record.updated": ["fields"],
  "field.changed": ["field", "from", "to"],
  "deal.stage_entered": ["stage_id"],
  "date.reached": ["field", "offset_days"],
  schedule: ["cron"],
};

function parsedOrEmpty(raw: unknown): FilterGroup {
  const { filter } = parseFilter(raw ?? null);
  // a single condition comes back as a group of one: the builder shows it as such
  return isGroup(filter) ? filter : { mode: "and", items: [] };
}
