import { useQuery, useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useEffect } from "react";
import { Navigate, Route, Routes, useLocation } from "react-router";
import { ApiError, setCsrfToken, setUnauthorizedHandler } from "./lib/api";
import { meQuery } from "./lib/meta";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { Shell } from "./components/Shell";
import { Spinner } from "./components/ui";
import { LoginPage } from "./pages/Login";
import { MyDayPage } from "./pages/MyDay";
import { NotFound } from "./pages/NotFound";

// Pages beyond the home page load on first use: the first screen needs less script.
const loadList = () => import("./pages/ListPage");
const loadRecord = () => import("./pages/RecordPage");
const loadBoard = () => import("./pages/Board");
const ListPage = lazy(() => loadList().then((m) => ({ default: m.ListPage })));
const RecordPage = lazy(() => loadRecord().then((m) => ({ default: m.RecordPage })));
const BoardPage = lazy(() => loadBoard().then((m) => ({ default: m.BoardPage })));
const DashboardPage = lazy(() => import("./pages/Dashboard").then((m) => ({ default: m.DashboardPage })));
// The page being opened loads its code beside the sign-in check, not after it.
const opening = window.location.pathname;
if (opening === "/board") void loadBoard();
else if (/^\/o\/[^/]+\/?$/.test(opening)) void loadList();
else if (/^\/o\/[^/]+\/\d+/.test(opening)) void loadRecord();
const FieldsAdminPage = lazy(() => import("./pages/admin/Fields").then((m) => ({ default: m.FieldsAdminPage })));
const UsersAdminPage = lazy(() => import("./pages/admin/People").then((m) => ({ default: m.UsersAdminPage })));
const TeamsAdminPage = lazy(() => import("./pages/admin/People").then((m) => ({ default: m.TeamsAdminPage })));
const RolesAdminPage = lazy(() => import("./pages/admin/People").then((m) => ({ default: m.RolesAdminPage })));
const auto = () => import("./pages/automation/routes");
const WorkflowsPage = lazy(() => auto().then((m) => ({ default: m.WorkflowsPage })));
const WorkflowEditorPage = lazy(() => auto().then((m) => ({ default: m.WorkflowEditorPage })));
const WorkflowRunsPage = lazy(() => auto().then((m) => ({ default: m.WorkflowRunsPage })));
const WorkflowRunPage = lazy(() => auto().then((m) => ({ default: m.WorkflowRunPage })));
const WebhooksPage = lazy(() => auto().then((m) => ({ default: m.WebhooksPage })));
const WebhookDeliveriesPage = lazy(() => auto().then((m) => ({ default: m.WebhookDeliveriesPage })));
const JobsAdminPage = lazy(() => auto().then((m) => ({ default: m.JobsAdminPage })));
const NotificationSettingsPage = lazy(() => auto().then((m) => ({ default: m.NotificationSettingsPage })));
const ImportPage = lazy(() => auto().then((m) => ({ default: m.ImportPage })));
const DuplicatesPage = lazy(() => auto().then((m) => ({ default: m.DuplicatesPage })));

function Authenticated() {
  const location = useLocation();
  return (
    <Shell>
      <ErrorBoundary resetKey={location.pathname}>
        <Suspense fallback={<Spinner />}>
          <Routes>
            <Route path="/" element={<MyDayPage />} />
            <Route path="/board" element={<BoardPage />} />
            <Route path="/dashboard" element={<DashboardPage />} />
            <Route path="/o/:object" element={<ListPage />} />
            <Route path="/o/:object/:id" element={<RecordPage />} />
            <Route path="/admin" element={<Navigate to="/admin/fields" replace />} />
            <Route path="/admin/fields" element={<FieldsAdminPage />} />
            <Route path="/admin/fields/:object" element={<FieldsAdminPage />} />
            <Route path="/admin/users" element={<UsersAdminPage />} />
            <Route path="/admin/teams" element={<TeamsAdminPage />} />
            <Route path="/admin/roles" element={<RolesAdminPage />} />
            <Route path="/admin/jobs" element={<JobsAdminPage />} />
            <Route path="/automation" element={<Navigate to="/automation/workflows" replace />} />
            <Route path="/automation/workflows" element={<WorkflowsPage />} />
            <Route path="/automation/workflows/:id" element={<WorkflowEditorPage />} />
            <Route path="/automation/workflows/:id/runs" element={<WorkflowRunsPage />} />
            <Route path="/automation/runs/:runId" element={<WorkflowRunPage />} />
            <Route path="/automation/webhooks" element={<WebhooksPage />} />
            <Route path="/automation/webhooks/:id" element={<WebhookDeliveriesPage />} />
            <Route path="/settings/notifications" element={<NotificationSettingsPage />} />
            <Route path="/data/import" element={<ImportPage />} />
            <Route path="/data/import/:id" element={<ImportPage />} />
            <Route path="/data/duplicates" element={<DuplicatesPage />} />
            <Route path="/login" element={<Navigate to="/" replace />} />
            <Route path="*" element={<NotFound />} />
          </Routes>
        </Suspense>
      </ErrorBoundary>
    </Shell>
  );
}

export function App() {
  const qc = useQueryClient();
  const location = useLocation();
  const me = useQuery({ ...meQuery, retry: false });

  useEffect(() => {
    // Any 401 (session expired, signed out elsewhere): back to the sign-in page.
    setUnauthorizedHandler(() => qc.setQueryData(["me"], null));
  }, [qc]);
  useEffect(() => {
    if (me.data) setCsrfToken(me.data.csrf_token);
  }, [me.data]);

  if (me.isLoading) return <Spinner label="Starting Sextant" />;
  const signedOut = !me.data && (me.data === null || (me.error instanceof ApiError && me.error.status === 401));
  if (signedOut || (!me.data && me.isError)) {
    if (location.pathname === "/login") return <LoginPage />;
    const next = location.pathname + location.search;
    return <Navigate to={next === "/" ? "/login" : `/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return <Authenticated />;
}
