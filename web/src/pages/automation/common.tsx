import { useEffect, useState, type ReactNode } from "react";
import { NavLink } from "react-router";
import { useMe } from "../../lib/meta";
import { statusTone } from "../../lib/automation";
import { formatDateTime } from "../../lib/format";
import { Icon } from "../../components/Icon";
import "./automation.css";

export const AUTOMATION_PAGES = [
  { to: "/automation/workflows", label: "Workflows", icon: "flow" },
  { to: "/automation/webhooks", label: "Webhooks", icon: "link" },
  { to: "/admin/jobs", label: "Background jobs", icon: "clock" },
];

export function useTitle(t: string) {
  useEffect(() => {
    document.title = `${t} · Sextant`;
  }, [t]);
}

/** The frame of the automation screens (administrators only: workflows act with system rights). */
export function AutomationFrame({
  title,
  actions,
  children,
  back,
}: {
  title: string;
  actions?: ReactNode;
  children: ReactNode;
  back?: { to: string; label: string };
}) {
  const me = useMe();
  useTitle(title);
  if (me && !me.is_admin) {
    return (
      <div className="page not-found">
        <h1>Administrators only</h1>
        <p>Ask an administrator of your Sextant to manage workflows, webhooks and background jobs.</p>
      </div>
    );
  }
  return (
    <div className="page admin-page auto-page">
      {back && (
        <NavLink to={back.to} className="back-link">
          <Icon name="chevron" size={16} className="flip" /> {back.label}
        </NavLink>
      )}
      <header className="page-head">
        <div>
          <h1>{title}</h1>
        </div>
        <div className="toolbar">{actions}</div>
      </header>
      {!back && (
        <nav className="admin-tabs" aria-label="Automation">
          {AUTOMATION_PAGES.map((p) => (
            <NavLink key={p.to} to={p.to} className="admin-tab">
              <Icon name={p.icon} size={16} /> {p.label}
            </NavLink>
          ))}
        </nav>
      )}
      {children}
    </div>
  );
}

export function StatusPill({ status }: { status: string }) {
  return <span className={`pill status-pill tone-${statusTone(status)}`}>{status.replace(/_/g, " ")}</span>;
}

export function When({ at }: { at: string | null | undefined }) {
  if (!at) return <span className="muted">—</span>;
  return <time dateTime={at}>{formatDateTime(at)}</time>;
}

/** A value from the API shown as JSON text (never as HTML). */
export function Json({ value, label }: { value: unknown; label?: string }) {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return (
    <pre className="json" aria-label={label} tabIndex={0}>
      {text}
    </pre>
  );
}

/** Copy text to the clipboard, saying so for screen readers. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="btn btn-small"
      aria-label={label}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
        } catch {
          // no clipboard permission (plain http): select the text for the user instead
          const el = document.createElement("textarea");
          el.value = text;
          document.body.appendChild(el);
          el.select();
          document.execCommand("copy");
          el.remove();
        }
        setDone(true);
        window.setTimeout(() => setDone(false), 2000);
      }}
    >
      <Icon name={done ? "check" : "copy"} size={16} /> <span aria-hidden="true">{done ? "Copied" : "Copy"}</span>
      <span className="sr-only" role="status">
        {done ? "Copied" : ""}
      </span>
    </button>
  );
}

/** "Load more" for the before-cursor pages of the logs. */
export function LoadMore({ next, onMore, busy }: { next: number | null | undefined; onMore: () => void; busy?: boolean }) {
  if (!next) return null;
  return (
    <div className="load-more">
      <button type="button" className="btn" onClick={onMore} disabled={busy}>
        Load older
      </button>
    </div>
  );
}

/** An on/off switch saved through the API: it moves at once, and goes back if the save fails. */
export function SaveSwitch({ checked, label, onToggle, text }: { checked: boolean; label: string; onToggle: (next: boolean) => Promise<unknown>; text?: [string, string] }) {
  const [pending, setPending] = useState<boolean | null>(null);
  const shown = pending ?? checked;
  return (
    <label className="switch-label">
      <input
        type="checkbox"
        role="switch"
        checked={shown}
        aria-label={label}
        onChange={(e) => {
          const next = e.target.checked;
          setPending(next);
          onToggle(next)
            .catch(() => undefined)
            .finally(() => setPending(null));
        }}
      />
      <span aria-hidden="true">{shown ? (text?.[0] ?? "On") : (text?.[1] ?? "Off")}</span>
    </label>
  );
}
