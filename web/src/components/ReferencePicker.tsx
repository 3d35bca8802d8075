import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { api, qs } from "../lib/api";
import { objectsQuery, titleOf } from "../lib/meta";
import { pipelinesQuery, primeTitles, useRefTitle, userLabel, usersQuery } from "../lib/refs";
import type { Page, Rec, SearchHit } from "../lib/types";
import { Combobox, useDebounced, type ComboOption } from "./Combobox";
import { Icon } from "./Icon";

/**
 * Choose a record to point to: users and pipeline stages from their (small) lists, CRM records through the
 * search index (or the list endpoint when the object is not searchable).
 */
export function ReferencePicker({
  object,
  value,
  onChange,
  label,
  inputId,
  describedBy,
  invalid,
  context,
}: {
  object: string;
  value: number | null;
  onChange: (id: number | null) => void;
  label: string;
  inputId?: string;
  describedBy?: string;
  invalid?: boolean;
  context?: Rec;
}) {
  const [text, setText] = useState("");
  const [editing, setEditing] = useState(false);
  const q = useDebounced(text.trim(), 150);
  const current = useRefTitle(object, value);
  const objects = useQuery(objectsQuery);
  const target = objects.data?.find((o) => o.name === object);

  const users = useQuery({ ...usersQuery(), enabled: object === "users" });
  const pipelines = useQuery({ ...pipelinesQuery(), enabled: object === "pipelines" || object === "stages" });
  const remote = useQuery({
    queryKey: ["pick", object, q, !!target?.searchable],
    enabled: !!target && editing,
    queryFn: async (): Promise<ComboOption[]> => {
      if (q && target!.searchable) {
        const res = await api<{ items: SearchHit[] }>(`/api/v1/search${qs({ q, objects: object, limit: 10 })}`);
        primeTitles(object, res.items);
        return res.items.map((h) => ({ key: String(h.id), label: h.title, sublabel: h.subtitle }));
      }
      const first = target!.title_fields[0];
      const filter = q && first ? JSON.stringify({ field: first, op: "contains", value: q }) : undefined;
      const page = await api<Page>(`/api/v1/${object}${qs({ filter, limit: 10 })}`);
      const items = page.items.map((r) => ({ id: r.id, title: titleOf(target!, r) }));
      primeTitles(object, items);
      return items.map((i) => ({ key: String(i.id), label: i.title }));
    },
  });

  const options: ComboOption[] = useMemo(() => {
    const needle = q.toLowerCase();
    if (object === "users") {
      return (users.data ?? [])
        .filter((u) => u.is_active && `${u.full_name ?? ""} ${u.email}`.toLowerCase().includes(needle))
        .slice(0, 20)
        .map((u) => ({ key: String(u.id), label: userLabel(u), sublabel: u.email }));
    }
    if (object === "pipelines") {
      return (pipelines.data ?? [])
        .filter((p) => p.name.toLowerCase().includes(needle))
        .map((p) => ({ key: String(p.id), label: p.name }));
    }
    if (object === "stages") {
      const pid = context?.pipeline_id;
      return (pipelines.data ?? [])
        .filter((p) => typeof pid !== "number" || p.id === pid)
        .flatMap((p) => p.stages.map((s) => ({ p, s })))
        .filter(({ s }) => s.name.toLowerCase().includes(needle))
        .map(({ p, s }) => ({ key: String(s.id), label: s.name, sublabel: `${p.name} · ${s.probability}%` }));
    }
    return remote.data ?? [];
  }, [object, q, users.data, pipelines.data, remote.data, context?.pipeline_id]);

  const shown = editing ? text : value === null ? "" : (current.data ?? (current.isLoading ? "…" : `#${value}`));

  return (
    <div className="ref-picker">
      <Combobox
        label={label}
        hideLabel
        inputId={inputId}
        labelledOutside={!!inputId}
        describedBy={describedBy}
        invalid={invalid}
        text={shown}
        onText={(t) => {
          setEditing(true);
          setText(t);
        }}
        options={options}
        loading={remote.isFetching || users.isFetching || pipelines.isFetching}
        placeholder={`Search ${target?.label.toLowerCase() ?? object}…`}
        onFocus={() => {
          setEditing(true);
          setText("");
        }}
        onBlur={() => setEditing(false)}
        onPick={(o) => {
          const id = Number(o.key);
          primeTitles(object, [{ id, title: o.label }]);
          onChange(id);
          setEditing(false);
          setText("");
        }}
      />
      {value !== null && (
        <button type="button" className="icon-btn ref-clear" onClick={() => onChange(null)} aria-label={`Clear ${label}`}>
          <Icon name="x" size={16} />
        </button>
      )}
    </div>
  );
}
