import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { useNavigate, useParams } from "react-router";
import { api, ApiError } from "../../lib/api";
import { useObjects } from "../../lib/meta";
import type { CustomFieldDef, FieldType, Option } from "../../lib/types";
import { Icon } from "../../components/Icon";
import { ErrorBanner, Modal, Spinner } from "../../components/ui";
import { AdminFrame, otherErrors, SelectField, TextField } from "./common";

export const FIELD_TYPES: { value: FieldType; label: string }[] = [
  { value: "text", label: "Text" },
  { value: "long_text", label: "Long text" },
  { value: "number", label: "Number" },
  { value: "currency", label: "Currency" },
  { value: "percent", label: "Percent" },
  { value: "date", label: "Date" },
  { value: "datetime", label: "Date and time" },
  { value: "boolean", label: "Yes / no" },
  { value: "single_select", label: "Single select" },
  { value: "multi_select", label: "Multi select" },
  { value: "email", label: "Email" },
  { value: "phone", label: "Phone" },
  { value: "url", label: "URL" },
  { value: "reference", label: "Reference to a record" },
];
const UNIQUE_TYPES = new Set(["text", "email", "phone", "url", "number"]);
const typeLabel = (t: string) => FIELD_TYPES.find((x) => x.value === t)?.label ?? t;

/** "Shirt size" -> "shirt_size": the API name offered for a label (the admin may change it before saving). */
export function apiName(label: string): string {
  const s = label
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .replace(/^[^a-z]+/, "");
  return s.slice(0, 63);
}

interface OptionRow extends Option {
  fixed?: boolean; // stored already: its value stays (records hold it)
}

function OptionsEditor({ options, onChange, error }: { options: OptionRow[]; onChange: (o: OptionRow[]) => void; error?: string }) {
  return (
    <fieldset className={`field options-editor ${error ? "has-error" : ""}`}>
      <legend className="field-label">Options</legend>
      <ol className="option-rows">
        {options.map((o, i) => (
          <li key={i} className="option-row">
            <input
              className="input"
              aria-label={`Option ${i + 1} label`}
              placeholder="Label"
              value={o.label}
              onChange={(e) => {
                const label = e.target.value;
                onChange(options.map((x, j) => (j === i ? { ...x, label, value: x.fixed || x.value !== apiName(x.label) ? x.value : apiName(label) } : x)));
              }}
            />
            <input
              className="input"
              aria-label={`Option ${i + 1} stored value`}
              placeholder="value"
              value={o.value}
              readOnly={o.fixed}
              title={o.fixed ? "Records store this value; it cannot change" : undefined}
              onChange={(e) => onChange(options.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))}
            />
            <button type="button" className="icon-btn" aria-label={`Remove option ${i + 1}`} onClick={() => onChange(options.filter((_, j) => j !== i))}>
              <Icon name="x" size={16} />
            </button>
          </li>
        ))}
      </ol>
      <button type="button" className="btn btn-small" onClick={() => onChange([...options, { value: "", label: "" }])}>
        <Icon name="plus" size={16} /> Add option
      </button>
      {error && <p className="field-error">{error}</p>}
    </fieldset>
  );
}

