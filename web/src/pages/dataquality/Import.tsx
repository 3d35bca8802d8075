import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api, ApiError, qs, type Problem } from "../../lib/api";
import { can, useMe, useObjectMeta, useObjects } from "../../lib/meta";
import { formatNumber } from "../../lib/format";
import type { FieldMeta } from "../../lib/types";
import { Icon } from "../../components/Icon";
import { ErrorBanner, Modal, Spinner } from "../../components/ui";
import { StatusPill, useTitle, When } from "../automation/common";
import "../automation/automation.css";

interface Spec {
  field: string;
  match?: string;
}

interface ImportJob {
  id: number;
  object: string;
  status: string;
  file_name: string;
  format: string;
  encoding: string | null;
  delimiter: string | null;
  headers: string[];
  mapping: Record<string, Spec> | null;
  key: string | null;
  options: Record<string, unknown>;
  rows_total: number | null;
  rows_done: number;
  created: number;
  updated: number;
  unchanged: number;
  rejected: number;
  possible_duplicates: number | null;
  dry_run: { would_create: number; would_update: number; rejected: number; rows_checked: number } | null;
  error: string | null;
  rate_rows_per_second: number | null;
  eta_seconds: number | null;
  started_at: string | null;
  finished_at: string | null;
  undone_at: string | null;
  created_at: string;
  preview?: string[][];
  warnings?: string[];
  undo?: { deleted: number; restored: number };
}

interface RowError {
  row: number;
  errors: { column: string | null; field: string | null; message: string; code: string }[];
  values: Record<string, string>;
}

interface Template {
  id: number;
  name: string;
  object: string;
  mapping: Record<string, Spec>;
  key: string | null;
}

const KEY_TYPES = new Set(["text", "email", "phone", "url", "number"]);
const RUNNING = ["queued", "running", "validating"];
const STEPS = ["Upload", "Map columns", "Dry run", "Import", "Done"];

function stepOf(job: ImportJob | undefined): number {
  if (!job) return 0;
  if (job.status === "uploaded" || (job.status === "failed" && !job.rows_done)) return 1;
  if (job.status === "validating" || job.status === "validated") return 2;
  if (job.status === "queued" || job.status === "running" || job.status === "failed") return 3;
  return 4;
}

function WizardSteps({ current }: { current: number }) {
  return (
    <ol className="wizard-steps" aria-label="Import steps">
      {STEPS.map((s, i) => (
        <li key={s} aria-current={i === current ? "step" : undefined} className={i < current ? "done" : undefined}>
          {i + 1}. {s}
          {i < current && <span className="sr-only"> (done)</span>}
        </li>
      ))}
    </ol>
  );
}

