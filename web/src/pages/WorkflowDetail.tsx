// One workflow (/{ws}/workflows/{wf}): status (with the safety banner), the admin's
// disable/enable, version history with each version's definition, and recent runs.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type Run, type Workflow } from '../api';
import { StatusBadge } from '../components/Badge';
import { Json } from '../components/Json';
import { Time } from '../components/Time';
import { showToast } from '../components/Toasts';
import { onLinkClick } from '../router';
import { runPath, useSession, wsPath } from '../session';

const RECENT_RUNS = 10;

export function WorkflowDetail(props: { workflowId: string }) {
  const session = useSession();
  const [workflow, setWorkflow] = useState<Workflow | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [runs, setRuns] = useState<Run[] | null>(null);
  const [busy, setBusy] = useState(false);

  const load = async () => {
    try {
      setWorkflow(await api.getWorkflow(props.workflowId));
      setError(null);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'error', String(err)));
    }
  };

  useEffect(() => {
    void load();
    api.listRuns({ workflow_id: props.workflowId, limit: RECENT_RUNS }).then(
      (p) => setRuns(p.items),
      () => setRuns([]),
    );
  }, []);

  const setStatus = async (status: 'active' | 'disabled') => {
    setBusy(true);
    try {
      setWorkflow(await api.setWorkflowStatus(props.workflowId, status));
      showToast('success', status === 'disabled' ? 'Workflow disabled' : 'Workflow enabled');
      void load();
    } catch (err) {
      showToast(
        'error',
        status === 'disabled' ? 'Failed to disable workflow' : 'Failed to enable workflow',
        err instanceof ApiError ? err.message : String(err),
      );
    } finally {
      setBusy(false);
    }
  };

  const resume = async () => {
    setBusy(true);
    try {
      setWorkflow(await api.resumeWorkflow(props.workflowId));
      showToast('success', 'Workflow resumed');
      void load();
    } catch (err) {
      showToast('error', 'Failed to resume workflow', err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const breadcrumb = (
    <nav aria-label="Breadcrumb" class="breadcrumb">
      <a href={wsPath(session, 'workflows')} onClick={onLinkClick}>
        Workflows
      </a>
      <span aria-hidden="true"> / </span>
      <span aria-current="page">{props.workflowId}</span>
    </nav>
  );
  if (!workflow) {
    return (
      <section class="page">
        {breadcrumb}
        {error ? (
          <>
            <h1>{error.status === 404 ? 'Workflow not found' : 'Could not load the workflow'}</h1>
            <p role="alert">{error.message}</p>
          </>
        ) : (
          <p class="muted">Loading…</p>
        )}
      </section>
    );
  }

  const admin = session.role === 'admin';
  return (
    <section class="page" aria-labelledby="workflow-title">
      {breadcrumb}
      <div class="page__header">
        <div class="run__title">
          <h1 id="workflow-title">{workflow.id}</h1>
          <StatusBadge status={workflow.status} />
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
        <div class="banner banner--paused" role="status">
          <p>
            <strong>Paused for safety:</strong> {workflow.safety.message}
          </p>
          {admin && workflow.safety.reason === 'throughput_cap' && (
            <button type="button" class="button" disabled={busy} onClick={() => void resume()}>
              Resume workflow
            </button>
          )}
          {workflow.safety.reason === 'spend_cap' && (
            <a class="button" href={wsPath(session, 'billing')}>
              Adjust cap
            </a>
          )}
        </div>
      )}
      <section class="card" aria-labelledby="wf-overview-title">
        <h2 id="wf-overview-title">Overview</h2>
        <dl class="meta">
          <div class="meta__row">
            <dt>Kind</dt>
            <dd>{workflow.kind}</dd>
          </div>
          <div class="meta__row">
            <dt>Mode</dt>
            <dd>{workflow.mode ?? 'standard'}</dd>
          </div>
          <div class="meta__row">
            <dt>Current version</dt>
            <dd>{workflow.version}</dd>
          </div>
          <div class="meta__row">
            <dt>Created</dt>
            <dd>
              <Time at={workflow.created_at} />
            </dd>
          </div>
          <div class="meta__row">
            <dt>Updated</dt>
            <dd>
              <Time at={workflow.updated_at} />
            </dd>
          </div>
        </dl>
      </section>
      <RecentRuns runs={runs} workflowId={workflow.id} />
      <Versions workflow={workflow} />
    </section>
  );
}

function RecentRuns(props: { runs: Run[] | null; workflowId: string }) {
  const session = useSession();
  const all = wsPath(session, `monitoring/workflow-runs?workflow_id=${encodeURIComponent(props.workflowId)}`);
  return (
    <section class="card" aria-labelledby="recent-title">
      <h2 id="recent-title">Recent runs</h2>
      {props.runs === null && <p class="muted">Loading…</p>}
      {props.runs?.length === 0 && <p class="muted">No runs yet.</p>}
      {props.runs && props.runs.length > 0 && (
        <ul class="plain-list">
          {props.runs.map((r) => (
            <li key={r.id}>
              <a class="mono" href={runPath(session, r.id)} onClick={onLinkClick}>
                {r.id}
              </a>{' '}
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

// Versions go from 1 to the current one; each definition is fetched when chosen.
function Versions(props: { workflow: Workflow }) {
  const { workflow } = props;
  const [selected, setSelected] = useState(workflow.version);
  const [definition, setDefinition] = useState<unknown>(workflow.definition);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (selected === workflow.version && workflow.definition !== undefined) {
      setDefinition(workflow.definition);
      return;
    }
    setDefinition(undefined);
    api.getWorkflowVersion(workflow.id, selected).then(
      (v) => {
        setDefinition(v.definition);
        setError(null);
      },
      (err) => setError(err instanceof ApiError ? err.message : String(err)),
    );
  }, [selected, workflow.version]);

  const versions = Array.from({ length: workflow.version }, (_, i) => workflow.version - i);
  return (
    <section class="card" aria-labelledby="versions-title">
      <h2 id="versions-title">Definition</h2>
      <div class="field field--inline">
        <label for="version-select">Version</label>
        <select id="version-select" value={selected} onChange={(e) => setSelected(Number((e.target as HTMLSelectElement).value))}>
          {versions.map((v) => (
            <option value={v}>{v === workflow.version ? `${v} (current)` : v}</option>
          ))}
        </select>
      </div>
      {error && <p role="alert">{error}</p>}
      {definition === undefined && !error ? (
        <p class="muted">Loading…</p>
      ) : (
        <Json value={definition} label={`Definition of version ${selected}`} />
      )}
    </section>
  );
}
