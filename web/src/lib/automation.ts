/** Types and queries of the automation API: workflows, their runs, webhook subscriptions, background jobs,
 * notification preferences. */
import { api, qs } from "./api";

export interface CatalogEntry {
  type: string;
  label: string;
  options: Record<string, string>; // option name -> help
  needs_object?: boolean;
  external?: boolean;
}

export interface Catalog {
  triggers: CatalogEntry[];
  actions: CatalogEntry[];
}

export type ActionDef = Record<string, unknown> & { type: string };
export type TriggerDef = Record<string, unknown> & { type: string };

export interface Workflow {
  id: number;
  version: number;
  enabled: boolean;
  description: string | null;
  name: string;
  object_name: string | null;
  trigger: TriggerDef;
  conditions: unknown;
  actions: ActionDef[];
  max_runs_per_minute: number;
  created_at: string;
  updated_at: string | null;
  created_by_id: number | null;
  hook_url?: string;
  /** In the list only: the latest run, or null when it never ran. */
  last_run?: { id: number; status: string; created_at: string; error: string | null } | null;
}

export interface WorkflowVersion {
  version: number;
  definition: Omit<Workflow, "id" | "version" | "enabled" | "description" | "created_at" | "updated_at" | "created_by_id">;
  created_at: string;
  created_by_id: number | null;
}

export interface RunStep {
  path: string;
  action: string;
  status: string;
  attempts: number;
  output: unknown;
  error: string | null;
  at: string | null;
}

export interface WorkflowRun {
  id: number;
  workflow_id: number;
  workflow_version: number;
  status: string;
  trigger_type: string;
  event_id: number | null;
  object_name: string | null;
  record_id: number | null;
  depth: number;
  error: string | null;
  created_at: string;
  finished_at: string | null;
  steps?: RunStep[];
}

export interface RunPage {
  items: WorkflowRun[];
  next_before: number | null;
}

export interface DryRun {
  workflow_id: number;
  record_id: number | null;
  conditions_hold: boolean;
  actions: { path: string; type: string; would: unknown }[];
}

export interface WebhookSub {
  id: number;
  url: string;
  description: string | null;
  event_types: string[];
  enabled: boolean;
  consecutive_failures: number;
  disabled_reason: string | null;
  created_at: string;
  secret?: string;
}

export interface Delivery {
  id: number;
  subscription_id: number;
  event_id: number | null;
  event_type: string;
  status: string;
  attempts: number;
  response_status: number | null;
  response_body: string | null;
  error: string | null;
  duration_ms: number | null;
  created_at: string;
  delivered_at: string | null;
}

export interface JobRun {
  id: number;
  name: string;
  args: unknown;
  kwargs: unknown;
  key: string | null;
  status: string;
  attempts: number;
  max_attempts: number;
  run_at: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  last_error: string | null;
}

export interface NotificationPref {
  kind: string;
  label: string;
  in_app: boolean;
  email: boolean;
}

export const catalogQuery = {
  queryKey: ["workflow-catalog"],
  queryFn: () => api<Catalog>("/api/v1/workflows/catalog"),
  staleTime: 10 * 60_000,
};

export const workflowsQuery = {
  queryKey: ["workflows"],
  queryFn: () => api<{ items: Workflow[] }>("/api/v1/workflows").then((r) => r.items),
};

export function workflowQuery(id: number) {
  return { queryKey: ["workflow", id], queryFn: () => api<Workflow>(`/api/v1/workflows/${id}`) };
}

export function runsQuery(id: number, status: string, before: number | null = null, limit = 50) {
  return {
    queryKey: ["workflow-runs", id, status, before, limit],
    queryFn: () => api<RunPage>(`/api/v1/workflows/${id}/runs${qs({ status, before, limit })}`),
  };
}

export const webhooksQuery = {
  queryKey: ["webhooks"],
  queryFn: () => api<{ items: WebhookSub[] }>("/api/v1/webhooks").then((r) => r.items),
};

export const JOB_STATUSES = ["queued", "running", "succeeded", "dead", "cancelled"];
export const RUN_STATUSES = ["queued", "running", "waiting", "succeeded", "failed", "skipped"];

/** The tone of a status pill. */
export function statusTone(status: string): "ok" | "bad" | "warn" | "neutral" {
  if (["succeeded", "delivered", "done", "validated", "merged"].includes(status)) return "ok";
  if (["failed", "dead", "error", "rate_limited"].includes(status)) return "bad";
  if (["queued", "running", "waiting", "pending", "validating", "retrying"].includes(status)) return "warn";
  return "neutral";
}

/** Where a problem+json field path points: `actions[1].values.job_title` -> the same string, normalised
 * so `actions.1.x` and `actions[1].x` compare equal. */
export function normPath(path: string): string {
  return path.replace(/\.(\d+)(?=\.|$)/g, "[$1]");
}

/** Errors under a path prefix (the prefix itself included). */
export function errorsUnder(errors: Record<string, string>, prefix: string): [string, string][] {
  return Object.entries(errors).filter(([k]) => k === prefix || k.startsWith(`${prefix}.`) || k.startsWith(`${prefix}[`));
}

/** Errors keyed by normalised path. */
export function pathErrors(list: { field: string; message: string }[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of list ?? []) {
    const k = normPath(e.field);
    out[k] = out[k] ? `${out[k]}; ${e.message}` : e.message;
  }
  return out;
}
