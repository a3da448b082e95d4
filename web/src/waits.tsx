// The registry of wait kinds: for each `run.wait.kind`, how the UI says what the run
// waits for. Every place that shows a wait renders it through WaitSummary (the state
// banner and the overview: "Waiting for <summary>") or StepWaitText (the waiting step in
// the timeline), so a new kind is its type in api.ts and one entry in WAIT_KINDS (the
// compiler asks for the entry). A kind this UI does not know shows its name.
import type { ComponentChildren } from 'preact';
import type { BackOff, RunWait, WaitKind } from './api';
import { ErrorText } from './components/ErrorText';
import { RunLink } from './components/Links';
import { Time } from './components/Time';
import { isPast } from './format';

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