function duration(s: number | null): string {
  if (s === null) return "—";
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

// -------------------------------------------------------------------------------------------- upload

function UploadStep() {
  const objects = useObjects();
  const me = useMe();
  const navigate = useNavigate();
  const importable = (objects.data ?? []).filter((o) => can(o, "create"));
  const [object, setObject] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const chosen = object || importable[0]?.name || "";
  const recent = useQuery({
    queryKey: ["imports"],
    queryFn: () => api<{ items: ImportJob[] }>(`/api/v1/imports${qs({ limit: 20 })}`).then((r) => r.items),
  });
  const upload = useMutation({
    mutationFn: async () => {
      const body = new FormData();
      body.set("object", chosen);
      body.set("file", file!);
      const headers: Record<string, string> = { Accept: "application/json" };
      if (me?.csrf_token) headers["X-CSRF-Token"] = me.csrf_token;
      const res = await fetch("/api/v1/imports", { method: "POST", body, headers, credentials: "same-origin" });
      const data = await res.json().catch(() => ({}));
      if (!res.ok) throw new ApiError(res.status, { status: res.status, ...(data as object) } as Problem);
      return data as ImportJob;
    },
    onSuccess: (job) => navigate(`/data/import/${job.id}`),
    onError: (err) => setErrors(err instanceof ApiError ? err.fieldErrors() : {}),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    if (!file) {
      setErrors({ file: "Choose a file." });
      return;
    }
    upload.mutate();
  };
  return (
    <>
      <WizardSteps current={0} />
      <form className="card auto-section" onSubmit={submit} noValidate aria-labelledby="up-h">
        <h2 id="up-h">Upload a file</h2>
        {upload.isError && !Object.keys(errors).length && <ErrorBanner error={upload.error} />}
        <div className="form-grid">
          <div className={`field ${errors.object ? "has-error" : ""}`}>
            <label className="field-label" htmlFor="imp-object">
              Import into
            </label>
            <select id="imp-object" className="input" value={chosen} onChange={(e) => setObject(e.target.value)} aria-invalid={errors.object ? true : undefined}>
              {importable.map((o) => (
                <option key={o.name} value={o.name}>
                  {o.label}
                </option>
              ))}
            </select>
            {errors.object && <p className="field-error">{errors.object}</p>}
          </div>
          <div className={`field ${errors.file ? "has-error" : ""}`}>
            <label className="field-label" htmlFor="imp-file">
              File
            </label>
            <input
              id="imp-file"
              className="input"
              type="file"
              accept=".csv,.txt,.tsv,.xlsx,.vcf,.vcard,text/csv,text/vcard"
              aria-describedby="imp-file-help"
              aria-invalid={errors.file ? true : undefined}
              onChange={(e) => setFile(e.target.files?.[0] ?? null)}
            />
            <p id="imp-file-help" className="help">
              CSV (any delimiter and encoding, detected), XLSX or vCard 3.0/4.0. No row limit.
            </p>
            {errors.file && <p className="field-error">{errors.file}</p>}
          </div>
        </div>
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={upload.isPending || !chosen}>
            <Icon name="upload" size={18} /> {upload.isPending ? "Uploading…" : "Upload and map columns"}
          </button>
        </div>
      </form>
      <section aria-labelledby="recent-h">
        <h2 id="recent-h">Recent imports</h2>
        <ErrorBanner error={recent.error} />
        {recent.data && recent.data.length === 0 && <p className="empty">No imports yet.</p>}
        {recent.data && recent.data.length > 0 && (
          <div className="table-wrap">
            <table className="data-table admin-table">
              <caption className="sr-only">Recent imports</caption>
              <thead>
                <tr>
                  <th scope="col" className="col-title">File</th>
                  <th scope="col">Object</th>
                  <th scope="col">Status</th>
                  <th scope="col">Rows</th>
                  <th scope="col">Created / updated / rejected</th>
                  <th scope="col">Uploaded</th>
                </tr>
              </thead>
              <tbody>
                {recent.data.map((j) => (
                  <tr key={j.id}>
                    <td className="col-title cell-wrap" data-label="File">
                      <Link to={`/data/import/${j.id}`}>{j.file_name}</Link>
                    </td>
                    <td data-label="Object">{objects.data?.find((o) => o.name === j.object)?.label ?? j.object}</td>
                    <td data-label="Status">
                      <StatusPill status={j.status} />
                    </td>
                    <td data-label="Rows">{j.rows_total ?? "—"}</td>
                    <td data-label="Created / updated / rejected">
                      {j.created} / {j.updated} / {j.rejected}
                    </td>
                    <td data-label="Uploaded">
                      <When at={j.created_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}

// -------------------------------------------------------------------------------------------- mapping

function MappingStep({ job, onSaved }: { job: ImportJob; onSaved: (j: ImportJob) => void }) {
  const meta = useObjectMeta(job.object);
  const qc = useQueryClient();
  const [mapping, setMapping] = useState<Record<string, Spec | null>>(() => Object.fromEntries(job.headers.map((h) => [h, job.mapping?.[h] ?? null])));
  const [key, setKey] = useState(job.key ?? "");
  const [emit, setEmit] = useState(job.options.emit_events !== false);
  const [blankClears, setBlankClears] = useState(job.options.blank_clears === true);
  const [template, setTemplate] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const templates = useQuery({
    queryKey: ["import-templates", job.object],
    queryFn: () => api<{ items: Template[] }>(`/api/v1/imports/templates${qs({ object: job.object })}`).then((r) => r.items),
  });
  const writable = useMemo(() => (meta.data?.fields ?? []).filter((f) => f.writable && (!f.system || f.name === "owner_id")), [meta.data]);
  const byName = (n: string): FieldMeta | undefined => writable.find((f) => f.name === n);
  const mappedFields = Object.values(mapping).filter((s): s is Spec => !!s).map((s) => s.field);
  const keyOptions = mappedFields.filter((n) => KEY_TYPES.has(byName(n)?.type ?? ""));
  const save = useMutation({
    mutationFn: (then: "dry-run" | null) =>
      api<ImportJob>(`/api/v1/imports/${job.id}/mapping`, {
        method: "PUT",
        body: {
          mapping: Object.fromEntries(Object.entries(mapping).filter(([, s]) => s)),
          key: key || null,
          options: { emit_events: emit, blank_clears: blankClears },
          ...(template.trim() ? { save_template: template.trim() } : {}),
        },
      }).then(async (out) => {
        if (then === "dry-run") return api<ImportJob>(`/api/v1/imports/${job.id}/dry-run`, { method: "POST" });
        return out;
      }),
    onSuccess: (out) => {
      setErrors({});
      if (template.trim()) qc.invalidateQueries({ queryKey: ["import-templates", job.object] });
      onSaved(out);
    },
    onError: (err) => setErrors(err instanceof ApiError ? err.fieldErrors() : {}),
  });
  const applyTemplate = (id: string) => {
    const t = templates.data?.find((x) => String(x.id) === id);
    if (!t) return;
    setMapping(Object.fromEntries(job.headers.map((h) => [h, t.mapping[h] ?? null])));
    setKey(t.key ?? "");
  };
  const sample = (i: number) =>
    (job.preview ?? [])
      .slice(0, 3)
      .map((r) => r[i])
      .filter((v) => v !== undefined && v !== "")
      .join(" · ");
  const shownErr = (k: string) => k === "key" || k === "mapping" || k.startsWith("mapping.") || k === "save_template" || k.startsWith("options");
  const other = Object.entries(errors).filter(([k]) => !shownErr(k));
  if (meta.isLoading) return <Spinner />;
  return (
    <form
      className="card auto-section"
      noValidate
      aria-labelledby="map-h"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate("dry-run");
      }}
    >
      <header>
        <h2 id="map-h">Map the columns of {job.file_name}</h2>
        {(templates.data ?? []).length > 0 && (
          <div className="field inline-field">
            <label className="field-label" htmlFor="imp-template">
              Apply a template
            </label>
            <select id="imp-template" className="input" defaultValue="" onChange={(e) => applyTemplate(e.target.value)}>
              <option value="">Choose…</option>
              {templates.data!.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
          </div>
        )}
      </header>
      <p className="help">
        Detected: {job.format.toUpperCase()}
        {job.encoding ? `, ${job.encoding}` : ""}
        {job.delimiter ? `, delimiter “${job.delimiter === "\t" ? "tab" : job.delimiter}”` : ""}. Suggestions come from the column names and past imports; unmapped columns are skipped.
      </p>
      {(job.warnings ?? []).map((w) => (
        <p key={w} className="banner banner-warn">
          {w}
        </p>
      ))}
      {(errors.mapping || other.length > 0 || (save.isError && !Object.keys(errors).length)) && (
        <ErrorBanner error={errors.mapping ?? (other.length ? other.map(([k, v]) => `${k}: ${v}`).join("; ") : save.error)} />
      )}
      <div className="table-wrap">
        <table className="data-table admin-table map-table">
          <caption className="sr-only">Column mapping</caption>
          <thead>
            <tr>
              <th scope="col" className="col-title">Column in the file</th>
              <th scope="col">Sample values</th>
              <th scope="col">Sextant field</th>
            </tr>
          </thead>
          <tbody>
            {job.headers.map((h, i) => {
              const spec = mapping[h];
              const f = spec ? byName(spec.field) : undefined;
              const err = errors[`mapping.${h}`] ?? errors[`mapping.${h}.match`];
              return (
                <tr key={h}>
                  <td className="col-title" data-label="Column">
                    <strong>{h}</strong>
                  </td>
                  <td data-label="Sample" className="cell-wrap muted">
                    {sample(i) || "—"}
                  </td>
                  <td data-label="Field">
                    <div className={err ? "has-error" : undefined}>
                      <select
                        className="input"
                        aria-label={`Field for the column ${h}`}
                        aria-invalid={err ? true : undefined}
                        value={spec?.field ?? ""}
                        onChange={(e) => {
                          const v = e.target.value;
                          setMapping({ ...mapping, [h]: v ? { field: v } : null });
                          if (!v && spec?.field === key) setKey("");
                        }}
                      >
                        <option value="">Skip this column</option>
                        {writable.map((x) => (
                          <option key={x.name} value={x.name} disabled={mappedFields.includes(x.name) && spec?.field !== x.name}>
                            {x.label}
                            {x.required ? " *" : ""}
                          </option>
                        ))}
                      </select>
                      {f?.type === "reference" && (
                        <input
                          className="input"
                          aria-label={`Match ${h} to ${f.reference} by`}
                          placeholder="match by (e.g. email, name, id)"
                          value={spec?.match ?? ""}
                          onChange={(e) => setMapping({ ...mapping, [h]: { field: spec!.field, ...(e.target.value ? { match: e.target.value } : {}) } })}
                        />
                      )}
                      {err && <p className="field-error">{err}</p>}
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <div className="form-grid">
        <div className={`field ${errors.key ? "has-error" : ""}`}>
          <label className="field-label" htmlFor="imp-key">
            Update records that match on
          </label>
          <select id="imp-key" className="input" value={key} onChange={(e) => setKey(e.target.value)} aria-invalid={errors.key ? true : undefined} aria-describedby="imp-key-help">
            <option value="">Nothing: always create new records</option>
            {keyOptions.map((n) => (
              <option key={n} value={n}>
                {byName(n)?.label ?? n}
              </option>
            ))}
          </select>
          <p id="imp-key-help" className="help">
            With a key, running the same file again updates instead of duplicating.
          </p>
          {errors.key && <p className="field-error">{errors.key}</p>}
        </div>
        <div className={`field ${errors.save_template ? "has-error" : ""}`}>
          <label className="field-label" htmlFor="imp-save-template">
            Save this mapping as a template (optional)
          </label>
          <input id="imp-save-template" className="input" value={template} placeholder="Template name" onChange={(e) => setTemplate(e.target.value)} />
          {errors.save_template && <p className="field-error">{errors.save_template}</p>}
        </div>
      </div>
      <label className="check">
        <input type="checkbox" checked={emit} onChange={(e) => setEmit(e.target.checked)} /> Run workflows and webhooks for the imported records
      </label>
      <label className="check">
        <input type="checkbox" checked={blankClears} onChange={(e) => setBlankClears(e.target.checked)} /> An empty cell clears the field of an updated record
      </label>
      <div className="form-actions">
        <button type="button" className="btn" disabled={save.isPending} onClick={() => save.mutate(null)}>
          Save mapping
        </button>
        <button type="submit" className="btn btn-primary" disabled={save.isPending || mappedFields.length === 0}>
          Check every row (dry run)
        </button>
      </div>
    </form>
  );
}

// -------------------------------------------------------------------------------------------- errors

function RejectedRows({ job, dryRun, count }: { job: ImportJob; dryRun: boolean; count: number }) {
  const [after, setAfter] = useState<number[]>([0]);
  const page = useQuery({
    queryKey: ["import-errors", job.id, dryRun, after[after.length - 1], job.status],
    queryFn: () => api<{ items: RowError[]; next_after: number | null }>(`/api/v1/imports/${job.id}/errors${qs({ dry_run: dryRun, after: after[after.length - 1], limit: 50 })}`),
    enabled: count > 0,
  });
  if (count === 0) return <p className="ok-text">No row was rejected.</p>;
  return (
    <section aria-labelledby={`rej-${dryRun}`}>
      <header className="row-flex">
        <h3 id={`rej-${dryRun}`}>
          {formatNumber(count)} {count === 1 ? "row" : "rows"} {dryRun ? "would be rejected" : "rejected"}
        </h3>
        <span className="spacer" />
        <a className="btn btn-small" href={`/api/v1/imports/${job.id}/errors.csv${qs({ dry_run: dryRun || undefined })}`} download>
          <Icon name="download" size={16} /> Download the rejected rows (CSV)
        </a>
      </header>
      <p className="help">The CSV holds the rows as they were, with an error column: fix them and import it again.</p>
      <ErrorBanner error={page.error} />
      {page.data && (
        <div className="table-wrap">
          <table className="data-table admin-table">
            <caption className="sr-only">Rejected rows</caption>
            <thead>
              <tr>
                <th scope="col" className="col-title">Row</th>
                <th scope="col">Column</th>
                <th scope="col">Reason</th>
                <th scope="col">Value</th>
              </tr>
            </thead>
            <tbody>
              {page.data.items.flatMap((r) =>
                r.errors.map((e, i) => (
                  <tr key={`${r.row}-${i}`}>
                    <td className="col-title" data-label="Row">
                      Row {r.row}
                    </td>
                    <td data-label="Column">{e.column ?? e.field ?? "—"}</td>
                    <td data-label="Reason" className="cell-wrap err-text">
                      {e.message}
                    </td>
                    <td data-label="Value" className="cell-wrap">
                      {e.column ? (r.values[e.column] ?? "") : ""}
                    </td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        </div>
      )}
      <div className="row-flex">
        {after.length > 1 && (
          <button type="button" className="btn btn-small" onClick={() => setAfter(after.slice(0, -1))}>
            Previous rows
          </button>
        )}
        {page.data?.next_after && (
          <button type="button" className="btn btn-small" onClick={() => setAfter([...after, page.data!.next_after!])}>
            Next rows
          </button>
        )}
      </div>
    </section>
  );
}

// -------------------------------------------------------------------------------------------- the page

function Progress({ job }: { job: ImportJob }) {
  const validating = job.status === "validating";
  const done = validating ? (job.dry_run?.rows_checked ?? 0) : job.rows_done;
  const total = job.rows_total;
  return (
    <div role="status" aria-live="polite">
      <label className="field-label" htmlFor="imp-progress">
        {validating ? "Checking rows" : job.status === "queued" ? "Waiting for a worker" : "Importing"}: {formatNumber(done)}
        {total ? ` of ${formatNumber(total)}` : ""}
      </label>
      <progress id="imp-progress" className="progress" max={total ?? undefined} value={total ? done : undefined} />
      <p className="muted">
        {job.rate_rows_per_second ? `${formatNumber(job.rate_rows_per_second)} rows/s` : ""}
        {job.eta_seconds !== null ? ` · about ${duration(job.eta_seconds)} left` : ""}
      </p>
    </div>
  );
}

function ImportJobView({ id }: { id: number }) {
  const qc = useQueryClient();
  const objects = useObjects();
  const job = useQuery({
    queryKey: ["import", id],
    queryFn: () => api<ImportJob>(`/api/v1/imports/${id}`),
    refetchInterval: (q) => (q.state.data && RUNNING.includes(q.state.data.status) ? 1000 : false),
  });
  const [editing, setEditing] = useState(false);
  const [confirmUndo, setConfirmUndo] = useState<string | null>(null);
  const set = (j: ImportJob) => qc.setQueryData(["import", id], (old: ImportJob | undefined) => ({ ...old, ...j }));
  const run = useMutation({
    mutationFn: () => api<ImportJob>(`/api/v1/imports/${id}/run`, { method: "POST" }),
    onSuccess: set,
  });
  const undo = useMutation({
    mutationFn: (force: boolean) => api<ImportJob>(`/api/v1/imports/${id}/undo${force ? "?force=true" : ""}`, { method: "POST" }),
    onSuccess: (j) => {
      setConfirmUndo(null);
      set(j);
    },
    onError: (err) => {
      if (err instanceof ApiError && err.status === 409 && (err.problem as Problem & { changed_since?: number }).changed_since) setConfirmUndo(err.message);
    },
  });
  useEffect(() => {
    if (job.data && !RUNNING.includes(job.data.status)) qc.invalidateQueries({ queryKey: ["imports"] });
  }, [job.data?.status, qc, job.data]);
  if (job.isLoading) return <Spinner />;
  if (!job.data) return <ErrorBanner error={job.error} />;
  const j = job.data;
  const step = editing ? 1 : stepOf(j);
  const objLabel = objects.data?.find((o) => o.name === j.object)?.label ?? j.object;
  return (
    <>
      <WizardSteps current={step} />
      <p>
        <strong>{j.file_name}</strong> into {objLabel} · <StatusPill status={j.status} /> {j.rows_total !== null && <span className="muted">· {formatNumber(j.rows_total)} rows</span>}
      </p>
      <ErrorBanner error={run.error ?? (undo.isError && !confirmUndo ? undo.error : null)} />
      {j.error && <ErrorBanner error={`The import stopped: ${j.error}`} />}
      {step === 1 && (
        <MappingStep
          job={j}
          onSaved={(out) => {
            set(out);
            setEditing(false);
          }}
        />
      )}
      {step === 2 && (
        <section className="card auto-section" aria-labelledby="dry-h">
          <h2 id="dry-h">Dry run</h2>
          {j.status === "validating" && <Progress job={j} />}
          {j.status === "validated" && j.dry_run && (
            <>
              <ul className="counts" aria-label="Dry run result">
                <li>
                  <strong>{formatNumber(j.dry_run.would_create)}</strong> would be created
                </li>
                <li>
                  <strong>{formatNumber(j.dry_run.would_update)}</strong> would be updated
                </li>
                <li>
                  <strong>{formatNumber(j.dry_run.rejected)}</strong> would be rejected
                </li>
              </ul>
              <RejectedRows job={j} dryRun count={j.dry_run.rejected} />
              <div className="form-actions">
                <button type="button" className="btn" onClick={() => setEditing(true)}>
                  Change the mapping
                </button>
                <button type="button" className="btn btn-primary" disabled={run.isPending} onClick={() => run.mutate()}>
                  Import {formatNumber(j.dry_run.would_create + j.dry_run.would_update)} rows
                </button>
              </div>
            </>
          )}
        </section>
      )}
      {step === 3 && (
        <section className="card auto-section" aria-labelledby="run-h">
          <h2 id="run-h">Import</h2>
          {RUNNING.includes(j.status) && <Progress job={j} />}
          {j.status === "failed" && (
            <div className="form-actions">
              <button type="button" className="btn btn-primary" disabled={run.isPending} onClick={() => run.mutate()}>
                Resume the import
              </button>
            </div>
          )}
        </section>
      )}
      {step === 4 && (
        <section className="card auto-section" aria-labelledby="done-h">
          <h2 id="done-h">{j.status === "undone" ? "Undone" : "Imported"}</h2>
          <ul className="counts" aria-label="Import result">
            <li>
              <strong>{formatNumber(j.created)}</strong> created
            </li>
            <li>
              <strong>{formatNumber(j.updated)}</strong> updated
            </li>
            <li>
              <strong>{formatNumber(j.unchanged)}</strong> unchanged
            </li>
            <li>
              <strong>{formatNumber(j.rejected)}</strong> rejected
            </li>
            {j.possible_duplicates !== null && (
              <li>
                <strong>{formatNumber(j.possible_duplicates)}</strong> possible duplicates
              </li>
            )}
          </ul>
          {j.undo && (
            <p role="status">
              Undone: {j.undo.deleted} records moved to the trash, {j.undo.restored} records got their previous values back.
            </p>
          )}
          {j.status === "undone" && !j.undo && (
            <p>
              Undone <When at={j.undone_at} />.
            </p>
          )}
          <RejectedRows job={j} dryRun={false} count={j.rejected} />
          <div className="form-actions">
            <Link className="btn" to={`/o/${j.object}`}>
              Open {objLabel}
            </Link>
            {(j.possible_duplicates ?? 0) > 0 && (
              <Link className="btn" to={`/data/duplicates?object=${j.object}`}>
                Review duplicates
              </Link>
            )}
            {j.status === "succeeded" && (
              <button type="button" className="btn btn-danger" disabled={undo.isPending} onClick={() => undo.mutate(false)}>
                Undo this import
              </button>
            )}
            <Link className="btn btn-primary" to="/data/import">
              Import another file
            </Link>
          </div>
        </section>
      )}
      <Modal open={!!confirmUndo} title="Undo anyway?" onClose={() => setConfirmUndo(null)}>
        <p>{confirmUndo}</p>
        <p>Undoing anyway also takes back those later changes.</p>
        <div className="form-actions">
          <button type="button" className="btn" onClick={() => setConfirmUndo(null)}>
            Keep the import
          </button>
          <button type="button" className="btn btn-danger" disabled={undo.isPending} onClick={() => undo.mutate(true)}>
            Undo anyway
          </button>
        </div>
      </Modal>
    </>
  );
}

export function ImportPage() {
  const { id } = useParams();
  useTitle("Import");
  return (
    <div className="page auto-page">
      {id && (
        <Link to="/data/import" className="back-link">
          <Icon name="chevron" size={16} className="flip" /> Imports
        </Link>
      )}
      <header className="page-head">
        <div>
          <h1>Import</h1>
        </div>
      </header>
      {id ? <ImportJobView key={id} id={Number(id)} /> : <UploadStep />}
    </div>
  );
}
