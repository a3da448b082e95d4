// One approval in the inbox: its message, status, how reversible the gated action is
// (*Irreversible* in solid red, with a warning), the workflow, run and step, the time
// left until it expires, N of M approvals, whether it was escalated, the decisions so
// far, and — for an operator or admin while it is pending — Approve / Deny with an
// optional comment. A refused decision (409: decided meanwhile, or this principal
// already decided) shows the server's message and reloads the inbox.
import { useState } from 'preact/hooks';
import { api, asApiError, canControl, type Approval, type Decision, type Reversibility } from '../../api';
import { StatusBadge } from '../../components/Badge';
import { CheckIcon, CrossIcon, WarningIcon } from '../../components/Icons';
import { RunLink, WorkflowLink } from '../../components/Links';
import { MetaList } from '../../components/MetaList';
import { Time } from '../../components/Time';
import { showToast } from '../../components/Toasts';
import { exactTime, timeLeft } from '../../format';
import { useSession } from '../../session';

const REVERSIBILITY: Record<Reversibility, string> = {
  safe: 'Safe',
  recoverable: 'Recoverable',
  irreversible: 'Irreversible',
};

const DONE: Record<Decision, string> = { approve: 'Approved', deny: 'Denied' };
const FAILED: Record<Decision, string> = { approve: 'Failed to approve', deny: 'Failed to deny' };

function approvalsOf(a: Approval): number {
  return a.decisions.filter((d) => d.decision === 'approve').length;
}

export function ApprovalCard(props: {
  approval: Approval;
  onDecided: (updated: Approval) => void;
  // The approval changed behind the page: reload the inbox.
  onStale: () => void;
}) {
  const a = props.approval;
  const mayDecide = canControl(useSession().role) && a.status === 'pending';
  const titleId = `approval-${a.id}-title`;
  return (
    <li class={`approval card approval--${a.status}`} data-approval-id={a.id} data-status={a.status} aria-labelledby={titleId}>
      <div class="approval__head">
        <h2 class="approval__message" id={titleId}>
          {a.message}
        </h2>
        <div class="approval__badges">
          <StatusBadge status={a.status} />
          <ReversibilityBadge value={a.reversibility} />
          {a.escalated && (
            <span class="tag" title="The first approvers did not decide in time; it went to the escalation approvers.">
              Escalated
            </span>
          )}
        </div>
      </div>
      {a.reversibility === 'irreversible' && a.status === 'pending' && (
        <p class="approval__warning">
          <WarningIcon /> Approving lets an action run that cannot be undone.
        </p>
      )}
      <div class="approval__meta">
        <MetaList
          rows={[
            ['Workflow', <WorkflowLink id={a.workflow_id} />],
            [
              'Run',
              <>
                <RunLink id={a.run_id} /> <span class="muted">step</span> <code>{a.step_id}</code>
              </>,
            ],
            [a.status === 'pending' ? 'Time left' : 'Resolved', <Deadline approval={a} />],
            ['Progress', `${approvalsOf(a)} of ${a.required} approvals`],
          ]}
        />
      </div>
      {a.decisions.length > 0 && <Decisions approval={a} />}
      {mayDecide && <DecisionForm approval={a} onDecided={props.onDecided} onStale={props.onStale} />}
    </li>
  );
}

// How reversible the gated action is; Irreversible is solid red with a warning icon so it
// cannot be missed.
export function ReversibilityBadge(props: { value: Reversibility }) {
  return (
    <span class={`rev rev--${props.value}`} data-reversibility={props.value}>
      {props.value === 'irreversible' && <WarningIcon />}
      {REVERSIBILITY[props.value] ?? props.value}
    </span>
  );
}

// A pending approval's time left ("3 h 12 min left", or *Expired* once the time has come
// and the server has not closed it yet, or *No expiry*); a closed one's resolution and
// its time.
function Deadline(props: { approval: Approval }) {
  const a = props.approval;
  if (a.status !== 'pending') {
    return a.resolution ? (
      <>
        <Time at={a.resolution.at} />
        {a.resolution.reason && <span class="muted"> · {a.resolution.reason}</span>}
      </>
    ) : (
      <span class="muted">—</span>
    );
  }
  if (!a.expires_at) {
    return <span class="muted">No expiry</span>;
  }
  const left = timeLeft(a.expires_at);
  return (
    <time dateTime={a.expires_at} title={`Expires ${exactTime(a.expires_at)}`} class={left ? undefined : 'expired'}>
      {left ?? 'Expired'}
    </time>
  );
}

function Decisions(props: { approval: Approval }) {
  return (
    <ul class="plain-list approval__decisions" aria-label="Decisions">
      {props.approval.decisions.map((d, i) => (
        <li key={i}>
          {d.decision === 'approve' ? <CheckIcon /> : <CrossIcon />}
          <span>
            {d.decision === 'approve' ? 'Approved' : 'Denied'} by <strong>{d.by}</strong>
            <span class="muted">
              {' '}
              via {d.via} · <Time at={d.at} />
            </span>
            {d.comment && <q class="approval__comment">{d.comment}</q>}
          </span>
        </li>
      ))}
    </ul>
  );
}

function DecisionForm(props: { approval: Approval; onDecided: (a: Approval) => void; onStale: () => void }) {
  const a = props.approval;
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState<Decision | null>(null);
  const fieldId = `approval-${a.id}-comment`;

  const decide = async (decision: Decision) => {
    setBusy(decision);
    try {
      const updated = await api.decideApproval(a.id, decision, comment.trim());
      props.onDecided(updated);
      const more = updated.status === 'pending' ? `${approvalsOf(updated)} of ${updated.required} approvals` : undefined;
      showToast('success', DONE[decision], more);
      setComment('');
    } catch (err) {
      const e = asApiError(err);
      showToast('error', FAILED[decision], e.message);
      if (e.status === 409) {
        props.onStale();
      }
    } finally {
      setBusy(null);
    }
  };

  return (
    <div class="approval__decide">
      <div class="field">
        <label for={fieldId}>Comment (optional)</label>
        <textarea
          id={fieldId}
          rows={2}
          value={comment}
          disabled={busy !== null}
          onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)}
        />
      </div>
      <div class="actions">
        <button type="button" class="button button--primary" disabled={busy !== null} onClick={() => void decide('approve')}>
          <CheckIcon /> {busy === 'approve' ? 'Approving…' : 'Approve'}
        </button>
        <button type="button" class="button button--danger" disabled={busy !== null} onClick={() => void decide('deny')}>
          <CrossIcon /> {busy === 'deny' ? 'Denying…' : 'Deny'}
        </button>
      </div>
    </div>
  );
}
