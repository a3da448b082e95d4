// The registry of wait kinds: for each `run.wait.kind`, how the UI says what the run
// waits for. Every place that shows a wait renders it through WaitSummary (the state
// banner and the overview: "Waiting for <summary>") or StepWaitText (the waiting step in
// the timeline), so a new kind is its type in api.ts and one entry in WAIT_KINDS (the
// compiler asks for the entry). A kind may also put a pill beside the run's status badge
// (WaitPill: *Awaiting approval*) and a panel on the run's page (WaitPanel: the form to
// fill in). A kind this UI does not know shows its name.
import type { ComponentChildren } from 'preact';
import type { BackOff, Run, RunWait, WaitKind } from './api';
import { ErrorText } from './components/ErrorText';
import { RunLink } from './components/Links';
import { Time } from './components/Time';
import { ReauthHold } from './components/ReauthHold';
import { connectionPath } from './connections';
import { FormPanel } from './forms/FormPanel';
import { isPast } from './format';
import { onLinkClick } from './router';
import { useSession, wsPath } from './session';

interface WaitView<W extends RunWait> {
  // What the run waits for, as the end of "Waiting for …" ("a timer").
  label: string;
  // The same with the wait's details when it has them (an event's type, a child run);
  // nothing (or an empty string) falls back to `label`.
  what?: (wait: W) => ComponentChildren;
  // When the wait ends by itself, shown as "until <time>"; default `wait.until`.
  until?: (wait: W) => string | null | undefined;
  // Said instead when there is no `until` (", without a timeout").
  noUntil?: string;
  // The back-off of a failed attempt the wait carries, shown after the summary.
  backOff?: (wait: W) => Partial<BackOff> | null;
  // The waiting step's line in the timeline; default "Waits for <summary>". `paused`:
  // the run is paused, which holds the wait.
  step?: (props: { wait: W; paused: boolean }) => ComponentChildren;
  // Beside the run's status badge while the run waits.
  pill?: (props: { wait: W; runId: string }) => ComponentChildren;
  // On the run's page under its banner while the run waits; `onDone` reloads the run
  // (after the page ended the wait itself, as a submitted form does).
  panel?: (props: { wait: W; onDone: () => void }) => ComponentChildren;
}

type WaitViews = { [K in WaitKind]: WaitView<Extract<RunWait, { kind: K }>> };

const WAIT_KINDS: WaitViews = {
  timer: { label: 'a timer' },
  event: {
    label: 'an event',
    what: (w) => w.event_type && (
      <>
        event <code>{w.event_type}</code>
      </>
    ),
    noUntil: ', without a timeout',
  },
  retry: {
    label: 'a retry back-off',
    // Its `until` is the next attempt, which the back-off says.
    until: () => null,
    backOff: (w) => w,
    step: ({ wait, paused }) => (
      <>
        <BackOffText backOff={wait} />
        {paused && ' · held while the run is paused'}
      </>
    ),
  },
  child: {
    label: 'a child run',
    what: (w) => (
      <>
        child run <RunLink id={w.child_run_id} />
        {w.workflow_id && ` of workflow ${w.workflow_id}`}
      </>
    ),
    step: ({ wait }) => (
      <>
        Waiting for child run <RunLink id={wait.child_run_id} />
      </>
    ),
  },
  agent: {
    label: 'an agent',
    what: (w) => w.queue && (
      <>
        an agent on queue <code>{w.queue}</code>
      </>
    ),
    // Only while a failed attempt backs off.
    backOff: (w) => (w.attempt !== undefined ? w : null),
    step: ({ wait }) => (
      <>
        Waiting for an agent
        {wait.queue && (
          <>
            {' on queue '}
            <code>{wait.queue}</code>
          </>
        )}
        {wait.attempt !== undefined && (
          <>
            {' · '}
            <BackOffText backOff={wait} />
          </>
        )}
      </>
    ),
  },
  approval: {
    label: 'an approval',
    pill: ({ runId }) => <ApprovalPill runId={runId} />,
  },
  form: {
    label: 'a form',
    step: () => 'Waiting for the form to be submitted',
    panel: ({ wait, onDone }) => <FormPanel formId={wait.form_id} onSubmitted={onDone} />,
  },
  reauth: {
    // The card (panel) names the connection.
    label: 'its connection to be reconnected',
    step: () => 'Held until its connection is reconnected',
    pill: ({ wait }) => <ReauthPill connectionId={wait.connection_id} />,
    panel: ({ wait }) => <ReauthHold connectionId={wait.connection_id} waiting />,
  },
};

