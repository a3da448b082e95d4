// Runs list (/{ws}/monitoring/workflow-runs): status chips, workflow filter, search by
// run id, cursor pages, refreshed live; for operators, a checkbox on each row (and one
// for the whole page) and bulk actions on the runs ticked, or on every run the filters
// match when none is (BulkActions). The filters live in the URL (list.ts) so a
// filtered view can be bookmarked and shared; the selection is of runs on the page shown
// (a run that leaves it, by a refresh or another page, leaves the selection).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, canControl, type Run } from '../api';
import { RunStatusBadge } from '../components/Badge';
import { FilterChips } from '../components/Chips';
import { RefreshIcon } from '../components/Icons';
import { ListTable, type Column } from '../components/ListTable';
import { Pager } from '../components/Pager';
import { RunLink, WorkflowLink } from '../components/Links';
import { Time } from '../components/Time';
import { between } from '../format';
import { useListQuery } from '../list';
import { useResource } from '../resource';
import { useSession } from '../session';
import { BulkActions } from './BulkActions';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;
const SEARCH_DEBOUNCE_MS = 300;

interface Chip {
  label: string;
  status?: string;
  pause_reason?: string;
}

const CHIPS: Chip[] = [
  { label: 'All' },
  { label: 'Pending', status: 'pending' },
  { label: 'Running', status: 'running' },
  { label: 'Paused', status: 'paused' },
  { label: 'Paused for reauth', status: 'paused', pause_reason: 'reauth' },
  { label: 'Waiting', status: 'waiting' },
  { label: 'Completed', status: 'completed' },
  { label: 'Failed', status: 'failed' },
  { label: 'Cancelled', status: 'cancelled' },
];

const DEFAULTS = { status: '', pause_reason: '', workflow_id: '', q: '', cursor: '', limit: DEFAULT_LIMIT };
type Filters = typeof DEFAULTS;

// The page's URL query, with the parameters it knows.
function readFilters(search: URLSearchParams): Filters {
  const limit = Number(search.get('limit'));
  return {
    status: search.get('status') ?? '',
    pause_reason: search.get('pause_reason') ?? '',
    workflow_id: search.get('workflow_id') ?? '',
    q: search.get('q') ?? '',
    cursor: search.get('cursor') ?? '',
    limit: Number.isInteger(limit) && limit > 0 ? Math.min(limit, MAX_LIMIT) : DEFAULT_LIMIT,
  };
}

export function RunsList() {
  const { filters, go, newer, older } = useListQuery(readFilters, DEFAULTS);
  const runs = useResource(
    () => api.listRuns({ ...filters, cursor: filters.cursor || undefined }),
    [filters],
    { poll: true },
  );
  const page = runs.data;

  const controls = canControl(useSession().role);
  const [selected, setSelected] = useState<string[]>([]);
  const pageIds = page?.items.map((r) => r.id) ?? [];
  const pageKey = pageIds.join(',');
  useEffect(() => {
    const shown = new Set(pageKey.split(','));
    setSelected((s) => (s.every((id) => shown.has(id)) ? s : s.filter((id) => shown.has(id))));
  }, [pageKey]);
  const toggle = (id: string, on: boolean) =>
    setSelected((s) => (on ? (s.includes(id) ? s : [...s, id]) : s.filter((x) => x !== id)));
  const allOnPage = pageIds.length > 0 && pageIds.every((id) => selected.includes(id));
  const selectColumn: Column<Run> = {
    header: 'Select',
    class: 'runs-table__select',
    headerCell: (
      <input
        type="checkbox"
        aria-label="Select all runs on this page"
        checked={allOnPage}
        indeterminate={selected.length > 0 && !allOnPage}
        onChange={(e) => setSelected((e.target as HTMLInputElement).checked ? pageIds : [])}
      />
    ),
    cell: (r) => (
      <input
        type="checkbox"
        aria-label={`Select ${r.id}`}
        checked={selected.includes(r.id)}
        onChange={(e) => toggle(r.id, (e.target as HTMLInputElement).checked)}
      />
    ),
  };
  // The list's filters, as a bulk operation's (its page aside).
  const bulkFilter = Object.fromEntries(
    (['status', 'pause_reason', 'workflow_id', 'q'] as const)
      .filter((k) => filters[k] !== '')
      .map((k) => [k, filters[k]]),
  );

  const chipActive = (c: Chip) =>
    (c.status ?? '') === filters.status && (c.pause_reason ?? '') === filters.pause_reason;

  return (
    <section class="page" aria-labelledby="runs-title">
      <div class="page__header">
        <h1 id="runs-title">Workflow runs</h1>
        <button type="button" class="button" onClick={() => void runs.reload()}>
          <RefreshIcon /> Refresh
        </button>
      </div>

      <div class="filters">
        <FilterChips
          label="Filter by status"
          chips={CHIPS}
          pressed={chipActive}
          onChoose={(c) => go({ status: c.status ?? '', pause_reason: c.pause_reason ?? '' })}
        />
        <div class="filters__row">
          <WorkflowFilter value={filters.workflow_id} onChange={(workflow_id) => go({ workflow_id })} />
          <RunSearch q={filters.q} onSearch={(q) => go({ q })} />
        </div>
      </div>

      {controls && <BulkActions filter={bulkFilter} selected={selected} onClearSelection={() => setSelected([])} />}

      <ListTable
        noun="runs"
        error={runs.error}
        rows={page?.items}
        empty="No workflow runs match these filters."
        caption="Workflow runs, newest first"
        class="runs-table"
        columns={controls ? [selectColumn, ...RUN_COLUMNS] : RUN_COLUMNS}
        rowKey={(r) => r.id}
        rowAttributes={(r) => ({ 'data-run-id': r.id, ...(selected.includes(r.id) ? { 'data-selected': 'true' } : {}) })}
      />
      <Pager onNewer={newer} onOlder={page?.next_cursor ? () => older(page.next_cursor!) : undefined} />
    </section>
  );
}

