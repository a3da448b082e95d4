// Runs list (/{ws}/monitoring/workflow-runs): status chips, workflow filter, search by
// run id, cursor pages, refreshed live. The filters live in the URL so a filtered view
// can be bookmarked and shared.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, type Page, type Run, type Session, type Workflow } from '../api';
import { StatusBadge } from '../components/Badge';
import { RefreshIcon } from '../components/Icons';
import { Time } from '../components/Time';
import { between } from '../format';
import { usePoll } from '../poll';
import { navigate, onLinkClick, useLocation } from '../router';
import { runPath, useSession, workflowPath } from '../session';

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

// The page's URL query, with the parameters it knows.
function readFilters(search: URLSearchParams) {
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
type Filters = ReturnType<typeof readFilters>;

function toQuery(f: Filters): string {
  const q = new URLSearchParams();
  for (const key of ['status', 'pause_reason', 'workflow_id', 'q', 'cursor'] as const) {
    if (f[key]) {
      q.set(key, f[key]);
    }
  }
  if (f.limit !== DEFAULT_LIMIT) {
    q.set('limit', String(f.limit));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

export function RunsList() {
  const session = useSession();
  const { path, search } = useLocation();
  const filters = readFilters(search);
  const key = toQuery(filters);
  const [page, setPage] = useState<Page<Run> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [workflows, setWorkflows] = useState<Workflow[]>([]);
  // Cursors of the pages before this one, so "Newer" can go back.
  const [previous, setPrevious] = useState<string[]>([]);
  const [query, setQuery] = useState(filters.q);
  const seq = useRef(0);

  const load = async () => {
    const mine = ++seq.current;
    try {
      const { cursor, ...rest } = filters;
      const result = await api.listRuns({ ...rest, cursor: cursor || undefined });
      if (mine === seq.current) {
        setPage(result);
        setError(null);
      }
    } catch (err) {
      if (mine === seq.current) {
        setError(err instanceof ApiError ? err.message : String(err));
      }
    }
  };

  useEffect(() => {
    void load();
  }, [key]);
  usePoll(load, true);

  useEffect(() => {
    api.listWorkflows().then(
      (p) => setWorkflows(p.items),
      () => setWorkflows([]),
    );
  }, []);

  const go = (next: Partial<Filters>, opts: { keepPages?: boolean } = {}) => {
    if (!opts.keepPages) {
      setPrevious([]);
      next = { ...next, cursor: '' };
    }
    navigate(path + toQuery({ ...filters, ...next }));
  };

  // The URL may change under the field (back and forward).
  useEffect(() => {
    setQuery((typed) => (typed.trim() === filters.q ? typed : filters.q));
  }, [filters.q]);

  // Search as the operator types, once they pause.
  useEffect(() => {
    if (query.trim() === filters.q) {
      return;
    }
    const timer = window.setTimeout(() => go({ q: query.trim() }), SEARCH_DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [query]);

  const chipActive = (c: Chip) =>
    (c.status ?? '') === filters.status && (c.pause_reason ?? '') === filters.pause_reason;

  return (
    <section class="page" aria-labelledby="runs-title">
      <div class="page__header">
        <h1 id="runs-title">Workflow runs</h1>
        <button type="button" class="button" onClick={() => void load()}>
          <RefreshIcon /> Refresh
        </button>
      </div>

      <div class="filters">
        <div class="chips" role="group" aria-label="Filter by status">
          {CHIPS.map((c) => (
            <button
              type="button"
              class="chip"
              aria-pressed={chipActive(c)}
              onClick={() => go({ status: c.status ?? '', pause_reason: c.pause_reason ?? '' })}
            >
              {c.label}
            </button>
          ))}
        </div>
        <div class="filters__row">
          <div class="field">
            <label for="workflow-filter">Workflow</label>
            <select
              id="workflow-filter"
              value={filters.workflow_id}
              onChange={(e) => go({ workflow_id: (e.target as HTMLSelectElement).value })}
            >
              <option value="">All workflows</option>
              {workflows.map((w) => (
                <option value={w.id}>{w.id}</option>
              ))}
              {filters.workflow_id && !workflows.some((w) => w.id === filters.workflow_id) && (
                <option value={filters.workflow_id}>{filters.workflow_id}</option>
              )}
            </select>
          </div>
          <form
            class="field"
            role="search"
            onSubmit={(e) => {
              e.preventDefault();
              go({ q: query.trim() });
            }}
          >
            <label for="run-search">Search by run ID</label>
            <input
              id="run-search"
              type="search"
              placeholder="run_…"
              value={query}
              onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
            />
          </form>
        </div>
      </div>

      {error && (
        <p class="banner banner--error" role="alert">
          Could not load the runs: {error}
        </p>
      )}
      {page === null && !error && <p class="muted">Loading…</p>}
      {page && <RunsTable runs={page.items} session={session} />}
      {page && page.items.length === 0 && <p class="empty">No workflow runs match these filters.</p>}

      <nav class="pager" aria-label="Pages">
        {filters.cursor && (
          <button
            type="button"
            class="button"
            onClick={() => {
              const back = previous.slice(0, -1);
              setPrevious(back);
              go({ cursor: previous[previous.length - 1] ?? '' }, { keepPages: true });
            }}
          >
            ← Newer
          </button>
        )}
        {page?.next_cursor && (
          <button
            type="button"
            class="button"
            onClick={() => {
              setPrevious([...previous, filters.cursor]);
              go({ cursor: page.next_cursor! }, { keepPages: true });
            }}
          >
            Older →
          </button>
        )}
      </nav>
    </section>
  );
}

function RunsTable(props: { runs: Run[]; session: Session }) {
  const { session } = props;
  if (props.runs.length === 0) {
    return null;
  }
  return (
    <div class="table-wrap">
      <table class="table runs-table">
        <caption class="visually-hidden">Workflow runs, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Run ID</th>
            <th scope="col">Workflow</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
            <th scope="col" class="hide-narrow">
              Duration
            </th>
          </tr>
        </thead>
        <tbody>
          {props.runs.map((r) => (
            <tr key={r.id} data-run-id={r.id}>
              <td>
                <a class="mono" href={runPath(session, r.id)} onClick={onLinkClick}>
                  {r.id}
                </a>
                {r.parent_run_id && (
                  <div class="runs-table__parent muted">
                    child of{' '}
                    <a class="mono" href={runPath(session, r.parent_run_id)} onClick={onLinkClick}>
                      {r.parent_run_id}
                    </a>
                  </div>
                )}
              </td>
              <td>
                <a href={workflowPath(session, r.workflow_id)} onClick={onLinkClick}>
                  {r.workflow_id}
                </a>{' '}
                <span class="muted">v{r.workflow_version}</span>
              </td>
              <td>
                <StatusBadge
                  status={r.status}
                  label={r.pause?.reason === 'reauth' ? 'Paused for reauth' : undefined}
                />
              </td>
              <td>
                <Time at={r.created_at} />
              </td>
              <td class="hide-narrow">{between(r.started_at, r.finished_at) ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
