import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useRef, useState } from "react";
import { useNavigate } from "react-router";
import { api } from "../lib/api";
import { relativeTime } from "../lib/format";
import type { Notification } from "../lib/types";
import { Icon } from "./Icon";
import { ErrorBanner, useDismiss } from "./ui";

interface Inbox {
  items: Notification[];
  unread: number;
  next_before: number | null;
}

export function Bell() {
  const [open, setOpen] = useState(false);
  const qc = useQueryClient();
  const navigate = useNavigate();
  const panel = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const close = useCallback(() => setOpen(false), []);
  useDismiss(open, close, panel, button);

  const inbox = useQuery({
    queryKey: ["notifications"],
    queryFn: () => api<Inbox>("/api/v1/notifications?limit=20"),
    refetchInterval: 60_000,
    staleTime: 30_000,
  });
  const markAll = useMutation({
    mutationFn: () => api("/api/v1/notifications/read", { method: "POST" }),
    onSettled: () => qc.invalidateQueries({ queryKey: ["notifications"] }),
  });
  const markOne = useMutation({
    mutationFn: (id: number) => api(`/api/v1/notifications/${id}/read`, { method: "POST" }),
    onSettled: () => qc.invalidateQueries({ queryKey: ["notifications"] }),
  });

  const unread = inbox.data?.unread ?? 0;
  return (
    <div className="popover-anchor">
      <button
        ref={button}
        type="button"
        className="icon-btn header-btn"
        aria-label={unread ? `Notifications, ${unread} unread` : "Notifications"}
        aria-expanded={open}
        aria-haspopup="true"
        onClick={() => setOpen((o) => !o)}
      >
        <Icon name="bell" />
        {unread > 0 && (
          <span className="count-badge" aria-hidden="true">
            {unread > 99 ? "99+" : unread}
          </span>
        )}
      </button>
      {open && (
        <div ref={panel} className="popover popover-right notif-panel" role="region" aria-label="Notifications">
          <div className="popover-head">
            <h2>Notifications</h2>
            <button type="button" className="btn btn-small" disabled={!unread || markAll.isPending} onClick={() => markAll.mutate()}>
              Mark all read
            </button>
          </div>
          <ErrorBanner error={inbox.error ?? markAll.error ?? markOne.error} />
          {inbox.data && inbox.data.items.length === 0 && <p className="empty">You are all caught up.</p>}
          <ul className="notif-list">
            {inbox.data?.items.map((n) => (
              <li key={n.id}>
                <button
                  type="button"
                  className={n.read ? "notif" : "notif unread"}
                  onClick={() => {
                    if (!n.read) markOne.mutate(n.id);
                    if (n.object && n.record_id) navigate(`/o/${n.object}/${n.record_id}`);
                    setOpen(false);
                  }}
                >
                  {!n.read && <span className="sr-only">Unread: </span>}
                  <span className="notif-title">{n.title}</span>
                  {n.body && <span className="notif-body">{n.body}</span>}
                  <span className="notif-time">{relativeTime(n.created_at)}</span>
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
