import type { FieldMeta, Option } from "./types";

const numberFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const dateFmt = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

export function formatNumber(n: number): string {
  return numberFmt.format(n);
}

export function formatMoney(n: number | null | undefined, currency?: unknown): string {
  if (n === null || n === undefined) return "";
  const code = typeof currency === "string" && /^[A-Z]{3}$/.test(currency) ? currency : undefined;
  if (!code) return numberFmt.format(n);
  try {
    const whole = Number.isInteger(n);
    return new Intl.NumberFormat(undefined, {
      style: "currency",
      currency: code,
      minimumFractionDigits: whole ? 0 : 2,
      maximumFractionDigits: 2,
    }).format(n);
  } catch {
    return `${numberFmt.format(n)} ${code}`;
  }
}

export function formatCompact(n: number): string {
  return new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 }).format(n);
}

/** "YYYY-MM-DD" is a calendar day, not an instant: format it without a time-zone shift. */
export function formatDate(v: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(v);
  if (!m) return v;
  return dateFmt.format(new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
}

export function formatDateTime(v: string): string {
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? v : dateTimeFmt.format(d);
}

export function formatTime(v: string): string {
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? v : timeFmt.format(d);
}

export function relativeTime(v: string): string {
  const d = new Date(v).getTime();
  if (Number.isNaN(d)) return v;
  const s = Math.round((d - Date.now()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const abs = Math.abs(s);
  if (abs < 60) return rtf.format(s, "second");
  if (abs < 3600) return rtf.format(Math.round(s / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(s / 3600), "hour");
  if (abs < 86400 * 30) return rtf.format(Math.round(s / 86400), "day");
  return formatDateTime(v);
}

export function optionLabel(options: Option[] | null, value: unknown): string {
  const o = options?.find((x) => x.value === value);
  return o ? o.label : String(value);
}

/** Plain-text rendering of a value (for titles, aria labels and history). */
export function valueText(field: FieldMeta | undefined, value: unknown, currency?: unknown): string {
  if (value === null || value === undefined || value === "") return "";
  if (!field) return typeof value === "object" ? JSON.stringify(value) : String(value);
  switch (field.type) {
    case "number":
      return typeof value === "number" ? formatNumber(value) : String(value);
    case "currency":
      return typeof value === "number" ? formatMoney(value, currency) : String(value);
    case "percent":
      return typeof value === "number" ? `${formatNumber(value)}%` : String(value);
    case "date":
      return formatDate(String(value));
    case "datetime":
      return formatDateTime(String(value));
    case "boolean":
      return value ? "Yes" : "No";
    case "single_select":
      return optionLabel(field.options, value);
    case "multi_select":
      return Array.isArray(value) ? value.map((v) => optionLabel(field.options, v)).join(", ") : String(value);
    default:
      return typeof value === "object" ? JSON.stringify(value) : String(value);
  }
}

/** datetime-local input value ("YYYY-MM-DDTHH:mm", local time) from an ISO instant, and back. */
export function toLocalInput(iso: unknown): string {
  if (typeof iso !== "string" || !iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(v: string): string | null {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? v : d.toISOString();
}

export function safeHref(url: string): string | undefined {
  return /^https?:\/\//i.test(url) ? url : undefined;
}

/** Escape plain text typed in a note and keep its line breaks: what the user typed is what shows. */
export function textToHtml(text: string): string {
  const esc = text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
  return esc
    .split(/\n{2,}/)
    .map((p) => `<p>${p.replace(/\n/g, "<br>")}</p>`)
    .join("");
}
