// What the schedule pages and the workflow page show of a schedule: its cron and zone,
// its state (Active, or Paused with the pause icon) and a fire time.
import type { Schedule } from '../../api';
import { StatusBadge } from '../../components/Badge';
import { Time } from '../../components/Time';
import { zonedTime } from '../../schedules';

export function CronText(props: { schedule: Schedule }) {
  return (
    <>
      <code>{props.schedule.cron}</code> <span class="muted">{props.schedule.timezone}</span>
    </>
  );
}

export function ScheduleStateBadge(props: { schedule: Schedule }) {
  return <StatusBadge status={props.schedule.paused ? 'paused' : 'active'} />;
}

// Relative ("in 3 hours", the exact time on hover) and the wall-clock time in the
// schedule's zone, which is how its cron reads ("Mon, Dec 7, 09:30 Europe/Berlin").
export function FireTime(props: { at: string; timezone: string }) {
  const wall = zonedTime(props.at, props.timezone);
  return (
    <span class="fire-time">
      <Time at={props.at} />
      {wall && (
        <span class="muted">
          {' '}
          · {wall} {props.timezone}
        </span>
      )}
    </span>
  );
}
