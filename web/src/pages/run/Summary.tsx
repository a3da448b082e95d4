// The top of a run's page: one sentence on why the run is where it is, the overview of
// its facts, and the child runs it started.
import type { Run } from '../../api';
import { RunStatusBadge } from '../../components/Badge';
import { ErrorText } from '../../components/ErrorText';
import { RunLink, WorkflowLink } from '../../components/Links';
import { MetaList, type MetaRow } from '../../components/MetaList';
import { Time } from '../../components/Time';
import { between, title } from '../../format';
import { WaitSummary } from '../../waits';
import { CHILDREN_LIMIT, type ChildList } from './useRun';

// Why the run is paused, waiting, cancelled or failed; nothing for another status.
export function StateBanner(props: { run: Run }) {
  const { run } = props;
  if (run.status === 'paused' && run.pause) {
    const reauth = run.pause.reason === 'reauth';
    return (
      <p class="banner banner--paused">
        {reauth ? 'Held for reauthorization of a connection. ' : `Paused${run.pause.by ? ` by ${run.pause.by}` : ''}. `}
        No new step starts until the run is resumed.
      </p>
    );
  }
  if (run.status === 'waiting' && run.wait) {
    return (
      <p class="banner banner--waiting">
        Waiting for <WaitSummary wait={run.wait} />.
      </p>
    );
  }
  if (run.status === 'cancelled' && run.cancel) {
    return (
      <p class="banner banner--cancelled">
        Cancelled{run.cancel.by ? ` by ${run.cancel.by}` : ''}: {run.cancel.reason}
      </p>
    );
  }
  if (run.status === 'failed' && run.error) {
    return (
      <p class="banner banner--error">
        Failed{run.error.step_id ? ` at step ${run.error.step_id}` : ''}: <ErrorText error={run.error} />
      </p>
    );
  }
  return null;
}

const TRIGGER_KINDS: Record<string, string> = {
  api: 'API',
  http: 'HTTP trigger',
  replay: 'Replay',
  workflow: 'Workflow step of the parent run',
};

export function Overview(props: { run: Run }) {
  const { run } = props;
  const rows: MetaRow[] = [
    [
      'Workflow',
      <>
        <WorkflowLink id={run.workflow_id} /> <span class="muted">version {run.workflow_version}</span>
      </>,
    ],
    ['Created', <Time at={run.created_at} />],
    ['Started', <Time at={run.started_at} empty="Not started" />],
    ['Finished', <Time at={run.finished_at} empty="Not finished" />],
    ['Duration', between(run.started_at, run.finished_at) ?? '—'],
  ];
  if (run.parent_run_id) {
    rows.push(['Parent run', <RunLink id={run.parent_run_id} />]);
  }
  if (run.trigger) {
    const kind = TRIGGER_KINDS[run.trigger.kind] ?? title(run.trigger.kind);
    rows.push(['Triggered by', `${kind}${run.trigger.actor ? ` (${run.trigger.actor})` : ''}`]);
  }
  if (run.replay_of) {
    rows.push(['Replay of', <RunLink id={run.replay_of} />]);
  }
  if (run.replay_from_step) {
    rows.push(['Replay from step', <span class="mono">{run.replay_from_step}</span>]);
  }
  if (run.pause) {
    rows.push([
      'Pause reason',
      <>
        {run.pause.reason === 'reauth' ? 'Reauthorization needed' : 'Paused by an operator'}
        {run.pause.by && ` (${run.pause.by})`}
        {run.pause.at && (
          <>
            , <Time at={run.pause.at} />
          </>
        )}
      </>,
    ]);
  }
  if (run.wait) {
    rows.push(['Waiting for', <WaitSummary wait={run.wait} />]);
  }
  if (run.cancel) {
    rows.push(['Cancelled by', run.cancel.by ?? '—']);
    rows.push(['Cancellation reason', run.cancel.reason]);
  }
  if (run.error) {
    rows.push(['Error', <ErrorText error={run.error} />]);
  }
  return (
    <section class="card" aria-labelledby="overview-title">
      <h2 id="overview-title">Overview</h2>
      <MetaList rows={rows} />
    </section>
  );
}

// Runs started by this run's `workflow` steps, newest first; nothing when there are none.
export function ChildRuns(props: { list: ChildList }) {
  if (props.list.runs.length === 0) {
    return null;
  }
  return (
    <section class="card" aria-labelledby="children-title">
      <h2 id="children-title">Child runs</h2>
      <ul class="plain-list child-runs">
        {props.list.runs.map((r) => (
          <li key={r.id} data-run-id={r.id}>
            <RunLink id={r.id} />
            <RunStatusBadge run={r} />
            <span class="muted">
              {r.workflow_id} · created <Time at={r.created_at} />
            </span>
          </li>
        ))}
      </ul>
      {props.list.more && <p class="muted">Showing the newest {CHILDREN_LIMIT}.</p>}
    </section>
  );
}
