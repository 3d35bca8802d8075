import type { FieldMeta } from "../lib/types";
import { humanize } from "../lib/meta";
import { valueText } from "../lib/format";
import { RefLink } from "./Value";

const ID_OBJECTS: Record<string, string> = {
  company_id: "companies",
  contact_id: "contacts",
  deal_id: "deals",
  lead_id: "leads",
  user_id: "users",
  owner_id: "users",
};

/** A structured change (a link between records ...): the other record by name, then its details. */
function Structured({ value, self }: { value: Record<string, unknown>; self?: string }) {
  const parts = Object.entries(value).filter(([, v]) => v !== null && v !== false && v !== "");
  const refs = parts.filter(([k, v]) => ID_OBJECTS[k] && ID_OBJECTS[k] !== self && typeof v === "number");
  const rest = parts.filter(([k]) => !ID_OBJECTS[k]);
  return (
    <span>
      {refs.map(([k, v]) => (
        <RefLink key={k} object={ID_OBJECTS[k]} id={v as number} />
      ))}
      {rest.length > 0 && (
        <span className="muted">
          {refs.length ? " (" : ""}
          {rest.map(([k, v]) => (v === true ? humanize(k) : `${humanize(k)}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`)).join(", ")}
          {refs.length ? ")" : ""}
        </span>
      )}
    </span>
  );
}

function Val({ field, value, self }: { field?: FieldMeta; value: unknown; self?: string }) {
  if (value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length)) {
    return <span className="muted">empty</span>;
  }
  if (field?.type === "reference" && field.reference && typeof value === "number") {
    return <RefLink object={field.reference} id={value} />;
  }
  if (!field && typeof value === "object" && !Array.isArray(value)) {
    return <Structured value={value as Record<string, unknown>} self={self} />;
  }
  return <span>{valueText(field, value)}</span>;
}

/** "Field: old → new" for each change of an audit entry (values as text). */
export function Changes({
  changes,
  fields,
  skip = [],
  object,
}: {
  changes: Record<string, unknown>;
  fields: Record<string, FieldMeta>;
  skip?: string[];
  object?: string;
}) {
  const entries = Object.entries(changes).filter(([k]) => !skip.includes(k));
  if (!entries.length) return null;
  return (
    <ul className="changes">
      {entries.map(([name, pair]) => {
        const field = fields[name];
        const [before, after] = Array.isArray(pair) && pair.length === 2 ? pair : [undefined, pair];
        return (
          <li key={name}>
            <span className="change-field">{field?.label ?? humanize(name)}:</span>{" "}
            {before !== undefined && before !== null && (
              <>
                <del>
                  <Val field={field} value={before} self={object} />
                </del>{" "}
                <span aria-label="changed to">→</span>{" "}
              </>
            )}
            {after === null && before !== null && before !== undefined ? (
              <span className="muted">removed</span>
            ) : (
              <ins>
                <Val field={field} value={after} self={object} />
              </ins>
            )}
          </li>
        );
      })}
    </ul>
  );
}
