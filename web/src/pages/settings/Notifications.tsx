import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../../lib/api";
import type { NotificationPref } from "../../lib/automation";
import { ErrorBanner, Spinner } from "../../components/ui";
import { SaveSwitch, useTitle } from "../automation/common";

const prefsQuery = {
  queryKey: ["notification-prefs"],
  queryFn: () => api<{ items: NotificationPref[] }>("/api/v1/notifications/preferences").then((r) => r.items),
};

/** Which kinds of notification I get, in the app and by email (for every signed-in user). */
export function NotificationSettingsPage() {
  useTitle("Notification settings");
  const qc = useQueryClient();
  const prefs = useQuery(prefsQuery);
  const save = useMutation({
    mutationFn: (change: Record<string, { in_app?: boolean; email?: boolean }>) =>
      api<{ items: NotificationPref[] }>("/api/v1/notifications/preferences", { method: "PATCH", body: change }).then((r) => r.items),
    // the switch moves at once; the server's answer (or a refetch after an error) settles it
    onMutate: (change) =>
      qc.setQueryData<NotificationPref[]>(["notification-prefs"], (old) =>
        old?.map((p) => (change[p.kind] ? { ...p, ...change[p.kind] } : p)),
      ),
    onSuccess: (items) => qc.setQueryData(["notification-prefs"], items),
    onError: () => qc.invalidateQueries({ queryKey: ["notification-prefs"] }),
  });
  return (
    <div className="page auto-page">
      <header className="page-head">
        <div>
          <h1>Notification settings</h1>
          <p className="muted">Choose what reaches you in the app (the bell). Changes save at once.</p>
        </div>
      </header>
      <ErrorBanner error={prefs.error ?? save.error} />
      {prefs.isLoading && <Spinner />}
      {prefs.data && (
        <div className="table-wrap">
          <table className="data-table admin-table prefs-table">
            <caption className="sr-only">Notification preferences</caption>
            <thead>
              <tr>
                <th scope="col" className="col-title">Kind</th>
                <th scope="col">In the app</th>
                <th scope="col">By email</th>
              </tr>
            </thead>
            <tbody>
              {prefs.data.map((p) => (
                <tr key={p.kind}>
                  <td className="col-title" data-label="Kind">
                    <strong>{p.label}</strong>
                  </td>
                  {(["in_app", "email"] as const).map((ch) => (
                    <td key={ch} data-label={ch === "in_app" ? "In the app" : "By email"}>
                      <SaveSwitch
                        checked={p[ch]}
                        label={`${p.label}: ${ch === "in_app" ? "in the app" : "by email"}`}
                        onToggle={(next) => save.mutateAsync({ [p.kind]: { [ch]: next } })}
                      />
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="help">A kind turned off in the app is not created at all. “By email” is kept for the email digests, which are not sent yet.</p>
    </div>
  );
}
