// The steps of a run as a timeline: each step's status, attempt and times, the child run
// or task it works through, what it waits for, its error, its earlier attempts (folded)
// and its output (folded). A step a rerun copied is tagged; on a finished run an
// operator may rerun from a step (`onRerunFrom`, given only then).
import type { Run, Step, StepAttempt } from '../../api';
import { StatusBadge } from '../../components/Badge';
import { ErrorText } from '../../components/ErrorText';
import { Json } from '../../components/Json';
import { RunLink } from '../../components/Links';
import { Time } from '../../components/Time';
import { between, duration } from '../../format';
import { StepWaitText } from '../../waits';

export function Timeline(props: { run: Run; onRerunFrom?: (path: string) => void; busy?: boolean }) {
  const steps = props.run.steps ?? [];
  return (
    <section class="card" aria-labelledby="steps-title">
      <h2 id="steps-title">Steps</h2>
      {steps.length === 0 ? (
        <p class="muted">No steps yet.</p>
      ) : (
        <ol class="timeline">
          {steps.map((s) => (
            <StepItem
              key={s.path ?? s.id}
              step={s}
              run={props.run}
              onRerunFrom={props.onRerunFrom}
              busy={props.busy ?? false}
            />
          ))}
        </ol>
      )}
    </section>
  );
}

function StepItem(props: { step: Step; run: Run; onRerunFrom?: (path: string) => void; busy: boolean }) {
  const { step, run, onRerunFrom } = props;
  const path = step.path ?? step.id;
  const took = between(step.started_at, step.finished_at);
  const wait = run.wait?.step_id === step.id && step.status === 'waiting' ? run.wait : null;
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
        {step.copied && (
          <span class="tag" title="Carried over from the run this one reruns; it did not run again.">
            Copied
          </span>
        )}
        {onRerunFrom && (
          <button
            type="button"
            class="button timeline__rerun"
            disabled={props.busy}
            aria-label={`Rerun from step ${path}`}
            onClick={() => onRerunFrom(path)}
          >
            Rerun from here
          </button>
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
              Child run <RunLink id={step.child_run_id} />
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
      {wait && (
        <p class="timeline__wait">
          <StepWaitText wait={wait} paused={run.status === 'paused'} />
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
          <RunLink id={a.child_run_id} />
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

