// The server's HTTP API as the UI uses it (the contract is API.md). Requests carry the
// session cookie; every state-changing request sends a JSON body with
// `Content-Type: application/json`, which the server requires for cookie auth.

export type RunStatus =
  | 'pending'
  | 'running'
  | 'paused'
  | 'waiting'
  | 'completed'
  | 'failed'
  | 'cancelled';

export type StepStatus =
  | 'pending'
  | 'running'
  | 'waiting'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'skipped';

export type RunAction = 'pause' | 'resume' | 'cancel';
export type Role = 'viewer' | 'operator' | 'admin' | 'agent';
export type BulkAction = 'pause' | 'resume' | 'cancel' | 'replay';

export const TERMINAL_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cancelled'];

// The statuses a run leaves without anyone acting on it (a `waiting` run wakes when its
// timer, event, child or agent comes): pages showing such a run poll it.
export const MOVING_STATUSES: readonly RunStatus[] = ['pending', 'running', 'waiting'];

// A bulk operation's filter: the run list's parameters (docs/bulk.md), `run_ids` (the
// runs themselves, up to 500) as an array.
export type BulkFilter = Record<string, string> | { run_ids: string[] };

export interface BulkPreview {
  count: number;
  sample: string[];
}

// A bulk operation: one control applied to the runs a filter matched when it started.
export interface Operation {
  id: string;
  status: 'running' | 'completed';
  action: BulkAction;
  filter: Record<string, unknown>;
  reason: string | null;
  actor: string;
  total: number;
  done: number;
  skipped: number;
  failed: number;
  created_at: string;
  finished_at: string | null;
}

export interface Session {
  workspace: { id: string; slug: string };
  role: Role;
  token_name: string;
}

export interface RunError {
  message: string;
  step_id?: string;
  code?: string;
}

// One finished attempt of a step (a step with a retry policy may have several).
export interface StepAttempt {
  attempt: number;
  started_at?: string | null;
  finished_at?: string | null;
  duration_ms?: number | null;
  error?: RunError | null;
  child_run_id?: string | null;
  task_id?: string | null;
  agent_id?: string | null;
}

export interface Step {
  id: string;
  path?: string;
  type: string;
  status: StepStatus;
  attempt: number;
  started_at?: string | null;
  finished_at?: string | null;
  output?: unknown;
  error?: RunError | null;
  result_discarded?: boolean;
  // Carried over by a rerun from a step: the earlier run's output, not executed here.
  copied?: boolean;
  // Earlier attempts, oldest first.
  attempts?: StepAttempt[];
  // A `workflow` step's child run (of the current attempt).
  child_run_id?: string | null;
  // An `agent_task` step's task.
  task_id?: string | null;
}

// What a waiting run waits for (`run.wait`), one shape per `kind`. Every wait names the
// step that waits (`step_id`) and, when the wait ends by itself, `until`. How each kind
// is shown is in waits.tsx; a new kind is a member here and an entry there.
interface WaitOn<K extends string> {
  kind: K;
  step_id: string;
  until?: string | null;
}

// A failed attempt waiting out its back-off before `attempt` (the next one).
export interface BackOff {
  attempt: number;
  max_attempts?: number;
  next_attempt_at: string;
  last_error: RunError;
}

// A `sleep` or `sleep_until` step.
export interface TimerWait extends WaitOn<'timer'> {
  until: string;
}

// A `wait_for_event` step; `until` is null without a timeout.
export interface EventWait extends WaitOn<'event'> {
  event_type: string;
  until: string | null;
}

// A step's retry policy between attempts; `until` is `next_attempt_at`.
export interface RetryWait extends WaitOn<'retry'>, BackOff {
  max_attempts: number;
  until: string;
}

// A `workflow` step's child run; `until` is the step's timeout (null without one).
export interface ChildWait extends WaitOn<'child'> {
  child_run_id: string;
  workflow_id: string;
  until: string | null;
}

// An `agent_task` step's task, for an agent to claim on `queue`; while a failed attempt
// backs off it also has the back-off's fields.
export interface AgentWait extends WaitOn<'agent'>, Partial<BackOff> {
  queue: string;
  task_id: string;
  until: string | null;
}

// An `approval` step, until the approval is decided or expires (`until`).
export interface ApprovalWait extends WaitOn<'approval'> {
  approval_id: string;
  until: string | null;
}

// A `form` step, until its form is submitted or expires (`until`, null without one).
export interface FormWait extends WaitOn<'form'> {
  form_id: string;
  until: string | null;
}

// A `mode: agent` run held before a step that uses a connection in `error`; it wakes by
// itself once the connection is reconnected (`until` is always null).
export interface ReauthWait extends WaitOn<'reauth'> {
  connection_id: string;
  path?: string;
  until: null;
}

