import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { api, ApiError, ifMatch } from "../lib/api";
import { useMe } from "../lib/meta";
import type { SavedView } from "../lib/types";
import { teamsQuery, useSavedViews } from "../lib/views";
import { Icon } from "./Icon";
import { ErrorBanner, Modal } from "./ui";

export interface ViewState {
  columns: string[];
  sort: string;
  filter: unknown;
}

/** Does the list as shown differ from the saved view? */
export function viewDiffers(view: SavedView, now: ViewState): boolean {
  return (
    JSON.stringify(view.filter ?? null) !== JSON.stringify(now.filter ?? null) ||
    (view.sort || "") !== (now.sort || "") ||
    (view.columns.length > 0 && JSON.stringify(view.columns) !== JSON.stringify(now.columns))
  );
}

/** Choose a saved view (mine, then my team's), save the list as a new one, update or delete the open one. */
export function SavedViewsBar({
  object,
  current,
  activeId,
  state,
  onOpen,
}: {
  object: string;
  current: SavedView | undefined;
  activeId: number | null;
  state: ViewState;
  onOpen: (view: SavedView | null) => void;
}) {
  const qc = useQueryClient();
  const me = useMe();
  const views = useSavedViews(object);
  const [saving, setSaving] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [notice, setNotice] = useState<unknown>(null);
  const selectId = useId();
  const mine = (views.data ?? []).filter((v) => v.owner_id === me?.user.id);
  const shared = (views.data ?? []).filter((v) => v.owner_id !== me?.user.id);
  const dirty = current ? viewDiffers(current, state) : false;

  const update = useMutation({
    mutationFn: (v: SavedView) =>
      api<SavedView>(`/api/v1/saved-views/${v.id}`, {
        method: "PATCH",
        body: { columns: state.columns, sort: state.sort, filter: state.filter ?? null },
        headers: ifMatch(v.version),
      }),
    onSuccess: () => {
      setNotice(null);
      qc.invalidateQueries({ queryKey: ["saved-views", object] });
    },
    onError: (err) => {
      setNotice(
        err instanceof ApiError && err.status === 409
          ? "This view was changed by someone else meanwhile; it has been reloaded. Save again to overwrite it."
          : err,
      );
      qc.invalidateQueries({ queryKey: ["saved-views", object] });
    },
  });
  const remove = useMutation({
    mutationFn: (v: SavedView) => api(`/api/v1/saved-views/${v.id}`, { method: "DELETE" }),
    onSuccess: () => {
      setDeleting(false);
      qc.invalidateQueries({ queryKey: ["saved-views", object] });
      onOpen(null);
    },
  });

  return (
    <div className="views-bar">
      <label htmlFor={selectId} className="sr-only">
        Saved view
      </label>
      <select
        id={selectId}
        className="input view-select"
        value={activeId ?? ""}
        onChange={(e) => {
          const id = Number(e.target.value);
          onOpen((views.data ?? []).find((v) => v.id === id) ?? null);
        }}
      >
        <option value="">All records</option>
        {activeId !== null && !current && views.isSuccess && <option value={activeId}>(view not available)</option>}
        {mine.length > 0 && (
          <optgroup label="My views">
            {mine.map((v) => (
              <option key={v.id} value={v.id}>
                {v.name}
                {v.shared ? ` (shared with ${v.team})` : ""}
              </option>
            ))}
          </optgroup>
        )}
        {shared.length > 0 && (
          <optgroup label="Shared with my team">
            {shared.map((v) => (
              <option key={v.id} value={v.id}>
                {v.name} — {v.owner}
              </option>
            ))}
          </optgroup>
        )}
      </select>
      {current?.editable && dirty && (
        <button type="button" className="btn btn-small" disabled={update.isPending} onClick={() => update.mutate(current)}>
          Save changes
        </button>
      )}
      <button type="button" className="btn btn-small" onClick={() => setSaving(true)}>
        <Icon name="plus" size={16} /> <span>Save view</span>
      </button>
      {current?.editable && (
        <button type="button" className="icon-btn" aria-label={`Delete view ${current.name}`} onClick={() => setDeleting(true)}>
          <Icon name="trash" size={16} />
        </button>
      )}
      <ErrorBanner error={notice} onDismiss={() => setNotice(null)} />
      {saving && (
        <SaveViewDialog
          object={object}
          state={state}
          teamId={me?.user.team_id ?? null}
          onClose={() => setSaving(false)}
          onSaved={(v) => {
            setSaving(false);
            qc.invalidateQueries({ queryKey: ["saved-views", object] });
            onOpen(v);
          }}
        />
      )}
      <Modal open={deleting && !!current} title={`Delete the view “${current?.name ?? ""}”?`} onClose={() => setDeleting(false)}>
        <p>{current?.shared ? "Your team-mates will no longer see it either. " : ""}The records themselves are not touched.</p>
        <ErrorBanner error={remove.error} />
        <div className="form-actions">
          <button type="button" className="btn" onClick={() => setDeleting(false)}>
            Cancel
          </button>
          <button type="button" className="btn btn-danger" disabled={remove.isPending} onClick={() => current && remove.mutate(current)}>
            Delete view
          </button>
        </div>
      </Modal>
    </div>
  );
}

