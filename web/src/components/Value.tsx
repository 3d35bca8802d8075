import { Link } from "react-router";
import { formatDate, formatDateTime, formatMoney, formatNumber, optionLabel, safeHref } from "../lib/format";
import { useRefTitle } from "../lib/refs";
import type { FieldMeta, Rec } from "../lib/types";

const PLAIN_OBJECTS = new Set(["users", "pipelines", "stages"]);

/** The title of a referenced record, linked to it when it is a CRM object. */
export function RefLink({ object, id, plain }: { object: string; id: number; plain?: boolean }) {
  const { data: title, isLoading } = useRefTitle(object, id);
  const text = isLoading ? "…" : title ?? `#${id}`;
  if (plain || PLAIN_OBJECTS.has(object) || title === null) {
    return <span title={title === null ? "Not visible to you, or deleted" : undefined}>{text}</span>;
  }
  return (
    <Link to={`/o/${object}/${id}`} onClick={(e) => e.stopPropagation()}>
      {text}
    </Link>
  );
}

/** A field's value for display. Everything is rendered as text (React escapes it). */
export function FieldValue({ field, value, record }: { field: FieldMeta; value: unknown; record?: Rec }) {
  if (value === null || value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) {
    return <span className="muted">—</span>;
  }
  switch (field.type) {
    case "email":
      return (
        <a href={`mailto:${String(value)}`} onClick={(e) => e.stopPropagation()}>
          {String(value)}
        </a>
      );
    case "phone":
      return (
        <a href={`tel:${String(value)}`} onClick={(e) => e.stopPropagation()}>
          {String(value)}
        </a>
      );
    case "url": {
      const href = safeHref(String(value));
      return href ? (
        <a href={href} target="_blank" rel="noopener noreferrer" onClick={(e) => e.stopPropagation()}>
          {String(value)}
        </a>
      ) : (
        <span>{String(value)}</span>
      );
    }
    case "number":
      return <span className="num">{typeof value === "number" ? formatNumber(value) : String(value)}</span>;
    case "currency":
      return (
        <span className="num">{typeof value === "number" ? formatMoney(value, record?.currency) : String(value)}</span>
      );
    case "percent":
      return <span className="num">{typeof value === "number" ? `${formatNumber(value)}%` : String(value)}</span>;
    case "date":
      return <time dateTime={String(value)}>{formatDate(String(value))}</time>;
    case "datetime":
      return <time dateTime={String(value)}>{formatDateTime(String(value))}</time>;
    case "boolean":
      return <span>{value ? "Yes" : "No"}</span>;
    case "single_select":
      return <span className="pill">{optionLabel(field.options, value)}</span>;
    case "multi_select":
      return (
        <span className="chips">
          {(Array.isArray(value) ? value : [value]).map((v) => (
            <span className="chip" key={String(v)}>
              {optionLabel(field.options, v)}
            </span>
          ))}
        </span>
      );
    case "reference":
      return typeof value === "number" && field.reference ? (
        <RefLink object={field.reference} id={value} />
      ) : (
        <span>{String(value)}</span>
      );
    case "long_text":
      return <span className="pre-wrap">{String(value)}</span>;
    default:
      return <span>{String(value)}</span>;
  }
}