export type RunWait =
  | TimerWait
  | EventWait
  | RetryWait
  | ChildWait
  | AgentWait
  | ApprovalWait
  | FormWait
  | ReauthWait;
export type WaitKind = RunWait['kind'];

export interface Run {
  id: string;
  workflow_id: string;
  workflow_version: number;
  status: RunStatus;
  version: number;
  allowed_actions: RunAction[];
  pause: { reason: 'operator' | 'reauth'; connection_id?: string; by?: string; at?: string } | null;
  wait: RunWait | null;
  cancel: { reason: string; by?: string; at?: string } | null;
  input?: unknown;
  output?: unknown;
  error: RunError | null;
  trigger?: { kind: string; actor?: string; parent_run_id?: string } | null;
  replay_of?: string | null;
  // The step path a rerun started from (its earlier steps are copied).
  replay_from_step?: string | null;
  // The hold of the run's workflow while it is paused for safety (null otherwise).
  workflow_safety?: WorkflowSafety | null;
  // Set on a child run started by a parent's `workflow` step.
  parent_run_id?: string | null;
  created_at: string;
  started_at?: string | null;
  updated_at?: string | null;
  finished_at?: string | null;
  steps?: Step[];
}

// Why a breaker stopped dispatch for a whole workflow (API.md "Safety breakers and
// spend"): `throughput_cap` is cleared by Resume workflow, `spend_cap` by raising the cap
// or the next billing period.
export interface WorkflowSafety {
  reason: 'throughput_cap' | 'spend_cap';
  message: string;
  tripped_at?: string;
}

export interface Workflow {
  id: string;
  kind: string;
  mode?: string;
  status: 'active' | 'disabled' | 'paused_safety';
  safety: WorkflowSafety | null;
  version: number;
  definition?: unknown;
  created_at?: string;
  updated_at?: string;
}

export type ConnectionStatus = 'active' | 'error';

// OAuth 2.0 credentials runs use (API.md "Connections and reauthorization"); the secrets
// never leave the server. `error` is why the last refresh failed for good.
export interface Connection {
  id: string;
  name: string;
  app: string;
  status: ConnectionStatus;
  error: { message: string; at: string } | null;
  token_url?: string;
  client_id?: string;
  // Null when the connection cannot start the authorization-code flow (Reconnect).
  authorize_url?: string | null;
  scopes?: string[];
  expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface WorkflowVersion {
  workflow_id: string;
  version: number;
  definition: unknown;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';
export type Reversibility = 'safe' | 'recoverable' | 'irreversible';
export type Decision = 'approve' | 'deny';

export interface ApprovalDecision {
  by: string;
  decision: Decision;
  comment?: string | null;
  at: string;
  via: 'api' | 'ui' | 'link';
}

// An `approval` step's request for a decision (API.md "Approvals").
export interface Approval {
  id: string;
  run_id: string;
  step_id: string;
  workflow_id: string;
  message: string;
  status: ApprovalStatus;
  reversibility: Reversibility;
  // Distinct approvers it takes.
  required: number;
  approvers?: unknown;
  on_timeout?: 'deny' | 'proceed' | 'escalate';
  escalated: boolean;
  // Null when it never expires.
  expires_at: string | null;
  decisions: ApprovalDecision[];
  resolution: { status: ApprovalStatus; at: string; reason?: string | null } | null;
  created_at: string;
}

// A `form` step's form; `schema` is a JSON Schema (draft 7).
export interface Form {
  id: string;
  run_id: string;
  step_id: string;
  message: string;
  schema: unknown;
  status: 'open' | 'submitted' | 'closed';
  expires_at?: string | null;
}

// A problem with one value of submitted data; `path` is a JSON Pointer ("/age", "" for
// the whole document).
export interface FieldError {
  path: string;
  message: string;
}

// An in-app notification; `link` is where it leads (a page of this UI, usually).
export interface Notification {
  id: string;
  kind: string;
  title: string;
  body?: string | null;
  link?: string | null;
  created_at: string;
  read_at: string | null;
}

export interface NotificationPage extends Page<Notification> {
  unread_count: number;
}

// The workspace's spend this billing period (a calendar month, UTC) against its cap.
// Amounts are in the currency's main unit, exact to 6 decimals; `spend_cap` null means no
// cap. `near_cap`: the spend reached `soft_threshold` of the cap; `capped`: a dispatch
// was refused at this cap this period. `prices` is the cost of one step attempt by step
// type, with `default` for the others.
export interface Billing {
  spend_cap: number | null;
  currency: string;
  spend: number;
  soft_threshold: number;
  near_cap: boolean;
  capped: boolean;
  period_start: string;
  period_end: string;
  prices: Record<string, number>;
}

// What PUT /api/v1/billing changes; the fields left out are kept. A value that is not a
// number is sent as typed, so the server's check (and its message) is the only one.
export interface BillingUpdate {
  spend_cap?: number | string | null;
  soft_threshold?: number | string;
  currency?: string;
  prices?: Record<string, number | string>;
}

export type ScheduleOverlap = 'skip' | 'allow' | 'cancel_previous';
export type ScheduleCatchUp = 'none' | 'latest' | 'all';

// Starts runs of one workflow at the times `cron` names in `timezone` (API.md
// "Schedules", docs/schedules.md). `next_fire_times` are the next five ticks (empty while
// paused); `last_fired_at` is the scheduled time of the last run it started.
export interface Schedule {
  id: string;
  workflow_id: string;
  cron: string;
  timezone: string;
  input: unknown;
  overlap: ScheduleOverlap;
  catch_up: ScheduleCatchUp;
  max_catch_up: number;
  paused: boolean;
  next_fire_times: string[];
  last_fired_at: string | null;
  last_run_id: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

// The body of POST /api/v1/schedules; a value the form could not read as its type is
// sent as typed, so the server's check (and its message) is the only one.
export interface ScheduleCreate {
  workflow_id: string;
  cron: string;
  timezone: string;
  input: unknown;
  overlap: string;
  catch_up: string;
  max_catch_up?: number | string;
}

// The body of PUT /api/v1/schedules/{id}: the fields it carries replace the stored ones.
export type ScheduleUpdate = Partial<Omit<ScheduleCreate, 'workflow_id'>>;

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

// A non-2xx answer: `code` and `message` come from the server's error body, and so do
// `errors`, the per-value problems of invalid data (a form's submission).
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors: FieldError[] = [],
    // The one field a 400 names (`"prices.http"`), when it names one.
    readonly field: string | null = null,
  ) {
    super(message);
  }
}

// Any failure as an ApiError (a bug in the page becomes one with code `error`).
export function asApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError(0, 'error', String(err));
}

