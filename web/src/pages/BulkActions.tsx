// Bulk controls on the runs list (docs/bulk.md): pause, resume, cancel or replay the runs
// ticked on the list (a `run_ids` filter of exactly those), or, when none is, every run
// the list's filters match. The operator first sees how many runs that is (a preview),
// confirms with the count, and then watches the operation's progress.
import { useEffect, useState } from 'preact/hooks';
import { api, errorMessage, type BulkAction, type BulkFilter, type Operation } from '../api';
import { Dialog } from '../components/Dialog';
import { showToast } from '../components/Toasts';

const POLL_MS = 500;

const VERB: Record<BulkAction, string> = { pause: 'Pause', resume: 'Resume', cancel: 'Cancel', replay: 'Replay' };
const ACTIONS: BulkAction[] = ['pause', 'resume', 'cancel', 'replay'];

function runs(n: number): string {
  return `${n.toLocaleString()} ${n === 1 ? 'run' : 'runs'}`;
}

export function BulkActions(props: {
  // The list's filters (every matching run).
  filter: Record<string, string>;
  // The runs ticked; when there are any, the actions are theirs alone.
  selected: string[];
  onClearSelection: () => void;
}) {
  // The action asked for, the filter it previewed (kept: confirming acts on what was
  // counted, whatever is ticked meanwhile) and its count.
  const [asked, setAsked] = useState<{ action: BulkAction; filter: BulkFilter; picked: boolean; count: number } | null>(
    null,
  );
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [operation, setOperation] = useState<Operation | null>(null);

  useEffect(() => {
    if (!operation || operation.status === 'completed') {
      return;
    }
    const timer = window.setTimeout(() => {
      api.getOperation(operation.id).then(
        (got) => {
          setOperation(got.operation);
          if (got.operation.status === 'completed') {
            const o = got.operation;
            showToast('success', `${VERB[o.action]}: ${runs(o.done)} done`, `${o.skipped} skipped, ${o.failed} failed`);
          }
        },
        () => setOperation({ ...operation }), // try again
      );
    }, POLL_MS);
    return () => window.clearTimeout(timer);
  }, [operation]);

  const picked = props.selected.length > 0;
  const preview = async (action: BulkAction) => {
    const filter: BulkFilter = picked ? { run_ids: props.selected } : props.filter;
    setBusy(true);
    try {
      const p = await api.previewBulk(filter, action);
      setReason('');
      setAsked({ action, filter, picked, count: p.count });
    } catch (err) {
      showToast('error', 'Could not count the matching runs', errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const start = async () => {
    if (!asked) {
      return;
    }
    setBusy(true);
    try {
      const made = await api.startBulk(asked.filter, asked.action, asked.action === 'cancel' ? reason.trim() : '');
      setOperation(made.operation);
      setAsked(null);
      if (asked.picked) {
        props.onClearSelection();
      }
    } catch (err) {
      showToast('error', `${VERB[asked.action]} failed`, errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const o = operation;
  return (
    <div class="bulk" role="group" aria-label="Bulk actions">
      <span class="bulk__label muted" role="status">
        {picked ? `${runs(props.selected.length)} selected:` : 'All matching runs:'}
      </span>
      {ACTIONS.map((action) => (
        <button type="button" class="button" key={action} disabled={busy} onClick={() => void preview(action)}>
          {VERB[action]} {picked ? 'selected' : 'all'}…
        </button>
      ))}
      {picked && (
        <button type="button" class="button button--ghost" disabled={busy} onClick={props.onClearSelection}>
          Clear selection
        </button>
      )}
      {o && (
        <p class="bulk__progress" role="status" data-operation-id={o.id} data-status={o.status}>
          {VERB[o.action]}: {o.done + o.skipped + o.failed} of {runs(o.total)} ({o.done} done, {o.skipped} skipped,{' '}
          {o.failed} failed){o.status === 'completed' ? ' — completed' : '…'}
        </p>
      )}
      {asked && (
        <Dialog title={`${VERB[asked.action]} ${runs(asked.count)}?`} onClose={() => setAsked(null)} describedBy="bulk-text">
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void start();
            }}
          >
            <p id="bulk-text">
              {asked.count === 0
                ? asked.picked
                  ? 'None of the selected runs exists any more.'
                  : 'No run matches these filters.'
                : asked.picked
                  ? `${VERB[asked.action]} the ${runs(asked.count)} you selected now. Runs that change meanwhile are skipped, not forced.`
                  : `${VERB[asked.action]} every run that matches the list's filters now. Runs that change meanwhile are skipped, not forced.`}
            </p>
            {asked.action === 'cancel' && asked.count > 0 && (
              <>
                <label for="bulk-reason">Reason for cancellation (optional)</label>
                <textarea
                  id="bulk-reason"
                  rows={3}
                  maxLength={1000}
                  value={reason}
                  onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)}
                />
              </>
            )}
            <div class="dialog__buttons">
              <button type="button" class="button" onClick={() => setAsked(null)} disabled={busy}>
                Keep them
              </button>
              <button
                type="submit"
                class={asked.action === 'cancel' ? 'button button--danger' : 'button button--primary'}
                disabled={busy || asked.count === 0}
              >
                {VERB[asked.action]} {runs(asked.count)}
              </button>
            </div>
          </form>
        </Dialog>
      )}
    </div>
  );
}
