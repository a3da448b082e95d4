// One schedule (/{ws}/schedules/{id}): its state, an admin's Edit (a form of its cron,
// zone, input and policies) and Pause / Resume / Delete, the overview (workflow, cron and
// zone, policies, the last tick fired and its run), the next five fire times and the
// input of the runs it starts. Reloads every 10 s.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../api';
import { Breadcrumb } from '../../components/Breadcrumb';
import { RefreshIcon } from '../../components/Icons';
import { Json } from '../../components/Json';
import { RunLink, WorkflowLink } from '../../components/Links';
import { PageLoadState } from '../../components/LoadState';
import { MetaList } from '../../components/MetaList';
import { Time } from '../../components/Time';
import { useResource } from '../../resource';
import { navigate } from '../../router';
import { CATCH_UP_TEXT, OVERLAP_TEXT, schedulesPath } from '../../schedules';
import { useSession } from '../../session';
import { ScheduleControls } from './ScheduleControls';
import { EditScheduleDialog } from './ScheduleFormDialog';
import { CronText, FireTime, ScheduleStateBadge } from './ScheduleParts';

export function ScheduleDetail(props: { scheduleId: string }) {
  const { scheduleId } = props;
  const session = useSession();
  const resource = useResource(() => api.getSchedule(scheduleId), [scheduleId], { poll: true });
  const schedule = resource.data;
  // The schedule as the Edit form was opened on (its version is what the save names).
  const [editing, setEditing] = useState<typeof schedule | null>(null);

  useEffect(() => {
    document.title = `${scheduleId} · Stepwell`;
    return () => {
      document.title = 'Stepwell';
    };
  }, [scheduleId]);

  const breadcrumb = (
    <Breadcrumb listPath={schedulesPath(session)} listName="Schedules">
      <span aria-current="page" class="mono">
        {scheduleId}
      </span>
    </Breadcrumb>
  );
  if (!schedule) {
    return <PageLoadState noun="schedule" error={resource.error} breadcrumb={breadcrumb} />;
  }

  return (
    <section class="page" aria-labelledby="schedule-title">
      {breadcrumb}
      <div class="page__header">
        <div class="run__title">
          <h1 id="schedule-title">
            <span class="visually-hidden">Schedule </span>
            <span class="mono">{schedule.id}</span>
          </h1>
          <ScheduleStateBadge schedule={schedule} />
        </div>
        <div class="actions">
          {session.role === 'admin' && (
            <button type="button" class="button" onClick={() => setEditing(schedule)}>
              Edit
            </button>
          )}
          {session.role === 'admin' && (
            <ScheduleControls
              schedule={schedule}
              onChanged={(updated) => resource.set(() => updated)}
              onDeleted={() => navigate(schedulesPath(session))}
            />
          )}
          <button type="button" class="button" onClick={() => void resource.reload()}>
            <RefreshIcon /> Refresh
          </button>
        </div>
      </div>
      {resource.error && (
        <p class="banner banner--error" role="alert">
          Could not reload the schedule: {resource.error.message}
        </p>
      )}
      {editing && (
        <EditScheduleDialog
          schedule={editing}
          onClose={() => setEditing(null)}
          onSaved={(saved) => {
            setEditing(null);
            resource.set(() => saved);
          }}
        />
      )}
      <section class="card" aria-labelledby="schedule-overview-title">
        <h2 id="schedule-overview-title">Overview</h2>
        <MetaList
          rows={[
            ['Workflow', <WorkflowLink id={schedule.workflow_id} />],
            ['Cron', <CronText schedule={schedule} />],
            ['Overlap', OVERLAP_TEXT[schedule.overlap] ?? schedule.overlap],
            [
              'Catch-up',
              schedule.catch_up === 'all'
                ? `${CATCH_UP_TEXT.all}: ${schedule.max_catch_up}`
                : (CATCH_UP_TEXT[schedule.catch_up] ?? schedule.catch_up),
            ],
            ['Last fired', <Time at={schedule.last_fired_at} empty="never" />],
            ['Last run', schedule.last_run_id ? <RunLink id={schedule.last_run_id} /> : <span class="muted">—</span>],
            ['Created', <Time at={schedule.created_at} />],
            ['Updated', <Time at={schedule.updated_at} />],
          ]}
        />
      </section>
      <section class="card" aria-labelledby="schedule-next-title">
        <h2 id="schedule-next-title">Next fire times</h2>
        {schedule.paused ? (
          <p class="muted">Paused: no tick fires until it is resumed, and the ticks that pass meanwhile never fire.</p>
        ) : schedule.next_fire_times.length === 0 ? (
          <p class="muted">None.</p>
        ) : (
          <ol class="plain-list next-fires">
            {schedule.next_fire_times.map((at) => (
              <li key={at}>
                <FireTime at={at} timezone={schedule.timezone} />
              </li>
            ))}
          </ol>
        )}
      </section>
      <section class="card" aria-labelledby="schedule-input-title">
        <h2 id="schedule-input-title">Input</h2>
        <Json value={schedule.input} label="Input of the runs it starts" />
      </section>
    </section>
  );
}
