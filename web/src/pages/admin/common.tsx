import type { ReactNode } from "react";
import { NavLink } from "react-router";
import { useMe } from "../../lib/meta";
import { Icon } from "../../components/Icon";

export const ADMIN_PAGES = [
  { to: "/admin/fields", label: "Custom fields", icon: "sliders" },
  { to: "/admin/users", label: "Users", icon: "user" },
  { to: "/admin/teams", label: "Teams", icon: "team" },
  { to: "/admin/roles", label: "Roles", icon: "shield" },
];

/** The frame of every admin screen: a heading, the admin sub-navigation, and a refusal for non-admins (the API
 * refuses them anyway; this only says so plainly). */
export function AdminFrame({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  const me = useMe();
  if (me && !me.is_admin) {
    return (
      <div className="page not-found">
        <h1>Administrators only</h1>
        <p>Ask an administrator of your Sextant to change fields, users, teams or roles.</p>
      </div>
    );
  }
  return (
    <div className="page admin-page">
      <header className="page-head">
        <div>
          <h1>{title}</h1>
        </div>
        <div className="toolbar">{actions}</div>
      </header>
      <nav className="admin-tabs" aria-label="Administration">
        {ADMIN_PAGES.map((p) => (
          <NavLink key={p.to} to={p.to} className="admin-tab">
            <Icon name={p.icon} size={16} /> {p.label}
          </NavLink>
        ))}
      </nav>
      {children}
    </div>
  );
}

/** A labelled input with the server's message for it. */
export function TextField({
  id,
  label,
  value,
  onChange,
  error,
  type = "text",
  required,
  help,
  autoFocus,
  readOnly,
  autoComplete = "off",
}: {
  id: string;
  label: string;
  value: string;
  onChange: (v: string) => void;
  error?: string;
  type?: string;
  required?: boolean;
  help?: string;
  autoFocus?: boolean;
  readOnly?: boolean;
  autoComplete?: string;
}) {
  const describedBy = [help ? `${id}-help` : "", error ? `${id}-err` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field ${error ? "has-error" : ""}`}>
      <label className="field-label" htmlFor={id}>
        {label}
        {required && <span aria-hidden="true"> *</span>}
      </label>
      <input
        id={id}
        className="input"
        type={type}
        value={value}
        autoFocus={autoFocus}
        readOnly={readOnly}
        autoComplete={autoComplete}
        aria-required={required || undefined}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        onChange={(e) => onChange(e.target.value)}
      />
      {help && (
        <p id={`${id}-help`} className="help">
          {help}
        </p>
      )}
      {error && (
        <p id={`${id}-err`} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

export function SelectField({
  id,
  label,
  value,
  onChange,
  options,
  error,
  help,
}: {
  id: string;
  label: string;
  value: string;
  onChange: (v: string) => void;
  options: { value: string; label: string }[];
  error?: string;
  help?: string;
}) {
  return (
    <div className={`field ${error ? "has-error" : ""}`}>
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      <select
        id={id}
        className="input"
        value={value}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-err` : help ? `${id}-help` : undefined}
        onChange={(e) => onChange(e.target.value)}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {help && (
        <p id={`${id}-help`} className="help">
          {help}
        </p>
      )}
      {error && (
        <p id={`${id}-err`} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

/** Field errors the form does not show, as one line for a banner; null when every error has its field. */
export function otherErrors(errors: Record<string, string>, shown: string[]): string | null {
  const rest = Object.entries(errors).filter(([k]) => !shown.includes(k) && !shown.some((s) => k.startsWith(`${s}[`) || k.startsWith(`${s}.`)));
  return rest.length ? rest.map(([k, v]) => `${k}: ${v}`).join("; ") : null;
}
