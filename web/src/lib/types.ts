export type FieldType =
  | "text"
  | "long_text"
  | "number"
  | "currency"
  | "percent"
  | "date"
  | "datetime"
  | "boolean"
  | "single_select"
  | "multi_select"
  | "email"
  | "phone"
  | "url"
  | "reference";

export interface Option {
  value: string;
  label: string;
}

export interface FieldMeta {
  name: string;
  label: string;
  type: FieldType;
  required: boolean;
  unique: boolean;
  options: Option[] | null;
  default: unknown;
  help_text: string;
  max_length: number | null;
  reference: string | null;
  system: boolean;
  custom: boolean;
  searchable: boolean;
  sortable: boolean;
  filterable: boolean;
  section: string;
  readable: boolean;
  writable: boolean;
  operators: string[];
}

export interface Relation {
  name: string;
  object: string;
  label: string;
}

export interface ObjectSummary {
  name: string;
  label: string;
  singular: string;
  icon: string;
  title_fields: string[];
  subtitle_fields: string[];
  default_sort: string[];
  sharing: string;
  searchable: boolean;
  actions: string[];
  related: Relation[];
}

export interface ObjectMeta extends ObjectSummary {
  fields: FieldMeta[];
}

export type Rec = Record<string, unknown> & { id: number; version?: number };

export interface Page<T = Rec> {
  items: T[];
  next_cursor: string | null;
  total: number | null;
}

export interface User {
  id: number;
  email: string;
  full_name: string | null;
  team_id: number | null;
  is_active: boolean;
  role: string | null;
  timezone: string | null;
}

export interface Me {
  user: User;
  role: string;
  is_admin: boolean;
  permissions: Record<string, string[]>;
  field_access: Record<string, Record<string, string>>;
  csrf_token: string | null;
}

export interface SearchHit {
  object: string;
  id: number;
  title: string;
  subtitle: string;
  score: number;
}

export interface Notification {
  id: number;
  kind: string;
  title: string;
  body: string | null;
  object: string | null;
  record_id: number | null;
  created_at: string;
  read: boolean;
}

export interface Stage {
  id: number;
  name: string;
  position: number;
  probability: number;
  kind: "open" | "won" | "lost";
}

export interface Pipeline {
  id: number;
  name: string;
  is_default: boolean;
  position: number;
  archived: boolean;
  stages: Stage[];
}

export interface BoardColumn {
  stage: Stage;
  count: number;
  /** null when the user's role may not see deal amounts (or, for weighted, probabilities) */
  amount: number | null;
  weighted: number | null;
  deals: Rec[];
  next_cursor: string | null;
}

export interface Board {
  pipeline: Pipeline;
  columns: BoardColumn[];
}

export interface MyDay {
  date: string;
  timezone: string;
  overdue: Rec[];
  today: Rec[];
  upcoming: Rec[];
  meetings: Rec[];
  recent: { object: string; id: number; title: string }[];
}

export interface TimelineItem {
  kind: string;
  at: string;
  object?: string;
  id?: number;
  record?: Rec;
  action?: string;
  actor_id?: number | null;
  actor?: string;
  changes?: Record<string, unknown>;
}

export interface HistoryEntry {
  id: number;
  at: string;
  actor_id: number | null;
  actor: string;
  action: string;
  changes: Record<string, unknown>;
}

export interface SavedView {
  id: number;
  object: string;
  name: string;
  owner_id: number;
  owner: string;
  team_id: number | null;
  team: string | null;
  shared: boolean;
  columns: string[];
  sort: string;
  filter: unknown;
  version: number;
  editable: boolean;
  created_at: string;
  updated_at: string;
}

export interface Team {
  id: number;
  name: string;
  description: string | null;
}

export interface Role {
  id: number;
  name: string;
  label: string;
  is_admin: boolean;
  permissions: Record<string, string[]>;
  field_access: Record<string, Record<string, string>>;
}

export interface AdminUser extends User {
  manager_id?: number | null;
  created_at?: string | null;
  last_login_at?: string | null;
}

export interface CustomFieldDef extends FieldMeta {
  id: number;
  retired: boolean;
  retired_at: string | null;
  object: string;
  position: number;
}
