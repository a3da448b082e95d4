// Run detail (/{ws}/monitoring/workflow-runs/{runId}): status and the controls the run
// allows for this role, what the run is doing, its input and output, and a timeline of
// its steps (with their earlier attempts), its parent and child runs. While the run is
// pending or running it reloads every 10 s (not while the tab is hidden, never after a
// terminal status).
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  api,
  ApiError,
  canControl,
  isTerminal,
  type Run,
  type RunAction,
  type RunError,
  type RunWait,
  type Step,
  type StepAttempt,
} from '../api';
import { StatusBadge } from '../components/Badge';
import { Dialog } from '../components/Dialog';
import { PauseIcon, PlayIcon, RefreshIcon, ReplayIcon, StopIcon } from '../components/Icons';
import { Json } from '../components/Json';
import { Time } from '../components/Time';
import { showToast } from '../components/Toasts';
import { between, duration, title } from '../format';
import { usePoll } from '../poll';
import { navigate, onLinkClick } from '../router';
import { runPath, useSession, workflowPath, wsPath } from '../session';

const DONE: Record<RunAction, string> = {
  pause: 'Workflow run paused',
  resume: 'Workflow run resumed',
  cancel: 'Workflow run cancelled',
};

const FAILED: Record<RunAction, string> = {
  pause: 'Failed to pause workflow run',
  resume: 'Failed to resume workflow run',
  cancel: 'Failed to cancel workflow run',
};

const STATE_CHANGED = 'State changed; please refresh';

// The child runs listed on a parent's page; more are rare (one per attempt of each
// `workflow` step) and the page says when there are.
const CHILDREN_LIMIT = 100;

// Only a `workflow` step starts a child run, so a run without one has none to list.
function hasWorkflowStep(run: Run): boolean {
  return (run.steps ?? []).some((s) => s.type === 'workflow');
}

async function loadChildren(runId: string): Promise<ChildList> {
  const page = await api.listRuns({ parent_run_id: runId, limit: CHILDREN_LIMIT });
  return { runs: page.items, more: page.next_cursor !== null };
}

interface ChildList {
  runs: Run[];
  more: boolean;
}

