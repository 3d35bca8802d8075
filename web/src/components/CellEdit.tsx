import { useMutation } from "@tanstack/react-query";
import { useRef, useState, type FormEvent } from "react";
import { api, ApiError, errorMessage, ifMatch } from "../lib/api";
import type { FieldMeta, ObjectMeta, Rec } from "../lib/types";
import { FieldInput } from "./FieldInput";
import { Icon } from "./Icon";
import { FieldValue } from "./Value";

/**
 * A list cell that edits in place: the pencil (or a double click) opens the field's input, Enter saves with the
 * version the list showed (If-Match), Escape cancels. The API's validation message shows in the cell; a 409
 * (changed by someone else) goes to the page, which reloads the list.
 */
export function EditableCell({
  meta,
  field,
  record,
  title,
  editable,
  onSaved,
  onConflict,
}: {
  meta: ObjectMeta;
  field: FieldMeta;
  record: Rec;
  title: string;
  editable: boolean;
  onSaved: (r: Rec) => void;
  onConflict: (message: string) => void;
}) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState<unknown>(null);
  const [error, setError] = useState<string | null>(null);
  const button = useRef<HTMLButtonElement>(null);

  const save = useMutation({
    mutationFn: (value: unknown) =>
      api<Rec>(`/api/v1/${meta.name}/${record.id}`, {
        method: "PATCH",
        body: { [field.name]: value },
        headers: ifMatch(record.version),
      }),
    onSuccess: (rec) => {
      setEditing(false);
      setError(null);
      onSaved(rec);
      setTimeout(() => button.current?.focus(), 0);
    },
    onError: (err) => {
      if (err instanceof ApiError && err.status === 409) {
        setEditing(false);
        onConflict(
          `“${title}” was changed by someone else while you were editing, so your change to ${field.label} was not saved. ` +
            "The list has been reloaded with the latest values.",
        );
        return;
      }
      if (err instanceof ApiError) {
        const fe = err.fieldErrors();
        setError(fe[field.name] ?? (Object.values(fe).join("; ") || err.message));
      } else setError(errorMessage(err));
    },
  });

  const start = () => {
    if (!editable) return;
    setDraft(record[field.name] ?? null);
    setError(null);
    setEditing(true);
  };
  const cancel = () => {
    setEditing(false);
    setError(null);
    setTimeout(() => button.current?.focus(), 0);
  };

  if (editing) {
    return (
      <form
        className="cell-edit"
        aria-label={`Edit ${field.label} of ${title}`}
        noValidate
        onClick={(e) => e.stopPropagation()}
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          save.mutate(draft);
        }}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            e.stopPropagation();
            cancel();
          }
        }}
      >
        <FieldInput field={field} value={draft} onChange={setDraft} error={error ?? undefined} record={{ ...record, [field.name]: draft }} autoFocus hideLabel />
        <div className="inline-actions">
          <button type="submit" className="btn btn-primary btn-small" disabled={save.isPending}>
            {save.isPending ? "Saving…" : "Save"}
          </button>
          <button type="button" className="btn btn-small" onClick={cancel}>
            Cancel
          </button>
        </div>
      </form>
    );
  }
  return (
    <div className={editable ? "cell editable" : "cell"} onDoubleClick={start}>
      <span className="cell-value">
        <FieldValue field={field} value={record[field.name]} record={record} />
      </span>
      {editable && (
        <button
          ref={button}
          type="button"
          className="icon-btn cell-edit-btn"
          aria-label={`Edit ${field.label} of ${title}`}
          onClick={(e) => {
            e.stopPropagation();
            start();
          }}
        >
          <Icon name="edit" size={14} />
        </button>
      )}
    </div>
  );
}