function WorkflowFilter(props: { value: string; onChange: (workflowId: string) => void }) {
  const workflows = useResource(() => api.listWorkflows(), []).data?.items ?? [];
  return (
    <div class="field">
      <label for="workflow-filter">Workflow</label>
      <select
        id="workflow-filter"
        value={props.value}
        onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}
      >
        <option value="">All workflows</option>
        {workflows.map((w) => (
          <option value={w.id} key={w.id}>
            {w.id}
          </option>
        ))}
        {props.value && !workflows.some((w) => w.id === props.value) && <option value={props.value}>{props.value}</option>}
      </select>
    </div>
  );
}

// Searches as the operator types, once they pause. The field is the operator's until the
// URL's `q` changes under it (back and forward), which it then shows.
function RunSearch(props: { q: string; onSearch: (q: string) => void }) {
  const inputRef = useRef<HTMLInputElement>(null);
  const timerRef = useRef<number | undefined>(undefined);
  const { q, onSearch } = props;

  useEffect(() => {
    const field = inputRef.current!;
    if (field.value.trim() !== q) {
      field.value = q;
    }
  }, [q]);
  useEffect(() => () => window.clearTimeout(timerRef.current), []);

  const typed = () => inputRef.current!.value.trim();
  return (
    <form
      class="field"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        window.clearTimeout(timerRef.current);
        onSearch(typed());
      }}
    >
      <label for="run-search">Search by run ID</label>
      <input
        id="run-search"
        ref={inputRef}
        type="search"
        placeholder="run_…"
        defaultValue={q}
        onInput={() => {
          window.clearTimeout(timerRef.current);
          timerRef.current = window.setTimeout(() => {
            if (typed() !== q) {
              onSearch(typed());
            }
          }, SEARCH_DEBOUNCE_MS);
        }}
      />
    </form>
  );
}

const RUN_COLUMNS: Column<Run>[] = [
  {
    header: 'Run ID',
    cell: (r) => (
      <>
        <RunLink id={r.id} />
        {r.parent_run_id && (
          <div class="runs-table__parent muted">
            child of <RunLink id={r.parent_run_id} />
          </div>
        )}
      </>
    ),
  },
  {
    header: 'Workflow',
    cell: (r) => (
      <>
        <WorkflowLink id={r.workflow_id} /> <span class="muted">v{r.workflow_version}</span>
      </>
    ),
  },
  { header: 'Status', cell: (r) => <RunStatusBadge run={r} /> },
  { header: 'Created', cell: (r) => <Time at={r.created_at} /> },
  { header: 'Duration', hideNarrow: true, cell: (r) => between(r.started_at, r.finished_at) ?? '—' },
];
