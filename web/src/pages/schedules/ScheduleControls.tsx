// An admin's controls of one schedule: Pause or Resume, and Delete after a confirmation
// (a modal dialog: "Delete schedule" or "Keep schedule", Escape keeps it). The caller
// shows them to admins only; the server refuses anyone else.
import { useState } from 'preact/hooks';
import { api, errorMessage, type Schedule } from '../../api';
import { Dialog } from '../../components/Dialog';
import { showToast } from '../../components/Toasts';

export function ScheduleControls(props: {
  schedule: Schedule;
  // The schedule as the server answered a pause or resume.
  onChanged: (schedule: Schedule) => void;
  onDeleted: () => void;
}) {
  const { schedule } = props;
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);

  const setPaused = async (paused: boolean) => {
    setBusy(true);
    try {
      props.onChanged(await api.setSchedulePaused(schedule.id, paused));
      showToast('success', paused ? 'Schedule paused' : 'Schedule resumed');
    } catch (err) {
      showToast('error', paused ? 'Failed to pause schedule' : 'Failed to resume schedule', errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    setBusy(true);
    try {
      await api.deleteSchedule(schedule.id);
      setConfirming(false);
      showToast('success', 'Schedule deleted');
      props.onDeleted();
    } catch (err) {
      showToast('error', 'Failed to delete schedule', errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="actions" role="group" aria-label={`Actions of schedule ${schedule.id}`}>
      {schedule.paused ? (
        <button type="button" class="button button--primary" disabled={busy} onClick={() => void setPaused(false)}>
          Resume
        </button>
      ) : (
        <button type="button" class="button" disabled={busy} onClick={() => void setPaused(true)}>
          Pause
        </button>
      )}
      <button type="button" class="button button--danger" disabled={busy} onClick={() => setConfirming(true)}>
        Delete
      </button>
      {confirming && (
        <Dialog title="Delete schedule?" onClose={() => setConfirming(false)} describedBy="delete-schedule-text">
          <p id="delete-schedule-text">
            <span class="mono">{schedule.id}</span> (workflow {schedule.workflow_id}, <span class="mono">{schedule.cron}</span>{' '}
            {schedule.timezone}) fires no more. The runs it started stay. This cannot be undone.
          </p>
          <div class="dialog__buttons">
            <button type="button" class="button" disabled={busy} onClick={() => setConfirming(false)}>
              Keep schedule
            </button>
            <button type="button" class="button button--danger" disabled={busy} onClick={() => void remove()}>
              {busy ? 'Deleting…' : 'Delete schedule'}
            </button>
          </div>
        </Dialog>
      )}
    </div>
  );
}
