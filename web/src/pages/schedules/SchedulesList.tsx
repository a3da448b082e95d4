// Schedules (/{ws}/schedules): the workspace's schedules, newest first, each with its
// workflow, cron and zone, state, next fire time, last tick fired and the run it started.
// An admin creates one (New schedule, a dialog; `?new=WORKFLOW` opens it with that
// workflow chosen), pauses, resumes and deletes them; other roles read. Reloads every 10 s, as
// the next fire times move on by themselves.
import { useEffect, useState } from 'preact/hooks';
import { api, type Schedule } from '../../api';
import { RefreshIcon } from '../../components/Icons';
import { RunLink, WorkflowLink } from '../../components/Links';
import { ListTable, type Column } from '../../components/ListTable';
import { Pager } from '../../components/Pager';
import { Time } from '../../components/Time';
import { useListQuery } from '../../list';
import { useResource } from '../../resource';
import { navigate, onLinkClick, useLocation } from '../../router';
import { schedulePath } from '../../schedules';
import { useSession } from '../../session';
import { NewScheduleDialog } from './ScheduleFormDialog';
import { CronText, FireTime, ScheduleStateBadge } from './ScheduleParts';
import { ScheduleControls } from './ScheduleControls';

const PAGE_SIZE = 50;

const DEFAULTS = { cursor: '' };
type Filters = typeof DEFAULTS;

function readFilters(search: URLSearchParams): Filters {
  return { cursor: search.get('cursor') ?? '' };
}

export function SchedulesList() {
  const session = useSession();
  const admin = session.role === 'admin';
  const { filters, newer, older } = useListQuery(readFilters, DEFAULTS);
  const { cursor } = filters;
  const { path, search } = useLocation();
  // The New schedule dialog is open: with this workflow chosen ('' for none). A link's
  // `?new=WORKFLOW` opens it; closing it drops that from the URL.
  const [creating, setCreating] = useState<string | null>(() => search.get('new'));
  const closeForm = () => {
    setCreating(null);
    if (search.has('new')) {
      const rest = new URLSearchParams(search);
      rest.delete('new');
      navigate(rest.size > 0 ? `${path}?${rest.toString()}` : path, { replace: true });
    }
  };
  const schedules = useResource(() => api.listSchedules({ cursor: cursor || undefined, limit: PAGE_SIZE }), [cursor], {
    poll: true,
  });
  const page = schedules.data;

  useEffect(() => {
    document.title = 'Schedules · Stepwell';
    return () => {
      document.title = 'Stepwell';
    };
  }, []);

  const replace = (updated: Schedule) =>
    schedules.set((p) => ({ ...p, items: p.items.map((s) => (s.id === updated.id ? updated : s)) }));
  const columns: Column<Schedule>[] = [
    ...COLUMNS,
    ...(admin
      ? [
          {
            header: 'Actions',
            cell: (s: Schedule) => (
              <ScheduleControls schedule={s} onChanged={replace} onDeleted={() => void schedules.reload()} />
            ),
          },
        ]
      : []),
  ];

  return (
    <section class="page" aria-labelledby="schedules-title">
      <div class="page__header">
        <h1 id="schedules-title">Schedules</h1>
        <div class="actions">
          {admin && (
            <button type="button" class="button button--primary" onClick={() => setCreating('')}>
              New schedule
            </button>
          )}
          <button type="button" class="button" onClick={() => void schedules.reload()}>
            <RefreshIcon /> Refresh
          </button>
        </div>
      </div>
      {!admin && <p class="muted">Only an admin can create, pause, resume or delete schedules.</p>}
      <ListTable
        noun="schedules"
        error={schedules.error}
        rows={page?.items}
        empty={admin ? 'No schedules yet. New schedule starts runs of a workflow at the times a cron expression names.' : 'No schedules yet.'}
        caption="Schedules, newest first"
        class="schedules-table"
        columns={columns}
        rowKey={(s) => s.id}
        rowAttributes={(s) => ({ 'data-schedule-id': s.id })}
      />
      <Pager onNewer={newer} onOlder={page?.next_cursor ? () => older(page.next_cursor!) : undefined} />
      {admin && creating !== null && (
        <NewScheduleDialog
          workflowId={creating}
          onClose={closeForm}
          onCreated={() => {
            closeForm();
            void schedules.reload();
          }}
        />
      )}
    </section>
  );
}

function ScheduleLink(props: { schedule: Schedule }) {
  return (
    <a class="mono" href={schedulePath(useSession(), props.schedule.id)} onClick={onLinkClick}>
      {props.schedule.id}
    </a>
  );
}

const COLUMNS: Column<Schedule>[] = [
  { header: 'Schedule', cell: (s) => <ScheduleLink schedule={s} /> },
  { header: 'Workflow', cell: (s) => <WorkflowLink id={s.workflow_id} /> },
  { header: 'Cron', cell: (s) => <CronText schedule={s} /> },
  { header: 'State', cell: (s) => <ScheduleStateBadge schedule={s} /> },
  {
    header: 'Next fire',
    cell: (s) =>
      s.next_fire_times.length > 0 ? <FireTime at={s.next_fire_times[0]} timezone={s.timezone} /> : <span class="muted">—</span>,
  },
  { header: 'Last fired', hideNarrow: true, cell: (s) => <Time at={s.last_fired_at} empty="never" /> },
  { header: 'Last run', hideNarrow: true, cell: (s) => (s.last_run_id ? <RunLink id={s.last_run_id} /> : <span class="muted">—</span>) },
];
