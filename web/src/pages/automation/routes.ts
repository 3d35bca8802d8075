/** The automation, jobs, settings and data-quality screens: one lazily loaded chunk for App.tsx. */
export { WorkflowsPage } from "./Workflows";
export { WorkflowEditorPage } from "./WorkflowEditor";
export { WorkflowRunsPage, WorkflowRunPage } from "./WorkflowRuns";
export { WebhooksPage, WebhookDeliveriesPage } from "./Webhooks";
export { JobsAdminPage } from "../admin/Jobs";
export { NotificationSettingsPage } from "../settings/Notifications";
export { ImportPage } from "../dataquality/Import";
export { DuplicatesPage } from "../dataquality/Duplicates";
