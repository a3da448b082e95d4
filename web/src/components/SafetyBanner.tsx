// The yellow banner of a workflow paused for safety, on the workflow's page and on the
// page of each of its runs (from `run.workflow_safety`): the breaker's exact message and
// how the hold ends. A `throughput_cap` hold ends with Resume workflow (admins), after
// the cause is fixed; a `spend_cap` hold has no resume: Adjust cap leads to the billing
// page, and the hold clears itself when the cap is raised or the period rolls over.
import { useState } from 'preact/hooks';
import { api, errorMessage, type Workflow, type WorkflowSafety } from '../api';
import { onLinkClick } from '../router';
import { useSession, wsPath } from '../session';
import { WarningIcon } from './Icons';
import { WorkflowLink } from './Links';
import { Time } from './Time';
import { showToast } from './Toasts';

const REASONS: Record<WorkflowSafety['reason'], string> = {
  throughput_cap: 'Throughput cap',
  spend_cap: 'Spend cap',
};

// The reason's name and message in one line (a list's badge says it on hover).
export function safetyText(safety: WorkflowSafety): string {
  return `${REASONS[safety.reason] ?? safety.reason}: ${safety.message}`;
}

// On a run's page (`run`) the workflow is named as a link, and a run that has not ended
// is told that none of its steps starts; `onResumed` gets the workflow as the resume
// answered it.
export function SafetyBanner(props: {
  workflowId: string;
  safety: WorkflowSafety;
  run?: { finished: boolean };
  onResumed: (workflow: Workflow) => void;
}) {
  const { workflowId, safety } = props;
  const session = useSession();
  const [busy, setBusy] = useState(false);
  const admin = session.role === 'admin';
  const throughput = safety.reason === 'throughput_cap';

  const resume = async () => {
    setBusy(true);
    try {
      const updated = await api.resumeWorkflow(workflowId);
      showToast('success', 'Workflow resumed');
      props.onResumed(updated);
    } catch (err) {
      showToast('error', 'Failed to resume workflow', errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="banner banner--paused safety-banner" aria-label="Workflow paused for safety" data-reason={safety.reason}>
      <p class="safety-banner__title">
        <WarningIcon /> <strong>Paused for safety:</strong> {safety.message}
      </p>
      <p class="safety-banner__detail">
        {props.run && (
          <>
            Workflow <WorkflowLink id={workflowId} /> is paused for safety
            {props.run.finished ? '. ' : ': no step of this run starts until the hold is cleared. '}
          </>
        )}
        {throughput
          ? `Fix the cause (a loop without an end, a polling interval set too low), then ${admin ? 'resume' : 'an admin resumes'} the workflow.`
          : 'No resume: raise the spend cap or wait for the next billing period.'}
        {safety.tripped_at && (
          <>
            {' '}
            Tripped <Time at={safety.tripped_at} />.
          </>
        )}
      </p>
      {admin && throughput && (
        <button type="button" class="button" disabled={busy} onClick={() => void resume()}>
          Resume workflow
        </button>
      )}
      {!throughput && (
        <a class="button" href={wsPath(session, 'billing')} onClick={onLinkClick}>
          Adjust cap
        </a>
      )}
    </section>
  );
}