function FieldDialog({ object, field, onClose }: { object: string; field: CustomFieldDef | null; onClose: () => void }) {
  const qc = useQueryClient();
  const objects = useObjects();
  const editing = field !== null;
  const [label, setLabel] = useState(field?.label ?? "");
  const [name, setName] = useState(field?.name ?? "");
  const [nameTouched, setNameTouched] = useState(editing);
  const [type, setType] = useState<string>(field?.type ?? "text");
  const [options, setOptions] = useState<OptionRow[]>((field?.options ?? []).map((o) => ({ ...o, fixed: true })));
  const [reference, setReference] = useState(field?.reference ?? "companies");
  const [required, setRequired] = useState(field?.required ?? false);
  const [unique, setUnique] = useState(field?.unique ?? false);
  const [help, setHelp] = useState(field?.help_text ?? "");
  const [section, setSection] = useState(field?.section ?? "");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const isSelect = type === "single_select" || type === "multi_select";

  const save = useMutation({
    mutationFn: () => {
      const body: Record<string, unknown> = { label, required, help_text: help };
      if (section.trim()) body.section = section.trim();
      if (isSelect) body.options = options.filter((o) => o.value.trim() || o.label.trim()).map((o) => ({ value: o.value.trim() || apiName(o.label), label: o.label.trim() || o.value.trim() }));
      if (editing) return api(`/api/v1/metadata/objects/${object}/fields/${field!.name}`, { method: "PATCH", body });
      body.name = name;
      body.type = type;
      if (type === "reference") body.reference = reference;
      if (UNIQUE_TYPES.has(type)) body.unique = unique;
      return api(`/api/v1/metadata/objects/${object}/fields`, { method: "POST", body });
    },
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["custom-fields", object] });
      qc.invalidateQueries({ queryKey: ["meta", object] });
      onClose();
    },
    onError: (err) => {
      if (err instanceof ApiError) setErrors(err.fieldErrors());
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    if (isSelect && !options.some((o) => o.label.trim() || o.value.trim())) {
      setErrors({ options: "Add at least one option." });
      return;
    }
    save.mutate();
  };
  const shown = ["label", "name", "type", "options", "reference", "required", "unique", "help_text", "section"];
  const optionErr = Object.entries(errors)
    .filter(([k]) => k === "options" || k.startsWith("options["))
    .map(([k, v]) => (k === "options" ? v : `${k.replace(/^options\[(\d+)\]/, (_m, n) => `Option ${Number(n) + 1}`)}: ${v}`))
    .join("; ");
  const targets = [...(objects.data ?? []).map((o) => ({ value: o.name, label: o.label })), { value: "users", label: "Users" }];

  return (
    <Modal open title={editing ? `Edit the field “${field!.label}”` : "Add a custom field"} onClose={onClose} wide>
      <form onSubmit={submit} noValidate className="field-form">
        <ErrorBanner error={otherErrors(errors, shown) ?? (save.isError && !Object.keys(errors).length ? save.error : null)} />
        <div className="form-grid">
          <TextField
            id="cf-label"
            label="Label"
            required
            autoFocus
            value={label}
            error={errors.label}
            onChange={(v) => {
              setLabel(v);
              if (!nameTouched) setName(apiName(v));
            }}
          />
          <TextField
            id="cf-name"
            label="API name"
            required
            value={name}
            readOnly={editing}
            error={errors.name}
            help={editing ? "API names never change (integrations and saved filters use them)." : "Lowercase letters, digits and _; it cannot change later."}
            onChange={(v) => {
              setName(v);
              setNameTouched(true);
            }}
          />
          {editing ? (
            <TextField id="cf-type" label="Type" value={typeLabel(type)} readOnly onChange={() => undefined} help="A field's type cannot change." />
          ) : (
            <SelectField id="cf-type" label="Type" value={type} options={FIELD_TYPES} error={errors.type} onChange={setType} />
          )}
          {type === "reference" && (
            <SelectField
              id="cf-ref"
              label="Points to"
              value={reference}
              options={targets}
              error={errors.reference}
              onChange={setReference}
              help={editing ? "Cannot change." : undefined}
            />
          )}
          <TextField id="cf-section" label="Section" value={section} error={errors.section} onChange={setSection} help="Where it shows on the record page (default: Custom fields)." />
          <TextField id="cf-help" label="Help text" value={help} error={errors.help_text} onChange={setHelp} />
        </div>
        {isSelect && <OptionsEditor options={options} onChange={setOptions} error={optionErr || undefined} />}
        <label className="check">
          <input type="checkbox" checked={required} onChange={(e) => setRequired(e.target.checked)} /> Required
        </label>
        {errors.required && <p className="field-error">{errors.required}</p>}
        {UNIQUE_TYPES.has(type) && (
          <label className="check">
            <input type="checkbox" checked={unique} disabled={editing} onChange={(e) => setUnique(e.target.checked)} /> Unique (no two records share a value)
          </label>
        )}
        {errors.unique && <p className="field-error">{errors.unique}</p>}
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={save.isPending}>
            {editing ? "Save field" : "Add field"}
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function FieldsAdminPage() {
  const { object: param } = useParams();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const objects = useObjects();
  const object = param ?? objects.data?.[0]?.name ?? "";
  const [dialog, setDialog] = useState<{ field: CustomFieldDef | null } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const list = useQuery({
    queryKey: ["custom-fields", object],
    enabled: !!object,
    queryFn: () => api<CustomFieldDef[]>(`/api/v1/metadata/objects/${object}/custom-fields`),
  });
  const retire = useMutation({
    mutationFn: ({ f, back }: { f: CustomFieldDef; back: boolean }) =>
      api(`/api/v1/metadata/objects/${object}/fields/${f.name}/${back ? "restore" : "retire"}`, { method: "POST" }),
    onSuccess: () => {
      setError(null);
      qc.invalidateQueries({ queryKey: ["custom-fields", object] });
      qc.invalidateQueries({ queryKey: ["meta", object] });
    },
    onError: setError,
  });
  useEffect(() => {
    document.title = "Custom fields · Sextant";
  }, []);
  const objLabel = objects.data?.find((o) => o.name === object)?.label ?? object;

  return (
    <AdminFrame
      title="Custom fields"
      actions={
        <button type="button" className="btn btn-primary" onClick={() => setDialog({ field: null })} disabled={!object}>
          <Icon name="plus" size={18} /> Add field
        </button>
      }
    >
      <div className="field inline-field">
        <label className="field-label" htmlFor="cf-object">
          Object
        </label>
        <select id="cf-object" className="input" value={object} onChange={(e) => navigate(`/admin/fields/${e.target.value}`)}>
          {(objects.data ?? []).map((o) => (
            <option key={o.name} value={o.name}>
              {o.label}
            </option>
          ))}
        </select>
      </div>
      <ErrorBanner error={error ?? list.error} onDismiss={error ? () => setError(null) : undefined} />
      {list.isLoading && <Spinner />}
      {list.data && (
        <div className="table-wrap">
          <table className="data-table admin-table">
            <caption className="sr-only">Custom fields of {objLabel}</caption>
            <thead>
              <tr>
                <th scope="col" className="col-title">Label</th>
                <th scope="col">API name</th>
                <th scope="col">Type</th>
                <th scope="col">Required</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((f) => (
                <tr key={f.name} className={f.retired ? "retired" : undefined}>
                  <td className="col-title" data-label="Label">
                    <strong>{f.label}</strong>
                  </td>
                  <td data-label="API name">
                    <code>{f.name}</code>
                  </td>
                  <td data-label="Type">
                    {typeLabel(f.type)}
                    {f.type === "reference" && f.reference ? ` → ${f.reference}` : ""}
                    {f.options ? ` (${f.options.length} options)` : ""}
                  </td>
                  <td data-label="Required">{f.required ? "Yes" : "No"}</td>
                  <td data-label="Status">{f.retired ? <span className="pill">Retired</span> : "Active"}</td>
                  <td className="row-actions">
                    <button type="button" className="btn btn-small" aria-label={`Edit ${f.label}`} onClick={() => setDialog({ field: f })}>
                      <Icon name="edit" size={16} /> <span aria-hidden="true">Edit</span>
                    </button>
                    <button
                      type="button"
                      className="btn btn-small"
                      aria-label={`${f.retired ? "Restore" : "Retire"} ${f.label}`}
                      disabled={retire.isPending}
                      onClick={() => retire.mutate({ f, back: f.retired })}
                    >
                      <span aria-hidden="true">{f.retired ? "Restore" : "Retire"}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {list.data.length === 0 && <p className="empty">{objLabel} has no custom fields yet.</p>}
        </div>
      )}
      <p className="help">Retiring hides a field everywhere (forms, lists, filters, exports, search) and keeps its values; restoring brings it back with them.</p>
      {dialog && <FieldDialog key={dialog.field?.name ?? "new"} object={object} field={dialog.field} onClose={() => setDialog(null)} />}
    </AdminFrame>
  );
}
