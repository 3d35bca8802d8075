import { useId, useState } from "react";
import { fromLocalInput, toLocalInput } from "../lib/format";
import type { FieldMeta, Rec } from "../lib/types";
import { ReferencePicker } from "./ReferencePicker";

/** Text the user typed in a number box goes to the server as typed when it is not a plain number, so the
 * server's message ("expected a number") shows at the field. */
function toNumber(v: string): number | string | null {
  const t = v.trim();
  if (!t) return null;
  const n = Number(t.replace(/,/g, ""));
  return Number.isFinite(n) ? n : t;
}

function FreeTags({ id, value, onChange, describedBy }: { id: string; value: string[]; onChange: (v: string[]) => void; describedBy?: string }) {
  const [text, setText] = useState(value.join(", "));
  return (
    <input
      id={id}
      className="input"
      type="text"
      value={text}
      aria-describedby={describedBy}
      placeholder="Comma-separated"
      onChange={(e) => {
        setText(e.target.value);
        onChange(
          e.target.value
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
        );
      }}
    />
  );
}

/** An input for any field type, labelled, with its help text and the server's error shown at the field. */
export function FieldInput({
  field,
  value,
  onChange,
  error,
  record,
  autoFocus,
  hideLabel,
}: {
  field: FieldMeta;
  value: unknown;
  onChange: (v: unknown) => void;
  error?: string;
  record?: Rec;
  autoFocus?: boolean;
  hideLabel?: boolean;
}) {
  const id = useId();
  const helpId = field.help_text ? `${id}-help` : undefined;
  const errId = error ? `${id}-err` : undefined;
  const describedBy = [helpId, errId].filter(Boolean).join(" ") || undefined;
  const common = {
    id,
    "aria-describedby": describedBy,
    "aria-invalid": error ? true : undefined,
    "aria-required": field.required || undefined,
    autoFocus,
  };
  const str = value === null || value === undefined ? "" : String(value);
  let control;
  switch (field.type) {
    case "long_text":
      control = <textarea {...common} className="input" rows={4} value={str} onChange={(e) => onChange(e.target.value || null)} />;
      break;
    case "number":
    case "currency":
    case "percent":
      control = (
        <div className={field.type === "percent" ? "input-suffix" : undefined}>
          <input
            {...common}
            className="input num"
            type="text"
            inputMode="decimal"
            value={str}
            onChange={(e) => onChange(toNumber(e.target.value))}
          />
          {field.type === "percent" && <span aria-hidden="true">%</span>}
        </div>
      );
      break;
    case "date":
      control = <input {...common} className="input" type="date" value={str.slice(0, 10)} onChange={(e) => onChange(e.target.value || null)} />;
      break;
    case "datetime":
      control = (
        <input
          {...common}
          className="input"
          type="datetime-local"
          value={toLocalInput(value)}
          onChange={(e) => onChange(fromLocalInput(e.target.value))}
        />
      );
      break;
    case "boolean":
      return (
        <div className={`field field-check ${error ? "has-error" : ""}`}>
          <input {...common} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} />
          <label htmlFor={id} className={hideLabel ? "sr-only" : "field-label"}>
            {field.label}
          </label>
          {field.help_text && <p id={helpId} className="help">{field.help_text}</p>}
          {error && <p id={errId} className="field-error">{error}</p>}
        </div>
      );
    case "single_select":
      control = (
        <select {...common} className="input" value={str} onChange={(e) => onChange(e.target.value || null)}>
          <option value="">—</option>
          {(field.options ?? []).map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
          {str && !(field.options ?? []).some((o) => o.value === str) && <option value={str}>{str}</option>}
        </select>
      );
      break;
    case "multi_select": {
      const list = Array.isArray(value) ? (value as string[]) : [];
      if (!field.options) {
        control = <FreeTags id={id} value={list} onChange={onChange} describedBy={describedBy} />;
        break;
      }
      return (
        <fieldset className={`field field-multi ${error ? "has-error" : ""}`} aria-describedby={describedBy}>
          <legend className={hideLabel ? "sr-only" : "field-label"}>
            {field.label}
            {field.required && <span aria-hidden="true"> *</span>}
          </legend>
          <div className="checks">
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
          </div>
          {field.help_text && <p id={helpId} className="help">{field.help_text}</p>}
          {error && <p id={errId} className="field-error">{error}</p>}
        </fieldset>
      );
    }
    case "reference":
      control = field.reference ? (
        <ReferencePicker
          object={field.reference}
          value={typeof value === "number" ? value : null}
          onChange={onChange}
          label={field.label}
          inputId={id}
          describedBy={describedBy}
          invalid={!!error}
          context={record}
        />
      ) : (
        <input {...common} className="input" value={str} onChange={(e) => onChange(toNumber(e.target.value))} />
      );
      break;
    default: {
      const type = field.type === "email" ? "email" : field.type === "phone" ? "tel" : field.type === "url" ? "url" : "text";
      control = (
        <input
          {...common}
          className="input"
          type={type}
          maxLength={field.max_length ?? undefined}
          autoComplete="off"
          value={str}
          onChange={(e) => onChange(e.target.value === "" ? null : e.target.value)}
        />
      );
    }
  }
  return (
    <div className={`field ${error ? "has-error" : ""}`}>
      <label htmlFor={id} className={hideLabel ? "sr-only" : "field-label"}>
        {field.label}
        {field.required && <span aria-hidden="true"> *</span>}
      </label>
      {control}
      {field.help_text && <p id={helpId} className="help">{field.help_text}</p>}
      {error && <p id={errId} className="field-error">{error}</p>}
    </div>
  );
}
