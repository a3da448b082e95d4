// One workflow (/{ws}/workflows/{wf}): status (with the safety banner), the admin's
// disable/enable, version history with each version's definition, and recent runs.
import { useState } from 'preact/hooks';
import { api, errorMessage, type Run, type Schedule, type Workflow } from '../api';
import { StatusBadge, WorkflowStatusBadge } from '../components/Badge';
import { Breadcrumb } from '../components/Breadcrumb';
import { Json } from '../components/Json';
import { RunLink } from '../components/Links';
import { PageLoadState } from '../components/LoadState';
import { MetaList } from '../components/MetaList';
import { SafetyBanner } from '../components/SafetyBanner';
import { Time } from '../components/Time';
import { showToast } from '../components/Toasts';
import { useResource } from '../resource';
import { onLinkClick } from '../router';
import { schedulePath, schedulesPath, workflowSchedules } from '../schedules';
import { useSession, wsPath } from '../session';
import { FireTime, ScheduleStateBadge } from './schedules/ScheduleParts';

const RECENT_RUNS = 10;

export function WorkflowDetail(props: { workflowId: string }) {
  const { workflowId } = props;
  const session = useSession();
  const resource = useResource(() => api.getWorkflow(workflowId), [workflowId]);
  const runs = useResource(() => api.listRuns({ workflow_id: workflowId, limit: RECENT_RUNS }), [workflowId]);
  const schedules = useResource(() => workflowSchedules(workflowId), [workflowId]);
  const [busy, setBusy] = useState(false);

  // An admin's change: the workflow as the server answered, then reloaded.
  const change = async (request: () => Promise<Workflow>, done: string, failed: string) => {
    setBusy(true);
    try {
      const updated = await request();
      resource.set(() => updated);
      showToast('success', done);
      void resource.reload();
    } catch (err) {
      showToast('error', failed, errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const setStatus = (status: 'active' | 'disabled') =>
    change(
      () => api.setWorkflowStatus(workflowId, status),
      status === 'disabled' ? 'Workflow disabled' : 'Workflow enabled',
      status === 'disabled' ? 'Failed to disable workflow' : 'Failed to enable workflow',
    );

  const breadcrumb = (
    <Breadcrumb listPath={wsPath(session, 'workflows')} listName="Workflows">
      <span aria-current="page">{workflowId}</span>
    </Breadcrumb>
  );
  const workflow = resource.data;
  if (!workflow) {
    return <PageLoadState noun="workflow" error={resource.error} breadcrumb={breadcrumb} />;
  }

  const admin = session.role === 'admin';
  return (
    <section class="page" aria-labelledby="workflow-title">
      {breadcrumb}
      <div class="page__header">
        <div class="run__title">
          <h1 id="workflow-title">{workflow.id}</h1>
          <WorkflowStatusBadge workflow={workflow} />
        </div>
        {admin && (
          <div class="actions" role="group" aria-label="Workflow actions">
            {workflow.status === 'disabled' ? (
              <button type="button" class="button button--primary" disabled={busy} onClick={() => void setStatus('active')}>
                Enable
              </button>
            ) : (
              <button type="button" class="button" disabled={busy} onClick={() => void setStatus('disabled')}>
                Disable
              </button>
            )}
          </div>
        )}
      </div>
      {workflow.status === 'disabled' && <p class="banner banner--cancelled">Disabled: new runs are refused.</p>}
      {workflow.status === 'paused_safety' && workflow.safety && (
        <SafetyBanner
          workflowId={workflow.id}
          safety={workflow.safety}
          onResumed={(updated) => {
            resource.set(() => updated);
            void resource.reload();
          }}
        />
      )}
      <section class="card" aria-labelledby="wf-overview-title">
        <h2 id="wf-overview-title">Overview</h2>
        <MetaList
          rows={[
            ['Kind', workflow.kind],
            ['Mode', workflow.mode ?? 'standard'],
            ['Current version', workflow.version],
            ['Created', <Time at={workflow.created_at} />],
            ['Updated', <Time at={workflow.updated_at} />],
          ]}
        />
      </section>
      <RecentRuns runs={runs.error ? [] : runs.data?.items} workflowId={workflow.id} />
      {workflow.kind !== 'script' && (
        <Schedules schedules={schedules.data} error={schedules.error?.message ?? null} workflowId={workflow.id} />
      )}
      <Versions workflow={workflow} />
    </section>
  );
}

// The newest runs; none when they cannot be loaded.
function RecentRuns(props: { runs: Run[] | undefined; workflowId: string }) {
  const session = useSession();
  const all = wsPath(session, `monitoring/workflow-runs?workflow_id=${encodeURIComponent(props.workflowId)}`);
  return (
    <section class="card" aria-labelledby="recent-title">
      <h2 id="recent-title">Recent runs</h2>
      {props.runs === undefined && <p class="muted">Loading…</p>}
      {props.runs?.length === 0 && <p class="muted">No runs yet.</p>}
      {props.runs && props.runs.length > 0 && (
        <ul class="plain-list">
          {props.runs.map((r) => (
            <li key={r.id}>
              <RunLink id={r.id} />{' '}
              <StatusBadge status={r.status} /> <Time at={r.created_at} />
            </li>
          ))}
        </ul>
      )}
      <p>
        <a href={all} onClick={onLinkClick}>
          All runs of this workflow
        </a>
      </p>
    </section>
  );
}

// The schedules that start runs of this workflow, each with its next fire time; an admin
// gets New schedule (the schedules page's form with this workflow chosen).
function Schedules(props: { schedules: Schedule[] | undefined; error: string | null; workflowId: string }) {
  const session = useSession();
  const { schedules } = props;
  return (
    <section class="card" aria-labelledby="wf-schedules-title">
      <h2 id="wf-schedules-title">Schedules</h2>
      {props.error && <p role="alert">Could not load the schedules: {props.error}</p>}
      {schedules === undefined && !props.error && <p class="muted">Loading…</p>}
      {schedules?.length === 0 && <p class="muted">No schedules start this workflow.</p>}
      {schedules && schedules.length > 0 && (
        <ul class="plain-list">
          {schedules.map((s) => (
            <li key={s.id} data-schedule-id={s.id}>
              <a href={schedulePath(session, s.id)} onClick={onLinkClick}>
                <code>{s.cron}</code> {s.timezone}
              </a>{' '}
              <ScheduleStateBadge schedule={s} />{' '}
              {s.next_fire_times.length > 0 && (
                <span>
                  next <FireTime at={s.next_fire_times[0]} timezone={s.timezone} />
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
      <p class="actions actions--links">
        <a href={schedulesPath(session)} onClick={onLinkClick}>
          All schedules
        </a>
        {session.role === 'admin' && (
          <a
            class="button"
            href={`${schedulesPath(session)}?new=${encodeURIComponent(props.workflowId)}`}
            onClick={onLinkClick}
          >
            New schedule
          </a>
        )}
      </p>
    </section>
  );
}

// Versions go from 1 to the current one; each definition is fetched when chosen (the
// current one comes with the workflow).
function Versions(props: { workflow: Workflow }) {
  const { workflow } = props;
  const [selected, setSelected] = useState(workflow.version);
  const current = selected === workflow.version && workflow.definition !== undefined;
  const fetched = useResource(
    async () => (current ? undefined : (await api.getWorkflowVersion(workflow.id, selected)).definition),
    [current, workflow.id, selected],
    { resetOnChange: true },
  );
  const definition = current ? workflow.definition : fetched.data;

  const versions = Array.from({ length: workflow.version }, (_, i) => workflow.version - i);
  return (
    <section class="card" aria-labelledby="versions-title">
      <h2 id="versions-title">Definition</h2>
      <div class="field field--inline">
        <label for="version-select">Version</label>
        <select id="version-select" value={selected} onChange={(e) => setSelected(Number((e.target as HTMLSelectElement).value))}>
          {versions.map((v) => (
            <option value={v} key={v}>
              {v === workflow.version ? `${v} (current)` : v}
            </option>
          ))}
        </select>
      </div>
      {fetched.error && <p role="alert">{fetched.error.message}</p>}
      {definition === undefined && !fetched.error ? (
        <p class="muted">Loading…</p>
      ) : (
        <Json value={definition} label={`Definition of version ${selected}`} />
      )}
    </section>
  );
}
