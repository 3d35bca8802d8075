import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import { NavLink, useLocation, useNavigate } from "react-router";
import { api, setCsrfToken } from "../lib/api";
import { can, useMe, useObjects } from "../lib/meta";
import { Bell } from "./Bell";
import { Icon } from "./Icon";
import { SearchBox } from "./SearchBox";
import { useDismiss } from "./ui";

function initials(name: string): string {
  return (
    name
      .split(/[\s@.]+/)
      .filter(Boolean)
      .slice(0, 2)
      .map((p) => p[0]!.toUpperCase())
      .join("") || "?"
  );
}

function UserMenu() {
  const me = useMe();
  const [open, setOpen] = useState(false);
  const qc = useQueryClient();
  const navigate = useNavigate();
  const menu = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const close = useCallback(() => setOpen(false), []);
  useDismiss(open, close, menu, button);
  if (!me) return null;
  const name = me.user.full_name || me.user.email;

  const logout = async () => {
    try {
      await api("/api/v1/auth/logout", { method: "POST" });
    } catch {
      // the session may already be gone: signing out locally is what matters
    }
    setCsrfToken(null);
    qc.clear();
    qc.setQueryData(["me"], null);
    navigate("/login", { replace: true });
  };

  return (
    <div className="popover-anchor">
      <button
        ref={button}
        type="button"
        className="avatar-btn"
        aria-label={`Account: ${name}`}
        aria-haspopup="menu"
        aria-expanded={open}
        onClick={() => setOpen((o) => !o)}
      >
        <span className="avatar" aria-hidden="true">
          {initials(name)}
        </span>
      </button>
      {open && (
        <div ref={menu} className="popover popover-right user-menu">
          <div className="user-card">
            <strong>{name}</strong>
            <span className="muted">{me.user.email}</span>
            <span className="pill">{me.role}</span>
          </div>
          <div role="menu" aria-label="Account">
            <button
              type="button"
              role="menuitem"
              className="menu-item"
              onClick={() => {
                setOpen(false);
                navigate("/settings/notifications");
              }}
            >
              <Icon name="bell" size={18} /> Notification settings
            </button>
            <button type="button" role="menuitem" className="menu-item" onClick={logout} autoFocus>
              <Icon name="logout" size={18} /> Sign out
            </button>
          </div>
        </div>
      )}
    </div>
  );
}

const ADMIN_LINKS = [
  { to: "/admin/fields", label: "Custom fields", icon: "sliders" },
  { to: "/admin/users", label: "Users", icon: "user" },
  { to: "/admin/teams", label: "Teams", icon: "team" },
  { to: "/admin/roles", label: "Roles", icon: "shield" },
  { to: "/automation/workflows", label: "Workflows", icon: "flow" },
  { to: "/automation/webhooks", label: "Webhooks", icon: "link" },
  { to: "/admin/jobs", label: "Background jobs", icon: "clock" },
];

export function Shell({ children }: { children: ReactNode }) {
  const objects = useObjects();
  const me = useMe();
  const [navOpen, setNavOpen] = useState(false);
  const location = useLocation();
  const deals = objects.data?.find((o) => o.name === "deals");
  const navRef = useRef<HTMLElement>(null);
  const toggleRef = useRef<HTMLButtonElement>(null);
  const closeNav = useCallback(() => setNavOpen(false), []);
  useDismiss(navOpen, closeNav, navRef, toggleRef);

  useEffect(() => setNavOpen(false), [location.pathname]);

  return (
    <div className={navOpen ? "app nav-open" : "app"}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <button
          ref={toggleRef}
          type="button"
          className="icon-btn header-btn nav-toggle"
          aria-label="Menu"
          aria-expanded={navOpen}
          aria-controls="sidenav"
          onClick={() => setNavOpen((o) => !o)}
        >
          <Icon name="menu" />
        </button>
        <NavLink to="/" className="brand" aria-label="Sextant home">
          <span className="brand-mark" aria-hidden="true">
            <Icon name="lead" size={18} />
          </span>
          <span className="brand-name">Sextant</span>
        </NavLink>
        <SearchBox />
        <div className="topbar-actions">
          <Bell />
          <UserMenu />
        </div>
      </header>
      <nav id="sidenav" ref={navRef} className="sidenav" aria-label="Main">
        <ul>
          <li>
            <NavLink to="/" end>
              <Icon name="sun" /> My day
            </NavLink>
          </li>
          {can(deals, "read") && (
            <>
              <li>
                <NavLink to="/dashboard">
                  <Icon name="chart" /> Dashboard
                </NavLink>
              </li>
              <li>
                <NavLink to="/board">
                  <Icon name="board" /> Pipeline
                </NavLink>
              </li>
            </>
          )}
        </ul>
        <h2 className="nav-heading">Records</h2>
        <ul>
          {(objects.data ?? []).map((o) => (
            <li key={o.name}>
              <NavLink to={`/o/${o.name}`}>
                <Icon name={o.icon} /> {o.label}
              </NavLink>
            </li>
          ))}
        </ul>
        <h2 className="nav-heading">Data</h2>
        <ul>
          <li>
            <NavLink to="/data/import">
              <Icon name="upload" /> Import
            </NavLink>
          </li>
          <li>
            <NavLink to="/data/duplicates">
              <Icon name="merge" /> Duplicates
            </NavLink>
          </li>
        </ul>
        {me?.is_admin && (
          <>
            <h2 className="nav-heading">Administration</h2>
            <ul>
              {ADMIN_LINKS.map((l) => (
                <li key={l.to}>
                  <NavLink to={l.to}>
                    <Icon name={l.icon} /> {l.label}
                  </NavLink>
                </li>
              ))}
            </ul>
          </>
        )}
      </nav>
      <div className="scrim" aria-hidden="true" onClick={() => setNavOpen(false)} />
      <main id="main" className="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
