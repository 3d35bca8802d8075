import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { api, ApiError } from "../../lib/api";
import { formatDateTime } from "../../lib/format";
import { useMe, useObjects } from "../../lib/meta";
import { userLabel, usersQuery } from "../../lib/refs";
import type { AdminUser, Role, Team } from "../../lib/types";
import { teamsQuery } from "../../lib/views";
import { Icon } from "../../components/Icon";
import { ErrorBanner, Modal, Spinner } from "../../components/ui";
import { AdminFrame, otherErrors, SelectField, TextField } from "./common";

const rolesQuery = { queryKey: ["roles"], queryFn: () => api<Role[]>("/api/v1/roles"), staleTime: 60_000 };
const ACTIONS = ["read", "create", "edit", "delete", "export"];

function useTitle(t: string) {
  useEffect(() => {
    document.title = `${t} · Sextant`;
  }, [t]);
}

function refreshPeople(qc: ReturnType<typeof useQueryClient>) {
  qc.invalidateQueries({ queryKey: ["users"] });
  qc.invalidateQueries({ queryKey: ["teams"] });
  qc.invalidateQueries({ queryKey: ["roles"] });
  qc.invalidateQueries({ queryKey: ["title", "users"] });
  qc.invalidateQueries({ queryKey: ["me"] });
}

// ---------------------------------------------------------------------------------------------- users

