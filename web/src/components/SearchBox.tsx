import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { useNavigate } from "react-router";
import { api, qs } from "../lib/api";
import { useObjects } from "../lib/meta";
import { primeTitles } from "../lib/refs";
import type { SearchHit } from "../lib/types";
import { Combobox, useDebounced, type ComboOption } from "./Combobox";
import { Icon } from "./Icon";

function isTyping(el: Element | null): boolean {
  if (!el) return false;
  const tag = el.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (el as HTMLElement).isContentEditable;
}

/** Global search: "/" or Ctrl+K (⌘K) focuses it; results appear as you type. */
export function SearchBox() {
  const [text, setText] = useState("");
  const q = useDebounced(text.trim(), 120);
  const inputRef = useRef<HTMLInputElement>(null);
  const navigate = useNavigate();
  const objects = useObjects();
  const singular = useMemo(
    () => Object.fromEntries((objects.data ?? []).map((o) => [o.name, o.singular])),
    [objects.data],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const combo = (e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k";
      if (combo || (e.key === "/" && !isTyping(document.activeElement) && !e.ctrlKey && !e.metaKey && !e.altKey)) {
        e.preventDefault();
        inputRef.current?.focus();
        inputRef.current?.select();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  const results = useQuery({
    queryKey: ["search", q],
    enabled: q.length > 0,
    staleTime: 10_000,
    queryFn: async ({ signal }) => {
      const res = await api<{ items: SearchHit[] }>(`/api/v1/search${qs({ q, limit: 12 })}`, { signal });
      const byObject: Record<string, SearchHit[]> = {};
      for (const h of res.items) (byObject[h.object] ??= []).push(h);
      for (const [o, hits] of Object.entries(byObject)) primeTitles(o, hits);
      return res.items;
    },
  });

  const options: ComboOption[] = (q ? (results.data ?? []) : []).map((h) => ({
    key: `${h.object}/${h.id}`,
    label: h.title,
    sublabel: h.subtitle,
    badge: singular[h.object] ?? h.object,
  }));

  return (
    <div className="searchbox" role="search">
      <Combobox
        label="Search everything"
        hideLabel
        inputRef={inputRef}
        text={text}
        onText={setText}
        options={options}
        loading={results.isFetching}
        emptyText={results.isError ? "Search failed" : "Nothing found"}
        placeholder="Search"
        keyShortcuts="/ Control+K"
        suffix={
          <kbd className="kbd-hint" aria-hidden="true">
            /
          </kbd>
        }
        inputClassName="input search-input"
        prefix={<Icon name="search" size={18} className="search-icon" />}
        onPick={(o) => {
          setText("");
          inputRef.current?.blur();
          navigate(`/o/${o.key}`);
        }}
      />
    </div>
  );
}
