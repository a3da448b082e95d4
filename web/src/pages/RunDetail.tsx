// Run detail (/{ws}/monitoring/workflow-runs/{runId}): status and the controls the run
// allows for this role, what the run is doing, its input and output, and a timeline of
// its steps. While the run is pending or running it reloads every 10 s (not while the
// tab is hidden, never after a terminal status).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, canControl, isTerminal, type Run, type RunAction, type Step } from '../api';
import { StatusBadge } from '../components/Badge';
import { Dialog } from '../components/Dialog';
import { PauseIcon, PlayIcon, RefreshIcon, ReplayIcon, StopIcon } from '../components/Icons';
import { Json } from '../components/Json';
import { Time } from '../components/Time';
import { showToast } from '../components/Toasts';
import { between, title } from '../format';
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

export function RunDetail(props: { runId: string }) {
  const session = useSession();
  const [run, setRun] = useState<Run | null>(null);
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
      if (mine === seq.current) {
        setRun(next);
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

function WaitText(props: { run: Run }) {
  const wait = props.run.wait!;
  return (
    <>
      {wait.kind === 'event' && wait.event_type ? (
        <>
          event <code>{wait.event_type}</code>
        </>
      ) : (
        WAIT_KINDS[wait.kind] ?? wait.kind
      )}
      {wait.step_id && (
        <>
          {' '}
          (step <code>{wait.step_id}</code>)
        </>
      )}
      {wait.until ? (
        <>
          {' '}
          until <Time at={wait.until} />
        </>
      ) : (
        wait.kind === 'event' && ', without a timeout'
      )}
    </>
  );
}

const TRIGGER_KINDS: Record<string, string> = { api: 'API', http: 'HTTP trigger', replay: 'Replay' };

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
    rows.push(['Error', `${run.error.message}${run.error.code ? ` (${run.error.code})` : ''}`]);
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
      {waitsHere && (
        <p class="timeline__wait">
          Waits for <WaitText run={run} />
        </p>
      )}
      {step.error && (
        <p class="timeline__error">
          {step.error.message}
          {step.error.code && <span class="mono"> ({step.error.code})</span>}
        </p>
      )}
      {step.output !== undefined && step.output !== null && (
        <details class="timeline__output">
          <summary>Output</summary>
          <Json value={step.output} label={`Output of step ${step.path ?? step.id}`} />
        </details>
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