function UserDialog({ user, onClose }: { user: AdminUser | null; onClose: () => void }) {
  const qc = useQueryClient();
  const roles = useQuery(rolesQuery);
  const teams = useQuery(teamsQuery);
  const users = useQuery(usersQuery());
  const me = useMe();
  const editing = user !== null;
  const [fullName, setFullName] = useState(user?.full_name ?? "");
  const [email, setEmail] = useState(user?.email ?? "");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState(user?.role ?? "sales");
  const [team, setTeam] = useState(user?.team_id ? String(user.team_id) : "");
  const [manager, setManager] = useState(user?.manager_id ? String(user.manager_id) : "");
  const [active, setActive] = useState(user?.is_active ?? true);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: () => {
      const body: Record<string, unknown> = { full_name: fullName, email, role, team_id: team ? Number(team) : null, manager_id: manager ? Number(manager) : null };
      if (password) body.password = password;
      if (editing) {
        body.is_active = active;
        return api(`/api/v1/users/${user!.id}`, { method: "PATCH", body });
      }
      return api("/api/v1/users", { method: "POST", body });
    },
    onSuccess: () => {
      refreshPeople(qc);
      onClose();
    },
    onError: (err) => {
      if (err instanceof ApiError) setErrors(err.fieldErrors());
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    save.mutate();
  };
  const shown = ["full_name", "email", "password", "role", "team_id", "manager_id", "is_active"];
  return (
    <Modal open title={editing ? `Edit ${userLabel(user!)}` : "Add a user"} onClose={onClose} wide>
      <form onSubmit={submit} noValidate>
        <ErrorBanner error={otherErrors(errors, shown) ?? (save.isError && !Object.keys(errors).length ? save.error : null)} />
        <div className="form-grid">
          <TextField id="u-name" label="Full name" value={fullName} onChange={setFullName} error={errors.full_name} autoFocus />
          <TextField id="u-email" label="Email" type="email" required value={email} onChange={setEmail} error={errors.email} />
          <TextField
            id="u-password"
            label={editing ? "New password" : "Password"}
            type="password"
            autoComplete="new-password"
            required={!editing}
            value={password}
            onChange={setPassword}
            error={errors.password}
            help={editing ? "Leave empty to keep the current one; a new one signs the user out everywhere." : undefined}
          />
          <SelectField id="u-role" label="Role" value={role} onChange={setRole} error={errors.role} options={(roles.data ?? []).map((r) => ({ value: r.name, label: r.label }))} />
          <SelectField
            id="u-team"
            label="Team"
            value={team}
            onChange={setTeam}
            error={errors.team_id}
            options={[{ value: "", label: "No team" }, ...(teams.data ?? []).map((t) => ({ value: String(t.id), label: t.name }))]}
          />
          <SelectField
            id="u-manager"
            label="Manager"
            value={manager}
            onChange={setManager}
            error={errors.manager_id}
            options={[
              { value: "", label: "No manager" },
              ...(users.data ?? []).filter((u) => u.id !== user?.id && u.is_active).map((u) => ({ value: String(u.id), label: userLabel(u) })),
            ]}
          />
        </div>
        {editing && (
          <label className="check">
            <input type="checkbox" checked={active} disabled={user!.id === me?.user.id} onChange={(e) => setActive(e.target.checked)} /> Active (may sign in)
          </label>
        )}
        {errors.is_active && <p className="field-error">{errors.is_active}</p>}
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={save.isPending}>
            {editing ? "Save user" : "Add user"}
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function UsersAdminPage() {
  useTitle("Users");
  const users = useQuery(usersQuery());
  const teams = useQuery(teamsQuery);
  const roles = useQuery(rolesQuery);
  const [dialog, setDialog] = useState<{ user: AdminUser | null } | null>(null);
  const [q, setQ] = useState("");
  const teamName = (id: number | null) => teams.data?.find((t) => t.id === id)?.name ?? "—";
  const roleLabel = (name: string | null) => roles.data?.find((r) => r.name === name)?.label ?? name ?? "—";
  const byId = new Map((users.data ?? []).map((u) => [u.id, u]));
  const needle = q.trim().toLowerCase();
  const shown = ((users.data ?? []) as AdminUser[]).filter((u) => !needle || `${u.full_name} ${u.email}`.toLowerCase().includes(needle));
  return (
    <AdminFrame
      title="Users"
      actions={
        <button type="button" className="btn btn-primary" onClick={() => setDialog({ user: null })}>
          <Icon name="plus" size={18} /> Add user
        </button>
      }
    >
      <div className="field inline-field">
        <label className="field-label" htmlFor="u-filter">
          Find a user
        </label>
        <input id="u-filter" className="input" type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Name or email" />
      </div>
      <ErrorBanner error={users.error} />
      {users.isLoading && <Spinner />}
      <div className="table-wrap">
        <table className="data-table admin-table">
          <caption className="sr-only">Users</caption>
          <thead>
            <tr>
              <th scope="col" className="col-title">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Team</th>
              <th scope="col">Manager</th>
              <th scope="col">Status</th>
              <th scope="col">Last sign-in</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((u) => (
              <tr key={u.id} className={u.is_active ? undefined : "retired"}>
                <td className="col-title" data-label="Name">
                  <strong>{u.full_name || u.email}</strong>
                </td>
                <td data-label="Email">{u.email}</td>
                <td data-label="Role">{roleLabel(u.role)}</td>
                <td data-label="Team">{teamName(u.team_id)}</td>
                <td data-label="Manager">{u.manager_id ? userLabel(byId.get(u.manager_id) ?? { full_name: null, email: `#${u.manager_id}` }) : "—"}</td>
                <td data-label="Status">{u.is_active ? "Active" : <span className="pill">Deactivated</span>}</td>
                <td data-label="Last sign-in">{u.last_login_at ? formatDateTime(u.last_login_at) : "Never"}</td>
                <td className="row-actions">
                  <button type="button" className="btn btn-small" aria-label={`Edit ${u.full_name || u.email}`} onClick={() => setDialog({ user: u })}>
                    <Icon name="edit" size={16} /> <span aria-hidden="true">Edit</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {dialog && <UserDialog key={dialog.user?.id ?? "new"} user={dialog.user} onClose={() => setDialog(null)} />}
    </AdminFrame>
  );
}

// ---------------------------------------------------------------------------------------------- teams

function TeamDialog({ team, onClose }: { team: Team | null; onClose: () => void }) {
  const qc = useQueryClient();
  const [name, setName] = useState(team?.name ?? "");
  const [description, setDescription] = useState(team?.description ?? "");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: () => {
      const body = { name, description: description || null };
      return team ? api(`/api/v1/teams/${team.id}`, { method: "PATCH", body }) : api("/api/v1/teams", { method: "POST", body });
    },
    onSuccess: () => {
      refreshPeople(qc);
      onClose();
    },
    onError: (err) => {
      if (err instanceof ApiError) setErrors(err.fieldErrors());
    },
  });
  return (
    <Modal open title={team ? `Rename the team ${team.name}` : "Add a team"} onClose={onClose}>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          setErrors({});
          save.mutate();
        }}
      >
        <ErrorBanner error={otherErrors(errors, ["name", "description"]) ?? (save.isError && !Object.keys(errors).length ? save.error : null)} />
        <TextField id="t-name" label="Team name" required autoFocus value={name} onChange={setName} error={errors.name} />
        <TextField id="t-desc" label="Description" value={description} onChange={setDescription} error={errors.description} />
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={save.isPending}>
            {team ? "Save team" : "Add team"}
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function TeamsAdminPage() {
  useTitle("Teams");
  const qc = useQueryClient();
  const teams = useQuery(teamsQuery);
  const users = useQuery(usersQuery());
  const [dialog, setDialog] = useState<{ team: Team | null } | null>(null);
  const [deleting, setDeleting] = useState<Team | null>(null);
  const del = useMutation({
    mutationFn: (t: Team) => api(`/api/v1/teams/${t.id}`, { method: "DELETE" }),
    onSuccess: () => {
      refreshPeople(qc);
      setDeleting(null);
    },
  });
  const members = (id: number) => (users.data ?? []).filter((u) => u.team_id === id);
  return (
    <AdminFrame
      title="Teams"
      actions={
        <button type="button" className="btn btn-primary" onClick={() => setDialog({ team: null })}>
          <Icon name="plus" size={18} /> Add team
        </button>
      }
    >
      <p className="help">Team-mates see each other's records where sharing is private, and the saved views shared with their team.</p>
      <ErrorBanner error={teams.error} />
      {teams.isLoading && <Spinner />}
      <ul className="team-list">
        {(teams.data ?? []).map((t) => {
          const people = members(t.id);
          return (
            <li key={t.id} className="card team-card">
              <div className="team-head">
                <h2>{t.name}</h2>
                <div className="toolbar">
                  <button type="button" className="btn btn-small" aria-label={`Rename ${t.name}`} onClick={() => setDialog({ team: t })}>
                    <Icon name="edit" size={16} /> <span aria-hidden="true">Rename</span>
                  </button>
                  <button type="button" className="btn btn-small btn-danger" aria-label={`Delete ${t.name}`} onClick={() => setDeleting(t)}>
                    <Icon name="trash" size={16} /> <span aria-hidden="true">Delete</span>
                  </button>
                </div>
              </div>
              {t.description && <p className="muted">{t.description}</p>}
              <p className="small">
                {people.length} {people.length === 1 ? "member" : "members"}
                {people.length > 0 && ": "}
                {people.map((u) => userLabel(u)).join(", ")}
              </p>
            </li>
          );
        })}
      </ul>
      {teams.data?.length === 0 && <p className="empty">No teams yet.</p>}
      {dialog && <TeamDialog key={dialog.team?.id ?? "new"} team={dialog.team} onClose={() => setDialog(null)} />}
      <Modal open={!!deleting} title={`Delete the team ${deleting?.name ?? ""}?`} onClose={() => setDeleting(null)}>
        <p>Its members stay, without a team; views shared with it become private to their owners.</p>
        <ErrorBanner error={del.error} />
        <div className="form-actions">
          <button type="button" className="btn" onClick={() => setDeleting(null)}>
            Cancel
          </button>
          <button type="button" className="btn btn-danger" disabled={del.isPending} onClick={() => deleting && del.mutate(deleting)}>
            Delete team
          </button>
        </div>
      </Modal>
    </AdminFrame>
  );
}

// ---------------------------------------------------------------------------------------------- roles

function RoleEditor({ role, onClose }: { role: Role | null; onClose: () => void }) {
  const qc = useQueryClient();
  const objects = useObjects();
  const roles = useQuery(rolesQuery);
  const creating = role === null;
  const [name, setName] = useState("");
  const [label, setLabel] = useState(role?.label ?? "");
  const [perms, setPerms] = useState<Record<string, string[]>>(role?.permissions ?? { "*": ["read"] });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const rows = [{ name: "*", label: "Every other object" }, ...(objects.data ?? []).map((o) => ({ name: o.name, label: o.label }))];
  const save = useMutation({
    mutationFn: () => {
      const body: Record<string, unknown> = { label, permissions: perms };
      if (creating) return api("/api/v1/roles", { method: "POST", body: { ...body, name } });
      return api(`/api/v1/roles/${role!.id}`, { method: "PATCH", body });
    },
    onSuccess: () => {
      refreshPeople(qc);
      onClose();
    },
    onError: (err) => {
      if (err instanceof ApiError) setErrors(err.fieldErrors());
    },
  });
  const toggle = (obj: string, action: string, on: boolean) =>
    setPerms((p) => {
      const cur = p[obj] ?? p["*"] ?? [];
      const next = on ? [...new Set([...cur, action])] : cur.filter((a) => a !== action);
      return { ...p, [obj]: next };
    });
  const inherit = (obj: string, yes: boolean) =>
    setPerms((p) => {
      const next = { ...p };
      if (yes) delete next[obj];
      else next[obj] = [...(p["*"] ?? [])];
      return next;
    });
  const permError = Object.entries(errors)
    .filter(([k]) => k.startsWith("permissions"))
    .map(([k, v]) => `${k}: ${v}`)
    .join("; ");
  return (
    <Modal open title={creating ? "Add a role" : `Edit the role ${role!.label}`} onClose={onClose} wide>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          setErrors({});
          save.mutate();
        }}
      >
        <ErrorBanner error={otherErrors(errors, ["name", "label", "permissions"]) ?? (permError || (save.isError && !Object.keys(errors).length ? save.error : null))} />
        <div className="form-grid">
          {creating && <TextField id="r-name" label="API name" required autoFocus value={name} onChange={setName} error={errors.name} help="Lowercase letters, digits and _, e.g. partner_manager." />}
          <TextField id="r-label" label="Label" required value={label} onChange={setLabel} error={errors.label} />
          {creating && (
            <SelectField
              id="r-copy"
              label="Start from"
              value=""
              onChange={(v) => {
                const src = roles.data?.find((r) => r.name === v);
                if (src) setPerms({ ...src.permissions });
              }}
              options={[{ value: "", label: "Read only" }, ...(roles.data ?? []).filter((r) => !r.is_admin).map((r) => ({ value: r.name, label: `Copy of ${r.label}` }))]}
            />
          )}
        </div>
        <div className="table-wrap perm-wrap">
          <table className="perm-table">
            <caption>What this role may do</caption>
            <thead>
              <tr>
                <th scope="col">Object</th>
                <th scope="col">Own</th>
                {ACTIONS.map((a) => (
                  <th key={a} scope="col">
                    {a[0].toUpperCase() + a.slice(1)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => {
                const own = r.name === "*" || r.name in perms;
                const acts = perms[r.name] ?? perms["*"] ?? [];
                return (
                  <tr key={r.name}>
                    <th scope="row">{r.label}</th>
                    <td>
                      {r.name === "*" ? (
                        <span className="muted small">default</span>
                      ) : (
                        <label className="perm-cell">
                          <input type="checkbox" aria-label={`${r.label}: own rules (else as every other object)`} checked={own} onChange={(e) => inherit(r.name, !e.target.checked)} />
                        </label>
                      )}
                    </td>
                    {ACTIONS.map((a) => (
                      <td key={a}>
                        <label className="perm-cell">
                          <input type="checkbox" aria-label={`${r.label}: ${a}`} checked={acts.includes(a)} disabled={!own} onChange={(e) => toggle(r.name, a, e.target.checked)} />
                        </label>
                      </td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        <p className="help">Field-level security (hidden or read-only fields per role) is set through the API: PATCH /api/v1/roles/&#123;id&#125; with field_access.</p>
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={save.isPending}>
            {creating ? "Add role" : "Save role"}
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function RolesAdminPage() {
  useTitle("Roles");
  const roles = useQuery(rolesQuery);
  const users = useQuery(usersQuery());
  const [dialog, setDialog] = useState<{ role: Role | null } | null>(null);
  const count = (name: string) => (users.data ?? []).filter((u) => u.role === name).length;
  const summary = (r: Role) => {
    if (r.is_admin) return "Everything, on every object";
    const parts = Object.entries(r.permissions).map(([o, a]) => `${o === "*" ? "others" : o}: ${a.length ? a.join(", ") : "nothing"}`);
    return parts.join(" · ") || "Nothing";
  };
  return (
    <AdminFrame
      title="Roles"
      actions={
        <button type="button" className="btn btn-primary" onClick={() => setDialog({ role: null })}>
          <Icon name="plus" size={18} /> Add role
        </button>
      }
    >
      <ErrorBanner error={roles.error} />
      {roles.isLoading && <Spinner />}
      <div className="table-wrap">
        <table className="data-table admin-table">
          <caption className="sr-only">Roles</caption>
          <thead>
            <tr>
              <th scope="col" className="col-title">Role</th>
              <th scope="col">Users</th>
              <th scope="col">Permissions</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(roles.data ?? []).map((r) => (
              <tr key={r.id}>
                <td className="col-title" data-label="Role">
                  <strong>{r.label}</strong> <code className="muted">{r.name}</code>
                </td>
                <td data-label="Users">{count(r.name)}</td>
                <td data-label="Permissions" className="small">
                  {summary(r)}
                </td>
                <td className="row-actions">
                  {!r.is_admin && (
                    <button type="button" className="btn btn-small" aria-label={`Edit ${r.label}`} onClick={() => setDialog({ role: r })}>
                      <Icon name="edit" size={16} /> <span aria-hidden="true">Edit</span>
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {dialog && <RoleEditor key={dialog.role?.id ?? "new"} role={dialog.role} onClose={() => setDialog(null)} />}
    </AdminFrame>
  );
}
