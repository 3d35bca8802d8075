import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, ApiError } from "../lib/api";
import { sections } from "../lib/meta";
import type { ObjectMeta, Rec } from "../lib/types";
import { FieldInput } from "./FieldInput";
import { ErrorBanner } from "./ui";

function initialValues(meta: ObjectMeta, preset?: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of meta.fields) {
    if (f.writable && f.default !== null && f.default !== undefined) out[f.name] = f.default;
  }
  return { ...out, ...preset };
}

/** A create form generated from the object's metadata: every writable field, grouped by section. */
export function RecordForm({
  meta,
  preset,
  extraBody,
  onCreated,
  onCancel,
}: {
  meta: ObjectMeta;
  preset?: Record<string, unknown>;
  extraBody?: Record<string, unknown>;
  onCreated: (rec: Rec) => void;
  onCancel: () => void;
}) {
  const qc = useQueryClient();
  const [values, setValues] = useState<Record<string, unknown>>(() => initialValues(meta, preset));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const writable = meta.fields.filter((f) => f.writable);
  const known = new Set(writable.map((f) => f.name));

  const create = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<Rec>(`/api/v1/${meta.name}`, { method: "POST", body }),
    onSuccess: (rec) => {
      qc.invalidateQueries({ queryKey: ["list", meta.name] });
      onCreated(rec);
    },
    onError: (err) => {
      if (err instanceof ApiError) setErrors(err.fieldErrors());
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    const body: Record<string, unknown> = { ...extraBody };
    for (const [k, v] of Object.entries(values)) {
      if (v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0)) body[k] = v;
    }
    create.mutate(body);
  };

  // Errors for fields the form does not show (links, a rule on the whole record) are listed on top.
  const other = Object.entries(errors).filter(([k]) => !known.has(k));

  return (
    <form className="record-form" onSubmit={submit} noValidate>
      {create.isError && (
        <ErrorBanner
          error={
            other.length
              ? `${create.error.message} ${other.map(([k, m]) => `${k}: ${m}`).join("; ")}`
              : Object.keys(errors).length
                ? "Please correct the highlighted fields."
                : create.error
          }
        />
      )}
      {sections(writable).map(([section, fields]) => (
        <fieldset key={section} className="form-section">
          <legend>{section}</legend>
          <div className="form-grid">
            {fields.map((f) => (
              <div key={f.name} className={f.type === "long_text" || f.type === "multi_select" ? "span-2" : undefined}>
                <FieldInput
                  field={f}
                  value={values[f.name] ?? null}
                  record={values as Rec}
                  error={errors[f.name]}
                  onChange={(v) => setValues((old) => ({ ...old, [f.name]: v }))}
                />
              </div>
            ))}
          </div>
        </fieldset>
      ))}
      <div className="form-actions">
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          {create.isPending ? "Saving…" : `Create ${meta.singular.toLowerCase()}`}
        </button>
      </div>
    </form>
  );
}
