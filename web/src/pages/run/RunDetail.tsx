// Run detail (/{ws}/monitoring/workflow-runs/{runId}): status and the controls the run
// allows for this role, what the run is doing (and its workflow's safety hold, the
// workspace's spend near its cap), its input and output, and a timeline of its steps
// (with their earlier attempts), its parent and child runs. While the run
// moves by itself (pending, running, waiting) it reloads every 10 s (useRun).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, canControl, errorMessage, isTerminal, type Run, type RunAction } from '../../api';
import { RunStatusBadge } from '../../components/Badge';
import { Breadcrumb } from '../../components/Breadcrumb';
import { PauseIcon, PlayIcon, RefreshIcon, ReplayIcon, StopIcon } from '../../components/Icons';
import { Json } from '../../components/Json';
import { PageLoadState } from '../../components/LoadState';
import { ReauthHold } from '../../components/ReauthHold';
import { SafetyBanner } from '../../components/SafetyBanner';
import { SpendNotice } from '../../components/SpendIndicator';
import { showToast } from '../../components/Toasts';
import { navigate } from '../../router';
import { runPath, useSession, wsPath } from '../../session';
import { WaitPanel, WaitPill } from '../../waits';
import { CancelDialog } from './CancelDialog';
import { ChildRuns, Overview, StateBanner } from './Summary';
import { Timeline } from './Timeline';
import { useRun } from './useRun';

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

type Busy = RunAction | 'replay' | 'refresh' | null;

export function RunDetail(props: { runId: string }) {
  const session = useSession();
  const view = useRun(props.runId);
  const [busy, setBusy] = useState<Busy>(null);
  const [cancelOpen, setCancelOpen] = useState(false);
  const headingRef = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    document.title = `${props.runId} · Stepwell`;
    return () => {
      document.title = 'Stepwell';
    };
  }, [props.runId]);

  const breadcrumb = (
    <Breadcrumb listPath={wsPath(session, 'monitoring/workflow-runs')} listName="Workflow runs">
      <span class="mono" aria-current="page">
        {props.runId}
      </span>
    </Breadcrumb>
  );
  if (!view.data) {
    return <PageLoadState noun="workflow run" error={view.error} breadcrumb={breadcrumb} />;
  }
  const { run, children } = view.data;

  const refresh = async () => {
    setBusy('refresh');
    await view.reload();
    setBusy(null);
  };

  const act = async (action: RunAction, body: object = {}) => {
    setBusy(action);
    try {
      const updated = await api.controlRun(run.id, action, run.version, body);
      view.set((old) => ({ ...old, run: { ...old.run, ...updated, steps: updated.steps ?? old.run.steps } }));
      showToast('success', DONE[action]);
      void view.reload();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'state_changed') {
        showToast('error', STATE_CHANGED);
        await view.reload();
      } else {
        showToast('error', FAILED[action], errorMessage(err));
      }
    } finally {
      setBusy(null);
    }
  };

  // From the start, or (`fromStep`) from a step: the steps before it are copied.
  const replay = async (fromStep?: string) => {
    setBusy('replay');
    try {
      const created = await api.replayRun(run.id, fromStep ? { from_step: fromStep } : undefined);
      showToast('success', 'Workflow run replayed', fromStep ? `New run ${created.id} from step ${fromStep}` : `New run ${created.id}`);
      navigate(runPath(session, created.id));
    } catch (err) {
      showToast('error', 'Failed to replay workflow run', errorMessage(err));
      setBusy(null);
    }
  };

  return (
    <section class="page run" aria-labelledby="run-title" aria-busy={view.loading ? 'true' : 'false'}>
      {breadcrumb}
      <div class="page__header">
        <div class="run__title">
          <h1 id="run-title" ref={headingRef} tabIndex={-1}>
            <span class="visually-hidden">Workflow run </span>
            <span class="mono">{run.id}</span>
          </h1>
          <RunStatusBadge run={run} />
          <WaitPill run={run} />
        </div>
        <RunActions
          run={run}
          busy={busy}
          onAct={(action) => (action === 'cancel' ? setCancelOpen(true) : void act(action))}
          onReplay={() => void replay()}
          onRefresh={() => void refresh()}
        />
      </div>
      {view.error && (
        <p class="banner banner--error" role="alert">
          Could not refresh: {view.error.message}
        </p>
      )}
      <StateBanner run={run} />
      {run.workflow_safety && (
        <SafetyBanner
          workflowId={run.workflow_id}
          safety={run.workflow_safety}
          run={{ finished: isTerminal(run.status) }}
          onResumed={() => void view.reload()}
        />
      )}
      <SpendNotice />
      {run.status === 'paused' && run.pause?.reason === 'reauth' && run.pause.connection_id && (
        <ReauthHold connectionId={run.pause.connection_id} waiting={false} />
      )}
      <WaitPanel run={run} onDone={() => void view.reload()} />
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
      <Timeline
        run={run}
        busy={busy !== null}
        onRerunFrom={canControl(session.role) && isTerminal(run.status) ? (path) => void replay(path) : undefined}
      />
      {cancelOpen && (
        <CancelDialog
          busy={busy === 'cancel'}
          onKeep={() => setCancelOpen(false)}
          onCancel={async (reason) => {
            await act('cancel', reason ? { reason } : {});
            setCancelOpen(false);
            requestAnimationFrame(() => headingRef.current?.focus());
          }}
        />
      )}
    </section>
  );
}

// The controls this role may use on the run now (its `allowed_actions`), Replay on a
// finished run, and Refresh for everyone. Cancel asks first (the dialog).
function RunActions(props: {
  run: Run;
  busy: Busy;
  onAct: (action: RunAction) => void;
  onReplay: () => void;
  onRefresh: () => void;
}) {
  const { run, busy } = props;
  const controls = canControl(useSession().role);
  const allowed = (a: RunAction) => controls && run.allowed_actions.includes(a);
  return (
    <div class="actions" role="group" aria-label="Run actions">
      {allowed('pause') && (
        <button type="button" class="button" disabled={busy !== null} onClick={() => props.onAct('pause')}>
          <PauseIcon /> Pause
        </button>
      )}
      {allowed('resume') && (
        <button type="button" class="button button--primary" disabled={busy !== null} onClick={() => props.onAct('resume')}>
          <PlayIcon /> Resume
        </button>
      )}
      {allowed('cancel') && (
        <button type="button" class="button button--danger" disabled={busy !== null} onClick={() => props.onAct('cancel')}>
          <StopIcon /> Cancel
        </button>
      )}
      {controls && isTerminal(run.status) && (
        <button type="button" class="button" disabled={busy !== null} onClick={props.onReplay}>
          <ReplayIcon /> Replay
        </button>
      )}
      <button type="button" class="button button--ghost" disabled={busy !== null} onClick={props.onRefresh}>
        <RefreshIcon /> {busy === 'refresh' ? 'Refreshing…' : 'Refresh'}
      </button>
    </div>
  );
}