export function RunDetail(props: { runId: string }) {
  const session = useSession();
  const [run, setRun] = useState<Run | null>(null);
  // Runs started by this run's `workflow` steps (loaded only when it has one).
  const [children, setChildren] = useState<ChildList>({ runs: [], more: false });
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState<RunAction | 'replay' | 'refresh' | null>(null);
  const [cancelOpen, setCancelOpen] = useState(false);
  // A load is waiting for its answer (aria-busy on the page while it does).
  const [loading, setLoading] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const seq = useRef(0);

  const load = async () => {
    const mine = ++seq.current;
    setLoading(true);
    try {
      const next = await api.getRun(props.runId);
      const kids = hasWorkflowStep(next) ? await loadChildren(next.id) : { runs: [], more: false };
      if (mine === seq.current) {
        setRun(next);
        setChildren(kids);
        setLoadError(null);
      }
    } catch (err) {
      if (mine === seq.current) {
        setLoadError(err instanceof ApiError ? err : new ApiError(0, 'error', String(err)));
      }
    } finally {
      if (mine === seq.current) {
        setLoading(false);
      }
    }
  };

  useEffect(() => {
    void load();
  }, []);
  useEffect(() => {
    document.title = `${props.runId} · Stepwell`;
    return () => {
      document.title = 'Stepwell';
    };
  }, []);

  const active = run !== null && (run.status === 'pending' || run.status === 'running');
  usePoll(load, active);

  const refresh = async () => {
    setBusy('refresh');
    await load();
    setBusy(null);
  };

  const act = async (action: RunAction, body: object = {}) => {
    if (!run) {
      return;
    }
    setBusy(action);
    seq.current++; // a poll already in flight must not overwrite what this answers
    setLoading(false);
    try {
      const updated = await api.controlRun(run.id, action, run.version, body);
      setRun((old) => ({ ...old, ...updated, steps: updated.steps ?? old?.steps }));
      showToast('success', DONE[action]);
      void load();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'state_changed') {
        showToast('error', STATE_CHANGED);
        await load();
      } else {
        showToast('error', FAILED[action], err instanceof ApiError ? err.message : String(err));
      }
    } finally {
      setBusy(null);
    }
  };

  const replay = async () => {
    if (!run) {
      return;
    }
    setBusy('replay');
    try {
      const created = await api.replayRun(run.id);
      showToast('success', 'Workflow run replayed', `New run ${created.id}`);
      navigate(runPath(session, created.id));
    } catch (err) {
      showToast('error', 'Failed to replay workflow run', err instanceof ApiError ? err.message : String(err));
      setBusy(null);
    }
  };

  const runsPath = wsPath(session, 'monitoring/workflow-runs');
  if (!run) {
    return (
      <section class="page">
        <Breadcrumb runsPath={runsPath} runId={props.runId} />
        {loadError ? (
          <>
            <h1>{loadError.status === 404 ? 'Workflow run not found' : 'Could not load the workflow run'}</h1>
            <p role="alert">{loadError.message}</p>
          </>
        ) : (
          <p class="muted">Loading…</p>
        )}
      </section>
    );
  }

  const controls = canControl(session.role);
  const allowed = (a: RunAction) => controls && run.allowed_actions.includes(a);

  return (
    <section class="page run" aria-labelledby="run-title" aria-busy={loading ? 'true' : 'false'}>
      <Breadcrumb runsPath={runsPath} runId={run.id} />
      <div class="page__header">
        <div class="run__title">
          <h1 id="run-title" ref={heading} tabIndex={-1}>
            <span class="visually-hidden">Workflow run </span>
            <span class="mono">{run.id}</span>
          </h1>
          <StatusBadge status={run.status} label={run.pause?.reason === 'reauth' ? 'Paused for reauth' : undefined} />
        </div>
        <div class="actions" role="group" aria-label="Run actions">
          {allowed('pause') && (
            <button type="button" class="button" disabled={busy !== null} onClick={() => void act('pause')}>
              <PauseIcon /> Pause
            </button>
          )}
          {allowed('resume') && (
            <button type="button" class="button button--primary" disabled={busy !== null} onClick={() => void act('resume')}>
              <PlayIcon /> Resume
            </button>
          )}
          {allowed('cancel') && (
            <button type="button" class="button button--danger" disabled={busy !== null} onClick={() => setCancelOpen(true)}>
              <StopIcon /> Cancel
            </button>
          )}
          {controls && isTerminal(run.status) && (
            <button type="button" class="button" disabled={busy !== null} onClick={() => void replay()}>
              <ReplayIcon /> Replay
            </button>
          )}
          <button type="button" class="button button--ghost" disabled={busy !== null} onClick={() => void refresh()}>
            <RefreshIcon /> {busy === 'refresh' ? 'Refreshing…' : 'Refresh'}
          </button>
        </div>
      </div>
      {loadError && (
        <p class="banner banner--error" role="alert">
          Could not refresh: {loadError.message}
        </p>
      )}
      <StateBanner run={run} />
      <Overview run={run} />
      <ChildRuns list={children} />
      <div class="grid-2">
        <section class="card" aria-labelledby="input-title">
          <h2 id="input-title">Trigger payload</h2>
          <Json value={run.input} label="Trigger payload (input) as JSON" />
        </section>
        <section class="card" aria-labelledby="output-title">
          <h2 id="output-title">Output</h2>
          <Json value={run.output} label="Output as JSON" />
        </section>
      </div>
      <Timeline run={run} />
      {cancelOpen && (
        <CancelDialog
          busy={busy === 'cancel'}
          onKeep={() => setCancelOpen(false)}
          onCancel={async (reason) => {
            await act('cancel', reason ? { reason } : {});
            setCancelOpen(false);
            requestAnimationFrame(() => heading.current?.focus());
          }}
        />
      )}
    </section>
  );
}

function Breadcrumb(props: { runsPath: string; runId: string }) {
  return (
    <nav aria-label="Breadcrumb" class="breadcrumb">
      <a href={props.runsPath} onClick={onLinkClick}>
        Workflow runs
      </a>
      <span aria-hidden="true"> / </span>
      <span class="mono" aria-current="page">
        {props.runId}
      </span>
    </nav>
  );
}

