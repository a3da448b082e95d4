// The runs a connection holds: those paused for reauth (GET /api/v1/runs?pause_reason=
// reauth) and the agent-mode ones waiting for it (?wait_kind=reauth) whose hold names
// this connection, newest first. The API filters by hold, not by connection, so each
// list is read up to HELD_LIMIT and the page says when there were more.
import { api, type Run } from '../../api';
import { RunStatusBadge } from '../../components/Badge';
import { RunLink, WorkflowLink } from '../../components/Links';
import { ListTable, type Column } from '../../components/ListTable';
import { Time } from '../../components/Time';
import { useResource } from '../../resource';
import { WaitPill } from '../../waits';

const HELD_LIMIT = 500;

interface Held {
  runs: Run[];
  // A list had more runs than were read.
  more: boolean;
}

function heldBy(run: Run, connectionId: string): boolean {
  if (run.status === 'paused') {
    return run.pause?.reason === 'reauth' && run.pause.connection_id === connectionId;
  }
  return run.status === 'waiting' && run.wait?.kind === 'reauth' && run.wait.connection_id === connectionId;
}

async function loadHeld(connectionId: string): Promise<Held> {
  const [paused, waiting] = await Promise.all([
    api.listRuns({ pause_reason: 'reauth', limit: HELD_LIMIT }),
    api.listRuns({ wait_kind: 'reauth', limit: HELD_LIMIT }),
  ]);
  const runs = [...paused.items, ...waiting.items]
    .filter((r) => heldBy(r, connectionId))
    .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
  return { runs, more: paused.next_cursor !== null || waiting.next_cursor !== null };
}

export function HeldRuns(props: { connectionId: string }) {
  const { connectionId } = props;
  const held = useResource(() => loadHeld(connectionId), [connectionId], { poll: true });
  return (
    <section class="card" aria-labelledby="held-title">
      <h2 id="held-title">Runs it holds</h2>
      <ListTable
        noun="held runs"
        error={held.error}
        rows={held.data?.runs}
        empty="No run is held by this connection."
        caption="Runs held by this connection, newest first"
        class="held-table"
        columns={COLUMNS}
        rowKey={(r) => r.id}
        rowAttributes={(r) => ({ 'data-run-id': r.id })}
      />
      {held.data?.more && <p class="muted">Only the newest {HELD_LIMIT} held runs of the workspace were looked at.</p>}
    </section>
  );
}

const COLUMNS: Column<Run>[] = [
  { header: 'Run ID', cell: (r) => <RunLink id={r.id} /> },
  { header: 'Workflow', cell: (r) => <WorkflowLink id={r.workflow_id} /> },
  {
    header: 'Status',
    cell: (r) => (
      <span class="held-table__status">
        <RunStatusBadge run={r} /> <WaitPill run={r} />
      </span>
    ),
  },
  { header: 'Held since', hideNarrow: true, cell: (r) => <Time at={r.pause?.at ?? r.updated_at} /> },
];