const UNKNOWN: WaitView<RunWait> = { label: 'something', what: (w) => w.kind };

function viewOf(wait: RunWait): WaitView<RunWait> {
  // Each entry takes its own kind's wait; the lookup by `wait.kind` guarantees it.
  return (WAIT_KINDS[wait.kind] as WaitView<RunWait> | undefined) ?? UNKNOWN;
}

// What the run waits for, as the end of "Waiting for …": "a retry back-off (step sync):
// Attempt 2 of 3 in 1 hour — last error: …", "event <code>paid</code> (step s), without a
// timeout".
export function WaitSummary(props: { wait: RunWait }) {
  const { wait } = props;
  const view = viewOf(wait);
  const until = view.until ? view.until(wait) : wait.until;
  const backOff = view.backOff?.(wait);
  return (
    <>
      {view.what?.(wait) || view.label}
      {wait.step_id && (
        <>
          {' (step '}
          <code>{wait.step_id}</code>)
        </>
      )}
      {until ? (
        <>
          {' until '}
          <Time at={until} />
        </>
      ) : (
        view.noUntil
      )}
      {backOff && (
        <>
          {': '}
          <BackOffText backOff={backOff} />
        </>
      )}
    </>
  );
}

// What the waiting step waits for, in the timeline.
export function StepWaitText(props: { wait: RunWait; paused: boolean }) {
  const view = viewOf(props.wait);
  if (view.step) {
    return <>{view.step(props)}</>;
  }
  return (
    <>
      Waits for <WaitSummary wait={props.wait} />
    </>
  );
}

// The pill of a run waiting in the approvals inbox: links to the run's approvals there.
function ApprovalPill(props: { runId: string }) {
  const href = wsPath(useSession(), `monitoring/approvals?run_id=${encodeURIComponent(props.runId)}`);
  return (
    <a class="pill pill--approval" href={href} onClick={onLinkClick}>
      Awaiting approval
    </a>
  );
}

// The pill of an agent-mode run held for reauthorization: links to the connection.
function ReauthPill(props: { connectionId: string }) {
  return (
    <a class="pill pill--reauth" href={connectionPath(useSession(), props.connectionId)} onClick={onLinkClick}>
      Awaiting reauth
    </a>
  );
}

// What a waiting run's kind puts beside its status badge, if anything.
export function WaitPill(props: { run: Run }) {
  const { run } = props;
  if (run.status !== 'waiting' || !run.wait) {
    return null;
  }
  const pill = viewOf(run.wait).pill;
  return pill ? <>{pill({ wait: run.wait, runId: run.id })}</> : null;
}

// What a waiting run's kind shows on the run's page, if anything.
export function WaitPanel(props: { run: Run; onDone: () => void }) {
  const { run } = props;
  if (run.status !== 'waiting' || !run.wait) {
    return null;
  }
  const panel = viewOf(run.wait).panel;
  return panel ? <>{panel({ wait: run.wait, onDone: props.onDone })}</> : null;
}

// "Attempt 2 of 3 in 1 hour — last error: exited with code 1 (exit_code)".
function BackOffText(props: { backOff: Partial<BackOff> }) {
  const { attempt, max_attempts, next_attempt_at, last_error } = props.backOff;
  return (
    <>
      Attempt {attempt}
      {max_attempts !== undefined && ` of ${max_attempts}`}
      {next_attempt_at && (
        <>
          {isPast(next_attempt_at) ? ' due ' : ' '}
          <Time at={next_attempt_at} />
        </>
      )}
      {last_error && (
        <>
          {' — last error: '}
          <ErrorText error={last_error} />
        </>
      )}
    </>
  );
}