// One sentence on why the run is where it is (paused, waiting, cancelled, failed).
function StateBanner(props: { run: Run }) {
  const { run } = props;
  if (run.status === 'paused' && run.pause) {
    const reauth = run.pause.reason === 'reauth';
    return (
      <p class="banner banner--paused">
        {reauth
          ? `Held for reauthorization${run.pause.connection_id ? ` of connection ${run.pause.connection_id}` : ''}. `
          : `Paused${run.pause.by ? ` by ${run.pause.by}` : ''}. `}
        No new step starts until the run is resumed.
      </p>
    );
  }
  if (run.status === 'waiting' && run.wait) {
    return (
      <p class="banner banner--waiting">
        Waiting for <WaitText run={run} />.
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
        Failed{run.error.step_id ? ` at step ${run.error.step_id}` : ''}: {run.error.message}
        {run.error.code && <span class="mono"> ({run.error.code})</span>}
      </p>
    );
  }
  return null;
}

const WAIT_KINDS: Record<string, string> = {
  timer: 'a timer',
  event: 'an event',
  approval: 'an approval',
  form: 'a form to be submitted',
  child: 'a child run',
  agent: 'an agent',
  retry: 'a retry back-off',
  reauth: 'a connection to be reauthorized',
};

// What the run waits for, as the end of "Waiting for …": the banner and the overview.
function WaitText(props: { run: Run }) {
  const wait = props.run.wait!;
  const session = useSession();
  let what: preact.ComponentChildren = WAIT_KINDS[wait.kind] ?? wait.kind;
  if (wait.kind === 'event' && wait.event_type) {
    what = (
      <>
        event <code>{wait.event_type}</code>
      </>
    );
  } else if (wait.kind === 'child' && wait.child_run_id) {
    what = (
      <>
        child run{' '}
        <a class="mono" href={runPath(session, wait.child_run_id)} onClick={onLinkClick}>
          {wait.child_run_id}
        </a>
        {wait.workflow_id && ` of workflow ${wait.workflow_id}`}
      </>
    );
  } else if (wait.kind === 'agent' && wait.queue) {
    what = (
      <>
        an agent on queue <code>{wait.queue}</code>
      </>
    );
  }
  // A retry's `until` is its next attempt, which RetryText says.
  const until = wait.kind === 'retry' && wait.next_attempt_at ? null : wait.until;
  return (
    <>
      {what}
      {wait.step_id && (
        <>
          {' '}
          (step <code>{wait.step_id}</code>)
        </>
      )}
      {until ? (
        <>
          {' '}
          until <Time at={until} />
        </>
      ) : (
        wait.kind === 'event' && ', without a timeout'
      )}
      {hasRetry(wait) && (
        <>
          {': '}
          <RetryText wait={wait} />
        </>
      )}
    </>
  );
}

// A retry back-off, or an agent task backing off after a failed attempt.
function hasRetry(wait: RunWait): boolean {
  return wait.attempt !== undefined && (wait.kind === 'retry' || wait.kind === 'agent');
}

// "Attempt 2 of 3 in 1 hour — last error: exited with code 1 (exit_code)".
function RetryText(props: { wait: RunWait }) {
  const { wait } = props;
  return (
    <>
      Attempt {wait.attempt}
      {wait.max_attempts !== undefined && ` of ${wait.max_attempts}`}
      {wait.next_attempt_at && (
        <>
          {Date.parse(wait.next_attempt_at) > Date.now() ? ' ' : ' due '}
          <Time at={wait.next_attempt_at} />
        </>
      )}
      {wait.last_error && (
        <>
          {' — last error: '}
          <ErrorText error={wait.last_error} />
        </>
      )}
    </>
  );
}

function ErrorText(props: { error: RunError }) {
  return (
    <>
      {props.error.message}
      {props.error.code && <span class="mono"> ({props.error.code})</span>}
    </>
  );
}

