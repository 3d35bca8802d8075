/**
 * Titles of referenced records (owner, company, stage ...), loaded in batches: every cell asks for one id,
 * the loader collects the ids asked for in the same tick and fetches them with one request per object.
 */
import { useQuery } from "@tanstack/react-query";
import { api } from "./api";
import { fetchObjects, titleOf } from "./meta";
import { queryClient } from "./queryClient";
import type { Page, Pipeline, Rec, User } from "./types";

type Resolver = { resolve: (title: string | null) => void; reject: (e: unknown) => void };
const queues = new Map<string, Map<number, Resolver[]>>();
let scheduled = false;

export function usersQuery() {
  return { queryKey: ["users"], queryFn: () => api<User[]>("/api/v1/users"), staleTime: 5 * 60_000 };
}

export function pipelinesQuery() {
  return { queryKey: ["pipelines"], queryFn: () => api<Pipeline[]>("/api/v1/pipelines"), staleTime: 60_000 };
}

export function userLabel(u: Pick<User, "full_name" | "email">): string {
  return u.full_name || u.email;
}

async function loadBatch(object: string, ids: number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  if (object === "users") {
    for (const u of await queryClient.fetchQuery(usersQuery())) out.set(u.id, userLabel(u));
    return out;
  }
  if (object === "pipelines" || object === "stages") {
    for (const p of await queryClient.fetchQuery(pipelinesQuery())) {
      if (object === "pipelines") out.set(p.id, p.name);
      else for (const s of p.stages) out.set(s.id, s.name);
    }
    return out;
  }
  const objects = await fetchObjects();
  const obj = objects.find((o) => o.name === object);
  if (!obj) return out;
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200);
    const filter = JSON.stringify({ field: "id", op: "in", value: chunk });
    const fields = ["id", ...obj.title_fields].join(",");
    const page = await api<Page>(
      `/api/v1/${object}?filter=${encodeURIComponent(filter)}&fields=${fields}&limit=${chunk.length}`,
    );
    for (const rec of page.items) out.set(rec.id, titleOf(obj, rec));
  }
  return out;
}

function flush(): void {
  scheduled = false;
  const work = [...queues.entries()];
  queues.clear();
  for (const [object, waiting] of work) {
    const ids = [...waiting.keys()];
    loadBatch(object, ids).then(
      (titles) => {
        for (const [id, resolvers] of waiting) resolvers.forEach((r) => r.resolve(titles.get(id) ?? null));
      },
      (err) => {
        for (const resolvers of waiting.values()) resolvers.forEach((r) => r.reject(err));
      },
    );
  }
}

export function loadTitle(object: string, id: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    if (!queues.has(object)) queues.set(object, new Map());
    const q = queues.get(object)!;
    if (!q.has(id)) q.set(id, []);
    q.get(id)!.push({ resolve, reject });
    if (!scheduled) {
      scheduled = true;
      setTimeout(flush, 0);
    }
  });
}

export function useRefTitle(object: string | null | undefined, id: number | null | undefined) {
  return useQuery({
    queryKey: ["title", object, id],
    queryFn: () => loadTitle(object!, id!),
    enabled: !!object && typeof id === "number",
    staleTime: 5 * 60_000,
  });
}

/** Records already in hand (a list page, search results) need no second request for their titles. */
export function primeTitles(object: string, items: { id: number; title: string }[]): void {
  for (const it of items) queryClient.setQueryData(["title", object, it.id], it.title);
}

export function primeFromRecords(object: string, titleFields: string[], singular: string, recs: Rec[]): void {
  primeTitles(
    object,
    recs.map((r) => ({ id: r.id, title: titleOf({ title_fields: titleFields, singular }, r) })),
  );
}
