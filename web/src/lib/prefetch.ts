/**
 * Start the data requests of the screen being opened before its code has loaded: a cold load of /board or
 * /o/{object} otherwise waits for the main script, the sign-in check and the page's own chunk before asking
 * for its data. The queries are the pages' own (same keys, same functions), so the page finds them in the
 * cache or in flight. A failure here is silent: the page asks again and shows the error.
 */
import { api, qs } from "./api";
import { queryClient } from "./queryClient";
import { pipelinesQuery, primeFromRecords } from "./refs";
import type { Board, Page, Pipeline } from "./types";

export const LIST_PAGE = 50;

export function boardQuery(pipelineId: number | undefined) {
  return {
    queryKey: ["board", pipelineId],
    queryFn: async () => {
      const b = await api<Board>(`/api/v1/pipelines/${pipelineId}/board?per_stage=25`);
      primeFromRecords("deals", ["name"], "Deal", b.columns.flatMap((c) => c.deals));
      return b;
    },
  };
}

export function choosePipeline(list: Pipeline[], chosen: number | null): Pipeline | undefined {
  return list.find((p) => p.id === chosen) ?? list.find((p) => p.is_default) ?? list[0];
}

export function listPage(object: string, filter: string | null, sort: string, cursor: string | null, signal?: AbortSignal) {
  return api<Page>(`/api/v1/${object}${qs({ filter, sort, limit: LIST_PAGE, cursor })}`, { signal });
}

export function prefetchForLocation(loc: Location = window.location): void {
  const params = new URLSearchParams(loc.search);
  if (loc.pathname === "/board") {
    queryClient
      .fetchQuery(pipelinesQuery())
      .then((list) => {
        const p = choosePipeline(list, Number(params.get("pipeline")) || null);
        if (p) return queryClient.prefetchQuery(boardQuery(p.id));
      })
      .catch(() => undefined);
    return;
  }
  const m = /^\/o\/([a-z0-9_]+)\/?$/.exec(loc.pathname);
  if (m && !params.has("view")) {
    const object = m[1];
    const filter = params.get("filter");
    const sort = params.get("sort") ?? "";
    queryClient
      .prefetchInfiniteQuery({
        queryKey: ["list", object, filter ?? "", sort],
        initialPageParam: null as string | null,
        queryFn: ({ pageParam, signal }) => listPage(object, filter, sort, pageParam, signal),
      })
      .catch(() => undefined);
  }
}
