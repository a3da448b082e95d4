// Connections (/{ws}/connections): every connection of the workspace, newest first, with
// its status, why its last refresh failed for good and when, and when its access token
// expires. Chips filter by status (in the URL); the list reloads every 10 s, as a
// connection falls into `error` by itself when a run's refresh is refused.
import { useEffect } from 'preact/hooks';
import { api, type Connection } from '../../api';
import { StatusBadge } from '../../components/Badge';
import { FilterChips } from '../../components/Chips';
import { RefreshIcon } from '../../components/Icons';
import { ListTable, type Column } from '../../components/ListTable';
import { Pager } from '../../components/Pager';
import { Time } from '../../components/Time';
import { connectionPath } from '../../connections';
import { useListQuery } from '../../list';
import { useResource } from '../../resource';
import { onLinkClick } from '../../router';
import { useSession } from '../../session';

const PAGE_SIZE = 50;

const CHIPS: { label: string; status: string }[] = [
  { label: 'All', status: '' },
  { label: 'Active', status: 'active' },
  { label: 'Needs reauth', status: 'error' },
];

const DEFAULTS = { status: '', cursor: '' };
type Filters = typeof DEFAULTS;

function readFilters(search: URLSearchParams): Filters {
  return { status: search.get('status') ?? '', cursor: search.get('cursor') ?? '' };
}

export function ConnectionsList() {
  const { filters, go, newer, older } = useListQuery(readFilters, DEFAULTS);
  const connections = useResource(
    () => api.listConnections({ ...filters, cursor: filters.cursor || undefined, limit: PAGE_SIZE }),
    [filters],
    { poll: true },
  );
  const page = connections.data;

  useEffect(() => {
    document.title = 'Connections · Stepwell';
    return () => {
      document.title = 'Stepwell';
    };
  }, []);

  return (
    <section class="page" aria-labelledby="connections-title">
      <div class="page__header">
        <h1 id="connections-title">Connections</h1>
        <button type="button" class="button" onClick={() => void connections.reload()}>
          <RefreshIcon /> Refresh
        </button>
      </div>
      <FilterChips
        label="Filter by status"
        chips={CHIPS}
        pressed={(c) => c.status === filters.status}
        onChoose={(c) => go({ status: c.status })}
      />
      <ListTable
        noun="connections"
        error={connections.error}
        rows={page?.items}
        empty={filters.status ? 'No connections match this filter.' : 'No connections yet. An admin creates one with POST /api/v1/connections.'}
        caption="Connections, newest first"
        class="connections-table"
        columns={COLUMNS}
        rowKey={(c) => c.id}
        rowAttributes={(c) => ({ 'data-connection-id': c.id })}
      />
      <Pager onNewer={newer} onOlder={page?.next_cursor ? () => older(page.next_cursor!) : undefined} />
    </section>
  );
}

function ConnectionLink(props: { connection: Connection }) {
  return (
    <a href={connectionPath(useSession(), props.connection.id)} onClick={onLinkClick}>
      {props.connection.name}
    </a>
  );
}

const COLUMNS: Column<Connection>[] = [
  { header: 'Name', cell: (c) => <ConnectionLink connection={c} /> },
  { header: 'App', hideNarrow: true, cell: (c) => c.app },
  { header: 'Status', cell: (c) => <StatusBadge status={c.status} /> },
  {
    header: 'Last error',
    cell: (c) =>
      c.error ? (
        <>
          <span class="connections-table__error">{c.error.message}</span>{' '}
          <span class="muted">
            <Time at={c.error.at} />
          </span>
        </>
      ) : (
        <span class="muted">—</span>
      ),
  },
  { header: 'Token expires', hideNarrow: true, cell: (c) => <Time at={c.expires_at} empty="—" /> },
];
