import { useQuery } from "@tanstack/react-query";
import { api } from "./api";
import type { FieldMeta, Me, ObjectMeta, ObjectSummary, Rec } from "./types";
import { queryClient } from "./queryClient";

export const objectsQuery = {
  queryKey: ["objects"],
  queryFn: () => api<ObjectSummary[]>("/api/v1/metadata/objects"),
  staleTime: 5 * 60_000,
};

export function useObjects() {
  return useQuery(objectsQuery);
}

export function metaQuery(name: string) {
  return {
    queryKey: ["meta", name],
    queryFn: () => api<ObjectMeta>(`/api/v1/metadata/objects/${encodeURIComponent(name)}`),
    staleTime: 60_000,
  };
}

export function useObjectMeta(name: string | undefined) {
  return useQuery({ ...metaQuery(name ?? ""), enabled: !!name });
}

export const meQuery = {
  queryKey: ["me"],
  queryFn: () => api<Me>("/api/v1/auth/me"),
  staleTime: 5 * 60_000,
};

export function useMe(): Me | undefined {
  return useQuery(meQuery).data;
}

export function fetchObjects(): Promise<ObjectSummary[]> {
  return queryClient.fetchQuery(objectsQuery);
}

/** Display title of a record from its object's title fields (as the server does). */
export function titleOf(obj: Pick<ObjectSummary, "title_fields" | "singular">, rec: Rec): string {
  const parts = obj.title_fields.map((f) => String(rec[f] ?? "").trim()).filter(Boolean);
  return parts.join(" ") || `${obj.singular} #${rec.id}`;
}

export function subtitleOf(meta: ObjectMeta | ObjectSummary, rec: Rec): string {
  const fields = "fields" in meta ? meta.fields : [];
  return meta.subtitle_fields
    .map((name) => {
      const v = rec[name];
      if (v === null || v === undefined || v === "") return "";
      const f = fields.find((x) => x.name === name);
      if (f?.options) return f.options.find((o) => o.value === v)?.label ?? String(v);
      return String(v);
    })
    .filter(Boolean)
    .join(" · ");
}

export function fieldMap(meta: ObjectMeta): Record<string, FieldMeta> {
  return Object.fromEntries(meta.fields.map((f) => [f.name, f]));
}

export function can(obj: ObjectSummary | undefined, action: string): boolean {
  return !!obj && obj.actions.includes(action);
}

/** Sections in field order, "System" last. */
export function sections(fields: FieldMeta[]): [string, FieldMeta[]][] {
  const map = new Map<string, FieldMeta[]>();
  for (const f of fields) {
    if (!map.has(f.section)) map.set(f.section, []);
    map.get(f.section)!.push(f);
  }
  const entries = [...map.entries()];
  return [...entries.filter(([s]) => s !== "System"), ...entries.filter(([s]) => s === "System")];
}

export function humanize(name: string): string {
  const s = name.replace(/_id$/, "").replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}
