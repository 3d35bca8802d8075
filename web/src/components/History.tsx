import { useInfiniteQuery } from "@tanstack/react-query";
import { api, qs } from "../lib/api";
import { formatDateTime } from "../lib/format";
import { fieldMap } from "../lib/meta";
import type { HistoryEntry, ObjectMeta } from "../lib/types";
import { Changes } from "./Changes";
import { Empty, ErrorBanner, Spinner } from "./ui";

const ACTIONS: Record<string, string> = {
  create: "Created",
  update: "Updated",
  delete: "Deleted",
  restore: "Restored",
  link: "Linked",
  unlink: "Unlinked",
};

export function History({ object, id, meta }: { object: string; id: number; meta: ObjectMeta }) {
  const fields = fieldMap(meta);
  const h = useInfiniteQuery({
    queryKey: ["history", object, id],
    initialPageParam: null as number | null,
    queryFn: ({ pageParam }) =>
      api<{ items: HistoryEntry[]; next_before: number | null }>(`/api/v1/${object}/${id}/history${qs({ limit: 50, before: pageParam })}`),
    getNextPageParam: (p) => p.next_before,
  });
  const items = h.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div className="history">
      <ErrorBanner error={h.error} />
      {h.isLoading && <Spinner />}
      {h.isSuccess && items.length === 0 && <Empty>No history.</Empty>}
      <ol className="history-list">
        {items.map((e) => (
          <li key={e.id} className="history-entry">
            <div className="history-head">
              <strong>{ACTIONS[e.action] ?? e.action}</strong> by {e.actor || "system"}
              <time className="muted" dateTime={e.at}>
                {" "}
                · {formatDateTime(e.at)}
              </time>
            </div>
            <Changes changes={e.changes ?? {}} fields={fields} skip={["version"]} object={object} />
          </li>
        ))}
      </ol>
      {h.hasNextPage && (
        <button type="button" className="btn" disabled={h.isFetchingNextPage} onClick={() => h.fetchNextPage()}>
          Show older
        </button>
      )}
    </div>
  );
}