// What a waiting step waits for, in the timeline.
function StepWait(props: { run: Run }) {
  const wait = props.run.wait!;
  const session = useSession();
  if (wait.kind === 'retry') {
    return (
      <>
        <RetryText wait={wait} />
        {props.run.status === 'paused' && ' · held while the run is paused'}
      </>
    );
  }
  if (wait.kind === 'child' && wait.child_run_id) {
    return (
      <>
        Waiting for child run{' '}
        <a class="mono" href={runPath(session, wait.child_run_id)} onClick={onLinkClick}>
          {wait.child_run_id}
        </a>
      </>
    );
  }
  if (wait.kind === 'agent') {
    return (
      <>
        Waiting for an agent{wait.queue && <> on queue <code>{wait.queue}</code></>}
        {hasRetry(wait) && (
          <>
            {' · '}
            <RetryText wait={wait} />
          </>
        )}
      </>
    );
  }
  return (
    <>
      Waits for <WaitText run={props.run} />
    </>
  );
}

const TRIGGER_KINDS: Record<string, string> = {
  api: 'API',
  http: 'HTTP trigger',
  replay: 'Replay',
  workflow: 'Workflow step of the parent run',
};

function Overview(props: { run: Run }) {
  const { run } = props;
  const session = useSession();
  const rows: [string, preact.ComponentChildren][] = [
    [
      'Workflow',
      <>
        <a href={workflowPath(session, run.workflow_id)} onClick={onLinkClick}>
          {run.workflow_id}
        </a>{' '}
        <span class="muted">version {run.workflow_version}</span>
      </>,
    ],
    ['Created', <Time at={run.created_at} />],
    ['Started', <Time at={run.started_at} empty="Not started" />],
    ['Finished', <Time at={run.finished_at} empty="Not finished" />],
    ['Duration', between(run.started_at, run.finished_at) ?? '—'],
  ];
  if (run.parent_run_id) {
    rows.push([
      'Parent run',
      <a class="mono" href={runPath(session, run.parent_run_id)} onClick={onLinkClick}>
        {run.parent_run_id}
      </a>,
    ]);
  }
  if (run.trigger) {
    const kind = TRIGGER_KINDS[run.trigger.kind] ?? title(run.trigger.kind);
    rows.push(['Triggered by', `${kind}${run.trigger.actor ? ` (${run.trigger.actor})` : ''}`]);
  }
  if (run.replay_of) {
    rows.push([
      'Replay of',
      <a class="mono" href={runPath(session, run.replay_of)} onClick={onLinkClick}>
        {run.replay_of}
      </a>,
    ]);
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
    rows.push(['Waiting for', <WaitText run={run} />]);
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
      <dl class="meta">
        {rows.map(([term, value]) => (
          <div class="meta__row" key={term}>
            <dt>{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

// Runs started by this run's `workflow` steps, newest first; nothing when there are none.
function ChildRuns(props: { list: ChildList }) {
  const session = useSession();
  if (props.list.runs.length === 0) {
    return null;
  }
  return (
    <section class="card" aria-labelledby="children-title">
      <h2 id="children-title">Child runs</h2>
      <ul class="plain-list child-runs">
        {props.list.runs.map((r) => (
          <li key={r.id} data-run-id={r.id}>
            <a class="mono" href={runPath(session, r.id)} onClick={onLinkClick}>
              {r.id}
            </a>
            <StatusBadge status={r.status} label={r.pause?.reason === 'reauth' ? 'Paused for reauth' : undefined} />
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

function Timeline(props: { run: Run }) {
  const steps = props.run.steps ?? [];
  return (
    <section class="card" aria-labelledby="steps-title">
      <h2 id="steps-title">Steps</h2>
      {steps.length === 0 ? (
        <p class="muted">No steps yet.</p>
      ) : (
        <ol class="timeline">
          {steps.map((s) => (
            <StepItem key={s.path ?? s.id} step={s} run={props.run} />
          ))}
        </ol>
      )}
    </section>
  );
}

function StepItem(props: { step: Step; run: Run }) {
  const { step, run } = props;
  const session = useSession();
  const took = between(step.started_at, step.finished_at);
  const waitsHere = run.wait && run.wait.step_id === step.id && step.status === 'waiting';
  return (
    <li class={`timeline__item timeline__item--${step.status}`} data-step={step.path ?? step.id}>
      <div class="timeline__head">
        <StatusBadge status={step.status} />
        <span class="mono timeline__name">{step.path ?? step.id}</span>
        <span class="muted">{step.type}</span>
        {step.result_discarded && (
          <span class="tag" title="A result arrived after the run had ended; it was not applied.">
            Result discarded
          </span>
        )}
      </div>
      <p class="timeline__meta muted">
        {step.attempt > 0 ? `Attempt ${step.attempt}` : 'Not started'}
        {step.started_at && (
          <>
            {' · started '}
            <Time at={step.started_at} />
          </>
        )}
        {took && ` · ${step.finished_at ? 'took' : 'running for'} ${took}`}
      </p>
      {(step.child_run_id || step.task_id) && (
        <p class="timeline__meta">
          {step.child_run_id && (
            <>
              Child run{' '}
              <a class="mono" href={runPath(session, step.child_run_id)} onClick={onLinkClick}>
                {step.child_run_id}
              </a>
            </>
          )}
          {step.child_run_id && step.task_id && ' · '}
          {step.task_id && (
            <>
              Task <span class="mono">{step.task_id}</span>
            </>
          )}
        </p>
      )}
      {waitsHere && (
        <p class="timeline__wait">
          <StepWait run={run} />
        </p>
      )}
      {step.error && (
        <p class="timeline__error">
          <ErrorText error={step.error} />
        </p>
      )}
      {step.attempts && step.attempts.length > 0 && <Attempts step={step} />}
      {step.output !== undefined && step.output !== null && (
        <details class="timeline__output">
          <summary>Output</summary>
          <Json value={step.output} label={`Output of step ${step.path ?? step.id}`} />
        </details>
      )}
    </li>
  );
}

// The step's earlier attempts, folded: "Attempt 1 · failed after 12 ms · <error>".
function Attempts(props: { step: Step }) {
  const attempts = props.step.attempts!;
  return (
    <details class="timeline__attempts">
      <summary>
        Previous attempts ({attempts.length})
      </summary>
      <ol class="attempts">
        {attempts.map((a) => (
          <AttemptItem key={a.attempt} attempt={a} />
        ))}
      </ol>
    </details>
  );
}

function AttemptItem(props: { attempt: StepAttempt }) {
  const a = props.attempt;
  const session = useSession();
  const ms = a.duration_ms ?? null;
  const took = ms !== null ? duration(ms) : between(a.started_at, a.finished_at);
  return (
    <li data-attempt={a.attempt}>
      Attempt {a.attempt}
      {took && ` · ${a.error ? 'failed' : 'ended'} after ${took}`}
      {a.error && (
        <>
          {' · '}
          <span class="attempts__error">
            <ErrorText error={a.error} />
          </span>
        </>
      )}
      {a.child_run_id && (
        <>
          {' · child run '}
          <a class="mono" href={runPath(session, a.child_run_id)} onClick={onLinkClick}>
            {a.child_run_id}
          </a>
        </>
      )}
      {a.task_id && (
        <>
          {' · task '}
          <span class="mono">{a.task_id}</span>
        </>
      )}
      {a.agent_id && (
        <>
          {' · agent '}
          <span class="mono">{a.agent_id}</span>
        </>
      )}
      {a.finished_at && (
        <>
          {' · '}
          <Time at={a.finished_at} />
        </>
      )}
    </li>
  );
}

function CancelDialog(props: { busy: boolean; onKeep: () => void; onCancel: (reason: string) => Promise<void> }) {
  const [reason, setReason] = useState('');
  return (
    <Dialog title="Cancel workflow run?" onClose={props.onKeep} describedBy="cancel-text">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void props.onCancel(reason.trim());
        }}
      >
        <p id="cancel-text">This will cancel all pending and running steps. This action cannot be undone.</p>
        <label for="cancel-reason">Reason for cancellation (optional)</label>
        <textarea
          id="cancel-reason"
          rows={3}
          maxLength={1000}
          value={reason}
          onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)}
        />
        <div class="dialog__buttons">
          <button type="button" class="button" onClick={props.onKeep} disabled={props.busy}>
            Keep running
          </button>
          <button type="submit" class="button button--danger" disabled={props.busy}>
            {props.busy ? 'Cancelling…' : 'Cancel run'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
