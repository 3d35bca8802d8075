import { useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, ApiError, errorMessage } from "../lib/api";
import { titleOf } from "../lib/meta";
import type { FieldMeta, ObjectMeta, Rec } from "../lib/types";
import { FieldInput } from "./FieldInput";
import { Icon } from "./Icon";
import { ReferencePicker } from "./ReferencePicker";
import { ErrorBanner, Modal } from "./ui";

const CHUNK = 1000; // the bulk API's limit per call (each call is all or nothing)

interface Failure {
  title: string;
  message: string;
}

/** Problems of a bulk reply, named by record: "records[3].email" -> the 4th record's title. */
function bulkFailures(err: unknown, batch: Rec[], meta: ObjectMeta): Failure[] {
  if (err instanceof ApiError && err.problem.errors?.length) {
    return err.problem.errors.map((e) => {
      const m = /^records\[(\d+)\]\.?(.*)$/.exec(e.field);
      const rec = m ? batch[Number(m[1])] : undefined;
      const field = m ? m[2] : e.field;
      const label = meta.fields.find((f) => f.name === field)?.label ?? field;
      return { title: rec ? titleOf(meta, rec) : e.field, message: label ? `${label}: ${e.message}` : e.message };
    });
  }
  return [{ title: `${batch.length} records`, message: errorMessage(err) }];
}