export function errorMessage(err: unknown): string {
  return asApiError(err).message;
}

// Called when the server answers 401 (the session ended): the app shows the sign-in page.
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  // The sign-in check expects 401 and must not trigger the signed-out handler.
  quiet401?: boolean;
}

async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  let body: string | undefined;
  if (method !== 'GET') {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body ?? {});
  }
  let resp: Response;
  try {
    resp = await fetch(path, { method, headers, body, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network_error', 'The server cannot be reached');
  }
  const text = await resp.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!resp.ok) {
    type ErrorBody = {
      error?: { code?: string; message?: string; errors?: FieldError[]; field?: string };
      errors?: FieldError[];
    };
    const body = data as ErrorBody | null;
    const err = body?.error;
    if (resp.status === 401 && !opts.quiet401) {
      onUnauthorized();
    }
    throw new ApiError(
      resp.status,
      err?.code ?? 'http_' + resp.status,
      err?.message ?? `The server answered ${resp.status}`,
      // The field errors may sit beside the error object or inside it.
      body?.errors ?? err?.errors ?? [],
      err?.field ?? null,
    );
  }
  return data as T;
}

function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') {
      q.set(key, String(value));
    }
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

const enc = encodeURIComponent;

export const api = {
  getSession: () => request<Session>('GET', '/api/v1/session', { quiet401: true }),
  signIn: (token: string) =>
    request<void>('POST', '/api/v1/session', { body: { token }, quiet401: true }),
  signOut: () => request<void>('DELETE', '/api/v1/session', { quiet401: true }),

  listRuns: (filters: {
    status?: string;
    workflow_id?: string;
    pause_reason?: string;
    wait_kind?: string;
    q?: string;
    parent_run_id?: string;
    run_ids?: string;
    limit?: number;
    cursor?: string;
  }) => request<Page<Run>>('GET', '/api/v1/runs' + query(filters)),
  getRun: (id: string) => request<Run>('GET', `/api/v1/runs/${enc(id)}`),
  // `version` is the run version the page shows: a run that changed since is refused
  // with 409 state_changed instead of acting on a state the operator did not see.
  controlRun: (id: string, action: RunAction, version: number, body: object = {}) =>
    request<Run>('POST', `/api/v1/runs/${enc(id)}/${action}`, {
      body,
      headers: { 'If-Match': `"${version}"` },
    }),
  // `body` is the rerun's ({from_step, input, version, preview}); none: from the start.
  replayRun: (id: string, body?: { from_step?: string }) =>
    request<Run>('POST', `/api/v1/runs/${enc(id)}/replay`, body ? { body } : undefined),
  // Bulk controls: `filter` is the run list's query as an object (docs/bulk.md).
  previewBulk: (filter: BulkFilter, action: BulkAction) =>
    request<BulkPreview>('POST', '/api/v1/runs/bulk', { body: { filter, action, preview: true } }),
  startBulk: (filter: BulkFilter, action: BulkAction, reason: string) =>
    request<{ operation: Operation }>('POST', '/api/v1/runs/bulk', {
      body: reason ? { filter, action, reason } : { filter, action },
    }),
  getOperation: (id: string) => request<{ operation: Operation }>('GET', `/api/v1/operations/${enc(id)}`),

  listWorkflows: () => request<Page<Workflow>>('GET', '/api/v1/workflows?limit=500'),
  getWorkflow: (wf: string) => request<Workflow>('GET', `/api/v1/workflows/${enc(wf)}`),
  getWorkflowVersion: (wf: string, version: number) =>
    request<WorkflowVersion>('GET', `/api/v1/workflows/${enc(wf)}/versions/${version}`),
  setWorkflowStatus: (wf: string, status: 'active' | 'disabled') =>
    request<Workflow>('POST', `/api/v1/workflows/${enc(wf)}/status`, { body: { status } }),
  resumeWorkflow: (wf: string) =>
    request<Workflow>('POST', `/api/v1/workflows/${enc(wf)}/resume`),

  listSchedules: (filters: { workflow_id?: string; limit?: number; cursor?: string }) =>
    request<Page<Schedule>>('GET', '/api/v1/schedules' + query(filters)),
  getSchedule: (id: string) => request<Schedule>('GET', `/api/v1/schedules/${enc(id)}`),
  createSchedule: (body: ScheduleCreate) => request<Schedule>('POST', '/api/v1/schedules', { body }),
  // `version` is the schedule's as the form read it: one that changed since is refused
  // with 409 state_changed instead of overwritten.
  updateSchedule: (id: string, body: ScheduleUpdate, version: number) =>
    request<Schedule>('PUT', `/api/v1/schedules/${enc(id)}`, { body, headers: { 'If-Match': `"${version}"` } }),
  setSchedulePaused: (id: string, paused: boolean) =>
    request<Schedule>('POST', `/api/v1/schedules/${enc(id)}/${paused ? 'pause' : 'resume'}`),
  deleteSchedule: (id: string) => request<void>('DELETE', `/api/v1/schedules/${enc(id)}`),

  listApprovals: (filters: { status?: string; run_id?: string; limit?: number; cursor?: string }) =>
    request<Page<Approval>>('GET', '/api/v1/approvals' + query(filters)),
  decideApproval: (id: string, decision: Decision, comment: string) =>
    request<Approval>('POST', `/api/v1/approvals/${enc(id)}/decision`, {
      body: comment ? { decision, comment } : { decision },
    }),

  getForm: (id: string) => request<Form>('GET', `/api/v1/forms/${enc(id)}`),
  submitForm: (id: string, data: Record<string, unknown>) =>
    request<unknown>('POST', `/api/v1/forms/${enc(id)}/submit`, { body: { data } }),

  listConnections: (filters: { status?: string; limit?: number; cursor?: string }) =>
    request<Page<Connection>>('GET', '/api/v1/connections' + query(filters)),
  getConnection: (id: string) => request<Connection>('GET', `/api/v1/connections/${enc(id)}`),
  refreshConnection: (id: string) => request<Connection>('POST', `/api/v1/connections/${enc(id)}/refresh`),

  listNotifications: (filters: { unread?: boolean; limit?: number }) =>
    request<NotificationPage>('GET', '/api/v1/notifications' + query(filters)),
  readNotification: (id: string) => request<unknown>('POST', `/api/v1/notifications/${enc(id)}/read`),

  getBilling: () => request<Billing>('GET', '/api/v1/billing'),
  updateBilling: (update: BillingUpdate) => request<Billing>('PUT', '/api/v1/billing', { body: update }),
};

// Where Reconnect sends the browser: the server redirects it to the provider's consent
// page (the authorization-code flow), and the provider back to the server's callback,
// which ends on the connection's page with `?reconnected=1`.
export function authorizePath(connectionId: string): string {
  return `/api/v1/connections/${enc(connectionId)}/authorize`;
}

export function canControl(role: Role): boolean {
  return role === 'operator' || role === 'admin';
}

export function isTerminal(status: RunStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function movesByItself(status: RunStatus): boolean {
  return MOVING_STATUSES.includes(status);
}
