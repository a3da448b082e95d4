// The cancel dialog: an optional reason, "Cancel run" or "Keep running" (also Escape).
import { useState } from 'preact/hooks';
import { Dialog } from '../../components/Dialog';

export function CancelDialog(props: { busy: boolean; onKeep: () => void; onCancel: (reason: string) => Promise<void> }) {
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
