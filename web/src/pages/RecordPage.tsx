import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api, ApiError, errorMessage, ifMatch } from "../lib/api";
import { can, sections, subtitleOf, titleOf, useObjectMeta } from "../lib/meta";
import { primeTitles } from "../lib/refs";
import type { FieldMeta, ObjectMeta, Rec } from "../lib/types";
import { ActivityBody } from "../components/ActivityBody";
import { ConvertLeadDialog } from "../components/ConvertLead";
import { FieldInput } from "../components/FieldInput";
import { History } from "../components/History";
import { Icon } from "../components/Icon";
import { RelatedLists } from "../components/Related";
import { ScoreBadge } from "../components/ScoreBadge";
import { Timeline } from "../components/Timeline";
import { FieldValue } from "../components/Value";
import { ErrorBanner, Modal, Spinner, Tabs, useMediaQuery, type TabDef } from "../components/ui";
import { NotFound } from "./NotFound";

const TIMELINE_OBJECTS = new Set(["contacts", "companies", "deals", "leads"]);

function EditableField({
  meta,
  record,
  field,
  canEdit,
  onSaved,
  onConflict,
}: {
  meta: ObjectMeta;
  record: Rec;
  field: FieldMeta;
  canEdit: boolean;
  onSaved: (r: Rec) => void;
  onConflict: (message: string) => void;
}) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState<unknown>(null);
  const [error, setError] = useState<string | null>(null);
  const editBtn = useRef<HTMLButtonElement>(null);
  const editable = canEdit && field.writable;

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
      setTimeout(() => editBtn.current?.focus(), 0);
    },
    onError: (err) => {
      if (err instanceof ApiError && err.status === 409) {
        setEditing(false);
        onConflict(
          `This ${meta.singular.toLowerCase()} was changed by someone else while you were editing. ` +
            `It has been reloaded with the latest values; your change to “${field.label}” was not saved.`,
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
    setDraft(record[field.name] ?? null);
    setError(null);
    setEditing(true);
  };
  const cancel = () => {
    setEditing(false);
    setError(null);
    setTimeout(() => editBtn.current?.focus(), 0);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate(draft);
  };

  return (
    <div className={`prop ${editing ? "editing" : ""} ${field.type === "long_text" ? "prop-wide" : ""}`}>
      <dt>{field.label}</dt>
      <dd>
        {editing ? (
          <form
            className="inline-edit"
            onSubmit={submit}
            noValidate
            onKeyDown={(e) => {
              if (e.key === "Escape") {
                e.stopPropagation();
                cancel();
              }
            }}
          >
            <FieldInput field={field} value={draft} onChange={setDraft} error={error ?? undefined} record={{ ...record, ...{ [field.name]: draft } }} autoFocus hideLabel />
            <div className="inline-actions">
              <button type="submit" className="btn btn-primary btn-small" disabled={save.isPending}>
                {save.isPending ? "Saving…" : "Save"}
              </button>
              <button type="button" className="btn btn-small" onClick={cancel}>
                Cancel
              </button>
            </div>
          </form>
        ) : (
          <div
            className={editable ? "prop-value editable" : "prop-value"}
            onClick={(e) => {
              if (editable && !(e.target as HTMLElement).closest("a,button")) start();
            }}
          >
            <span className="prop-text">
              {meta.name === "activities" && field.name === "body" && typeof record.body === "string" && record.body ? (
                <ActivityBody html={record.body} />
              ) : (
                <FieldValue field={field} value={record[field.name]} record={record} />
              )}
            </span>
            {editable && (
              <button ref={editBtn} type="button" className="icon-btn edit-btn" aria-label={`Edit ${field.label}`} onClick={start}>
                <Icon name="edit" size={16} />
              </button>
            )}
          </div>
        )}
      </dd>
    </div>
  );
}

export function RecordPage() {
  const { object = "", id: idParam = "" } = useParams();
  const id = Number(idParam);
  const qc = useQueryClient();
  const navigate = useNavigate();
  const meta = useObjectMeta(object);
  const [notice, setNotice] = useState<string | null>(null);
  const [tab, setTab] = useState<string>("timeline");
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [showSystem, setShowSystem] = useState(false);
  const [converting, setConverting] = useState(false);
  const contactsMeta = useObjectMeta(object === "leads" ? "contacts" : undefined);
  const narrow = useMediaQuery("(max-width: 760px)");

  const rec = useQuery({
    queryKey: ["record", object, id],
    enabled: !!meta.data && Number.isInteger(id) && id > 0,
    queryFn: () => api<Rec>(`/api/v1/${object}/${id}`),
  });
  const del = useMutation({
    mutationFn: () => api(`/api/v1/${object}/${id}`, { method: "DELETE", headers: ifMatch(rec.data?.version) }),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["list", object] });
      navigate(`/o/${object}`);
    },
  });

  useEffect(() => {
    setNotice(null);
    setTab(narrow ? "details" : TIMELINE_OBJECTS.has(object) ? "timeline" : meta.data?.related.length ? "related" : "history");
  }, [object, id, meta.data, narrow]);
  useEffect(() => {
    if (meta.data && rec.data) {
      const title = titleOf(meta.data, rec.data);
      document.title = `${title} · ${meta.data.singular} · Sextant`;
      primeTitles(object, [{ id, title }]);
    }
  }, [meta.data, rec.data, object, id]);

  const notFound =
    !Number.isInteger(id) ||
    id <= 0 ||
    [meta.error, rec.error].some((e) => e instanceof ApiError && (e.status === 404 || e.status === 403 || e.status === 422));
  if (notFound) return <NotFound what="This record" />;
  if (meta.error || rec.error) return <ErrorBanner error={meta.error ?? rec.error} />;
  if (!meta.data || !rec.data) return <Spinner />;

  const m = meta.data;
  const r = rec.data;
  const canEdit = can(m, "edit");
  const visible = m.fields.filter((f) => f.readable);
  const groups = sections(visible);

  const onSaved = (next: Rec) => {
    qc.setQueryData(["record", object, id], next);
    qc.invalidateQueries({ queryKey: ["timeline", object, id] });
    qc.invalidateQueries({ queryKey: ["history", object, id] });
    qc.invalidateQueries({ queryKey: ["list", object] });
    setNotice(null);
  };
  const onConflict = (message: string) => {
    setNotice(message);
    rec.refetch();
  };

  const details = (
    <section className="record-fields card" aria-label="Details">
          {groups.map(([section, fields]) => {
            const system = section === "System";
            const body = (
              <dl className="props">
                {fields.map((f) => (
                  <EditableField key={f.name} meta={m} record={r} field={f} canEdit={canEdit} onSaved={onSaved} onConflict={onConflict} />
                ))}
              </dl>
            );
            return (
              <div key={section} className="prop-section">
                {system ? (
                  <>
                    <h2>
                      <button type="button" className="section-toggle" aria-expanded={showSystem} onClick={() => setShowSystem((s) => !s)}>
                        <Icon name={showSystem ? "down" : "chevron"} size={16} /> {section}
                      </button>
                    </h2>
                    {showSystem && body}
                  </>
                ) : (
                  <>
                    <h2>{section}</h2>
                    {body}
                  </>
                )}
              </div>
            );
          })}
        </section>
  );

  const tabs: TabDef[] = [];
  if (narrow) tabs.push({ id: "details", label: "Details", panel: details });
  if (TIMELINE_OBJECTS.has(object)) tabs.push({ id: "timeline", label: "Timeline", panel: <Timeline object={object} id={id} meta={m} /> });
  if (m.related.length) tabs.push({ id: "related", label: "Related", panel: <RelatedLists object={object} id={id} related={m.related} /> });
  tabs.push({ id: "history", label: "History", panel: <History object={object} id={id} meta={m} /> });

  return (
    <div className="page record-page">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to={`/o/${object}`}>{m.label}</Link>
        <Icon name="chevron" size={14} />
        <span aria-current="page">{titleOf(m, r)}</span>
      </nav>
      <header className="page-head record-head">
        <div>
          <h1>{titleOf(m, r)}</h1>
          <p className="muted">
            <span className="pill">{m.singular}</span> {subtitleOf(m, r)}
          </p>
          {(object === "deals" || object === "leads") && <ScoreBadge object={object} id={r.id as number} />}
        </div>
        <div className="toolbar">
          {object === "deals" && (
            <Link className="btn" to={`/board${typeof r.pipeline_id === "number" ? `?pipeline=${r.pipeline_id}` : ""}`}>
              <Icon name="board" size={18} /> <span className="btn-text">Board</span>
            </Link>
          )}
          {object === "leads" && r.status !== "converted" && r.status !== "disqualified" && canEdit && can(contactsMeta.data, "create") && (
            <button type="button" className="btn btn-primary" onClick={() => setConverting(true)}>
              <Icon name="check" size={18} /> Convert
            </button>
          )}
          {object === "leads" && r.status === "converted" && typeof r.converted_contact_id === "number" && (
            <Link className="btn" to={`/o/contacts/${r.converted_contact_id}`}>
              <Icon name="user" size={18} /> <span className="btn-text">Converted contact</span>
            </Link>
          )}
          {can(m, "delete") && (
            <button type="button" className="btn btn-danger" onClick={() => setConfirmDelete(true)}>
              <Icon name="trash" size={18} /> <span className="btn-text">Delete</span>
            </button>
          )}
        </div>
      </header>
      {notice && (
        <div className="banner banner-warn" role="alert">
          <span>{notice}</span>
          <button type="button" className="icon-btn" aria-label="Dismiss message" onClick={() => setNotice(null)}>
            <Icon name="x" size={16} />
          </button>
        </div>
      )}
      {narrow ? (
        <div className="record-side card">
          <Tabs tabs={tabs} active={tab} onChange={setTab} label="Record" />
        </div>
      ) : (
        <div className="record-layout">
          {details}
          <section className="record-side card" aria-label="Activity">
            <Tabs tabs={tabs} active={tab} onChange={setTab} label="Record activity" />
          </section>
        </div>
      )}
      {object === "leads" && converting && <ConvertLeadDialog lead={r} open={converting} onClose={() => setConverting(false)} />}
      <Modal open={confirmDelete} title={`Delete this ${m.singular.toLowerCase()}?`} onClose={() => setConfirmDelete(false)}>
        <p>“{titleOf(m, r)}” will be moved to the trash. An administrator can restore it.</p>
        <ErrorBanner error={del.error} />
        <div className="form-actions">
          <button type="button" className="btn" onClick={() => setConfirmDelete(false)}>
            Cancel
          </button>
          <button type="button" className="btn btn-danger" disabled={del.isPending} onClick={() => del.mutate()}>
            Delete
          </button>
        </div>
      </Modal>
    </div>
  );
}
