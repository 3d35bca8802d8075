/** The one way the UI talks to the API: same-origin cookie session, CSRF header on writes, problem+json errors. */

export interface FieldProblem {
  field: string;
  message: string;
  code?: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  errors?: FieldProblem[];
  current_version?: number;
}

export class ApiError extends Error {
  status: number;
  problem: Problem;

  constructor(status: number, problem: Problem) {
    super(problem.detail || problem.title || `Request failed (HTTP ${status})`);
    this.status = status;
    this.problem = problem;
  }

  /** Field name -> message; several messages for one field are joined. */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.problem.errors ?? []) {
      out[e.field] = out[e.field] ? `${out[e.field]}; ${e.message}` : e.message;
    }
    return out;
  }
}

let csrfToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

function cookie(name: string): string | null {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return null;
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const method = opts.method ?? "GET";
  const headers: Record<string, string> = { Accept: "application/json", ...opts.headers };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") {
    const token = csrfToken || cookie("sextant_csrf");
    if (token) headers["X-CSRF-Token"] = token;
  }
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      credentials: "same-origin",
      signal: opts.signal,
    });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(0, { status: 0, title: "Network error", detail: "The server could not be reached." });
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    if (res.status === 401 && !path.startsWith("/api/v1/auth/") && onUnauthorized) onUnauthorized();
    const problem =
      data && typeof data === "object"
        ? ({ status: res.status, ...(data as object) } as Problem)
        : { status: res.status, title: res.statusText || "Error" };
    throw new ApiError(res.status, problem);
  }
  return data as T;
}

/** Query string from an object, skipping null/undefined/"" values. */
export function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === "") continue;
    sp.set(k, String(v));
  }
  const s = sp.toString();
  return s ? `?${s}` : "";
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    const fields = (err.problem.errors ?? []).map((e) => `${e.field}: ${e.message}`);
    const detail = err.problem.detail || err.problem.title || err.message;
    if (fields.length && !detail.includes(fields[0])) return `${detail} (${fields.join("; ")})`;
    return detail;
  }
  return err instanceof Error ? err.message : String(err);
}

export function ifMatch(version: unknown): Record<string, string> {
  return typeof version === "number" ? { "If-Match": `"${version}"` } : {};
}
