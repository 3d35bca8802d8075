import { useInfiniteQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { api, qs } from "../lib/api";
import { subtitleOf, titleOf, useObjectMeta } from "../lib/meta";
import { primeFromRecords } from "../lib/refs";
import type { Page, Relation } from "../lib/types";
import { Empty, ErrorBanner, Spinner } from "./ui";

function RelatedList({ object, id, relation }: { object: string; id: number; relation: Relation }) {
  const target = useObjectMeta(relation.object);
  const list = useInfiniteQuery({
    queryKey: ["related", object, id, relation.name],
    enabled: !!target.data,
    initialPageParam: null as string | null,
    queryFn: async ({ pageParam }) => {
      const page = await api<Page>(`/api/v1/${object}/${id}/related/${relation.name}${qs({ limit: 10, cursor: pageParam, total: pageParam === null })}`);
      if (target.data) primeFromRecords(relation.object, target.data.title_fields, target.data.singular, page.items);
      return page;
    },
    getNextPageParam: (p) => p.next_cursor,
  });
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  const total = list.data?.pages[0]?.total;
  const headingId = `rel-${relation.name}`;
  return (
    <section className="related" aria-labelledby={headingId}>
      <h3 id={headingId}>
        {relation.label} {typeof total === "number" && <span className="count">{total}</span>}
      </h3>
      <ErrorBanner error={list.error ?? target.error} />
      {list.isLoading && <Spinner />}
      {list.isSuccess && items.length === 0 && <Empty>None.</Empty>}
      <ul className="related-list">
        {items.map((r) => (
          <li key={r.id}>
            <Link to={`/o/${relation.object}/${r.id}`}>{target.data ? titleOf(target.data, r) : `#${r.id}`}</Link>
            {target.data && <span className="muted small">{subtitleOf(target.data, r)}</span>}
          </li>
        ))}
      </ul>
      {list.hasNextPage && (
        <button type="button" className="btn btn-small" onClick={() => list.fetchNextPage()} disabled={list.isFetchingNextPage}>
          Show more
        </button>
      )}
    </section>
  );
}

export function RelatedLists({ object, id, related }: { object: string; id: number; related: Relation[] }) {
  return (
    <div className="related-lists">
      {related.map((r) => (
        <RelatedList key={r.name} object={object} id={id} relation={r} />
      ))}
    </div>
  );
}