function Failures({ items, summary }: { items: Failure[]; summary: string }) {
  if (!items.length) return null;
  return (
    <div className="banner banner-error bulk-failures" role="alert">
      <div>
        <strong>{summary}</strong>
        <ul>
          {items.map((f, i) => (
            <li key={i}>
              <span className="failure-title">{f.title}</span> — {f.message}
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}

type Mode = "edit" | "owner" | "delete" | null;

/** The bar shown while records are selected: edit a field, assign an owner or delete, each confirmed. */
export function BulkBar({
  meta,
  selected,
  onClear,
  onDone,
}: {
  meta: ObjectMeta;
  selected: Rec[];
  onClear: () => void;
  onDone: (message: string) => void;
}) {
  const [mode, setMode] = useState<Mode>(null);
  const canEdit = meta.actions.includes("edit");
  const canDelete = meta.actions.includes("delete");
  const owner = meta.fields.find((f) => f.name === "owner_id" && f.writable);
  const n = selected.length;
  const noun = n === 1 ? meta.singular.toLowerCase() : meta.label.toLowerCase();
  return (
    <div className="bulk-bar" role="region" aria-label="Bulk actions">
      <span className="bulk-count" aria-live="polite">
        {n} {noun} selected
      </span>
      {canEdit && (
        <button type="button" className="btn btn-small" onClick={() => setMode("edit")}>
          <Icon name="edit" size={16} /> Edit field
        </button>
      )}
      {canEdit && owner && (
        <button type="button" className="btn btn-small" onClick={() => setMode("owner")}>
          <Icon name="user" size={16} /> Assign owner
        </button>
      )}
      {canDelete && (
        <button type="button" className="btn btn-small btn-danger" onClick={() => setMode("delete")}>
          <Icon name="trash" size={16} /> Delete
        </button>
      )}
      <button type="button" className="btn btn-small" onClick={onClear}>
        Clear selection
      </button>
      {mode && (
        <BulkDialog
          mode={mode}
          meta={meta}
          records={selected}
          onClose={() => setMode(null)}
          onDone={(msg) => {
            setMode(null);
            onDone(msg);
          }}
        />
      )}
    </div>
  );
}

function BulkDialog({
  mode,
  meta,
  records,
  onClose,
  onDone,
}: {
  mode: Exclude<Mode, null>;
  meta: ObjectMeta;
  records: Rec[];
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const qc = useQueryClient();
  const editable = meta.fields.filter((f) => f.writable && !f.unique && f.name !== "owner_id");
  const [fieldName, setFieldName] = useState(editable[0]?.name ?? "");
  const [value, setValue] = useState<unknown>(null);
  const [owner, setOwner] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [failures, setFailures] = useState<Failure[]>([]);
  const [summary, setSummary] = useState("");
  const [error, setError] = useState<string | null>(null);
  const field: FieldMeta | undefined = editable.find((f) => f.name === fieldName);
  const n = records.length;
  const noun = n === 1 ? meta.singular.toLowerCase() : meta.label.toLowerCase();
  const title =
    mode === "delete" ? `Delete ${n} ${noun}?` : mode === "owner" ? `Assign an owner to ${n} ${noun}` : `Edit ${n} ${noun}`;

  const finish = (done: number, fails: Failure[], verb: string) => {
    qc.invalidateQueries({ queryKey: ["list", meta.name] });
    qc.invalidateQueries({ queryKey: ["count", meta.name] });
    qc.invalidateQueries({ queryKey: ["record", meta.name] });
    if (fails.length) {
      setFailures(fails);
      setSummary(done ? `${verb} ${done} of ${n}; the others were not changed:` : `Nothing was ${verb.toLowerCase()}:`);
    } else onDone(`${verb} ${done} ${done === 1 ? meta.singular.toLowerCase() : meta.label.toLowerCase()}.`);
  };

  // Each chunk is all or nothing on the server: a refused chunk changes none of its records.
  const inChunks = async (send: (batch: Rec[]) => Promise<unknown>, verb: string) => {
    let done = 0;
    const fails: Failure[] = [];
    for (let i = 0; i < records.length; i += CHUNK) {
      const batch = records.slice(i, i + CHUNK);
      try {
        await send(batch);
        done += batch.length;
      } catch (err) {
        fails.push(...bulkFailures(err, batch, meta));
      }
    }
    finish(done, fails, verb);
  };

  const patchAll = (changes: Record<string, unknown>, verb: string) =>
    inChunks(
      (batch) =>
        api(`/api/v1/${meta.name}/bulk`, {
          method: "PATCH",
          body: { records: batch.map((r) => ({ id: r.id, version: r.version, ...changes })) },
        }),
      verb,
    );

  const deleteAll = () =>
    inChunks(
      (batch) =>
        api(`/api/v1/${meta.name}/bulk-delete`, {
          method: "POST",
          body: { records: batch.map((r) => ({ id: r.id, version: r.version })) },
        }),
      "Deleted",
    );

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setFailures([]);
    if (mode === "owner" && owner === null) {
      setError("Choose the new owner.");
      return;
    }
    setBusy(true);
    try {
      if (mode === "delete") await deleteAll();
      else if (mode === "owner") await patchAll({ owner_id: owner }, "Assigned");
      else if (field) await patchAll({ [field.name]: value }, "Updated");
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal open title={title} onClose={onClose}>
      <form onSubmit={submit} noValidate className="bulk-form">
        {mode === "delete" && (
          <p>
            These {noun} will be moved to the trash; an administrator can restore them.
          </p>
        )}
        {mode === "owner" && (
          <div className="field">
            <label className="field-label" htmlFor="bulk-owner">
              New owner
            </label>
            <ReferencePicker object="users" value={owner} onChange={setOwner} label="New owner" inputId="bulk-owner" invalid={!!error} />
          </div>
        )}
        {mode === "edit" && (
          <>
            <div className="field">
              <label className="field-label" htmlFor="bulk-field">
                Field to change
              </label>
              <select
                id="bulk-field"
                className="input"
                value={fieldName}
                onChange={(e) => {
                  setFieldName(e.target.value);
                  setValue(null);
                }}
              >
                {editable.map((f) => (
                  <option key={f.name} value={f.name}>
                    {f.label}
                  </option>
                ))}
              </select>
            </div>
            {field && <FieldInput key={field.name} field={{ ...field, label: `New value for ${field.label}` }} value={value} onChange={setValue} />}
            <p className="help">Leaving the value empty clears the field on every selected record.</p>
          </>
        )}
        <ErrorBanner error={error} />
        <Failures items={failures} summary={summary} />
        <details className="bulk-list">
          <summary>
            {n} selected {noun}
          </summary>
          <ul>
            {records.slice(0, 200).map((r) => (
              <li key={r.id}>{titleOf(meta, r)}</li>
            ))}
            {n > 200 && <li>… and {n - 200} more</li>}
          </ul>
        </details>
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            {failures.length ? "Close" : "Cancel"}
          </button>
          {!failures.length && (
            <button type="submit" className={mode === "delete" ? "btn btn-danger" : "btn btn-primary"} disabled={busy}>
              {busy ? "Working…" : mode === "delete" ? `Delete ${n} ${noun}` : mode === "owner" ? `Assign ${n} ${noun}` : `Update ${n} ${noun}`}
            </button>
          )}
        </div>
      </form>
    </Modal>
  );
}