function SaveViewDialog({
  object,
  state,
  teamId,
  onClose,
  onSaved,
}: {
  object: string;
  state: ViewState;
  teamId: number | null;
  onClose: () => void;
  onSaved: (v: SavedView) => void;
}) {
  const me = useMe();
  const teams = useQuery({ ...teamsQuery, enabled: !!me });
  const [name, setName] = useState("");
  const [share, setShare] = useState<string>("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const teamName = teams.data?.find((t) => t.id === teamId)?.name;
  const shareChoices = me?.is_admin ? (teams.data ?? []) : (teams.data ?? []).filter((t) => t.id === teamId);
  const create = useMutation({
    mutationFn: () =>
      api<SavedView>("/api/v1/saved-views", {
        method: "POST",
        body: {
          object,
          name,
          columns: state.columns,
          sort: state.sort,
          filter: state.filter ?? null,
          ...(share ? { team_id: Number(share) } : {}),
        },
      }),
    onSuccess: onSaved,
    onError: (err) => {
      if (err instanceof ApiError) setErrors(err.fieldErrors());
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    if (!name.trim()) {
      setErrors({ name: "Give the view a name." });
      return;
    }
    create.mutate();
  };
  const nameErr = errors.name;
  return (
    <Modal open title="Save this view" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <p className="muted">The columns, sort order and filter shown now are saved under this name.</p>
        <div className={`field ${nameErr ? "has-error" : ""}`}>
          <label className="field-label" htmlFor="view-name">
            View name *
          </label>
          <input
            id="view-name"
            className="input"
            value={name}
            autoFocus
            maxLength={120}
            aria-invalid={!!nameErr || undefined}
            aria-describedby={nameErr ? "view-name-err" : undefined}
            onChange={(e) => setName(e.target.value)}
          />
          {nameErr && (
            <p id="view-name-err" className="field-error">
              {nameErr}
            </p>
          )}
        </div>
        <fieldset className="field radio-list">
          <legend className="field-label">Who sees it</legend>
          <label className="check">
            <input type="radio" name="share" value="" checked={share === ""} onChange={() => setShare("")} />
            Only me
          </label>
          {shareChoices.map((t) => (
            <label key={t.id} className="check">
              <input type="radio" name="share" value={t.id} checked={share === String(t.id)} onChange={() => setShare(String(t.id))} />
              Shared with the team {t.name}
            </label>
          ))}
          {!teamName && !me?.is_admin && <p className="help">You are not in a team, so views are private to you.</p>}
          {errors.team_id && <p className="field-error">{errors.team_id}</p>}
        </fieldset>
        <ErrorBanner
          error={
            Object.keys(errors).some((k) => k !== "name" && k !== "team_id")
              ? `This view cannot be saved: ${Object.entries(errors)
                  .map(([k, v]) => `${k}: ${v}`)
                  .join("; ")}`
              : create.isError && !Object.keys(errors).length
                ? create.error
                : null
          }
        />
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={create.isPending}>
            Save view
          </button>
        </div>
      </form>
    </Modal>
  );
}
