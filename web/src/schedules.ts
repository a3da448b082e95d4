// What several pages say about schedules: a schedule's page, a fire time as the
// schedule's own zone reads it, the words for its policies, and the schedules of one
// workflow.
import { api, type Schedule, type ScheduleCatchUp, type ScheduleOverlap, type Session } from './api';
import { wsPath } from './session';

export function schedulesPath(session: Session): string {
  return wsPath(session, 'schedules');
}

export function schedulePath(session: Session, scheduleId: string): string {
  return wsPath(session, `schedules/${encodeURIComponent(scheduleId)}`);
}

// `iso` as a wall-clock time in `timeZone` ("Mon, Dec 7, 09:30"); null for a zone this
// browser does not know (the server's tz database may be newer).
export function zonedTime(iso: string, timeZone: string): string | null {
  try {
    return new Intl.DateTimeFormat('en', {
      timeZone,
      weekday: 'short',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(new Date(iso));
  } catch {
    return null;
  }
}

// The IANA zones this browser knows, for the form's suggestions (none in a browser
// without Intl.supportedValuesOf).
export function knownTimeZones(): string[] {
  const intl = Intl as { supportedValuesOf?: (key: string) => string[] };
  try {
    return intl.supportedValuesOf?.('timeZone') ?? [];
  } catch {
    return [];
  }
}

export const OVERLAP_TEXT: Record<ScheduleOverlap, string> = {
  skip: 'Skip: no run while the previous one is not finished',
  allow: 'Allow: start beside the previous run',
  cancel_previous: 'Cancel previous: cancel the previous run and start',
};

export const CATCH_UP_TEXT: Record<ScheduleCatchUp, string> = {
  none: 'None: missed ticks never fire',
  latest: 'Latest: the latest missed tick fires once',
  all: 'All: every missed tick fires (up to the maximum)',
};

// Pages of one workflow's schedules read, at most (500 each).
const MAX_PAGES = 10;
const PAGE_SIZE = 500;

// The schedules of `workflowId`, newest first (the first MAX_PAGES pages of them).
export async function workflowSchedules(workflowId: string): Promise<Schedule[]> {
  const found: Schedule[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await api.listSchedules({ workflow_id: workflowId, limit: PAGE_SIZE, cursor });
    found.push(...page.items);
    if (!page.next_cursor) {
      break;
    }
    cursor = page.next_cursor;
  }
  return found;
}
