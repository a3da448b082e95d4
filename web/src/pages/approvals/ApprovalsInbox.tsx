// The approvals inbox (/{ws}/monitoring/approvals): every approval of the workspace,
// pending first (the server's order), each with what it gates and the decision buttons
// (ApprovalCard). Status chips and `run_id` (the run page's *Awaiting approval* pill
// links here with it) filter; the filters live in the URL (list.ts). Reloads every 10 s,
// as new requests for a decision come in by themselves.
import { useEffect } from 'preact/hooks';
import { api, type Approval } from '../../api';
import { FilterChips } from '../../components/Chips';
import { RefreshIcon } from '../../components/Icons';
import { RunLink } from '../../components/Links';
import { Pager } from '../../components/Pager';
import { useListQuery } from '../../list';
import { useResource } from '../../resource';
import { ApprovalCard } from './ApprovalCard';

const PAGE_SIZE = 50;

const CHIPS: { label: string; status: string }[] = [
  { label: 'All', status: '' },
  { label: 'Pending', status: 'pending' },
  { label: 'Approved', status: 'approved' },
  { label: 'Denied', status: 'denied' },
  { label: 'Expired', status: 'expired' },
];

const DEFAULTS = { status: '', run_id: '', cursor: '' };
type Filters = typeof DEFAULTS;

function readFilters(search: URLSearchParams): Filters {
  return {
    status: search.get('status') ?? '',
    run_id: search.get('run_id') ?? '',
    cursor: search.get('cursor') ?? '',
  };
}

export function ApprovalsInbox() {
  const { filters, go, newer, older } = useListQuery(readFilters, DEFAULTS);
  const approvals = useResource(
    () => api.listApprovals({ ...filters, limit: PAGE_SIZE }),
    [filters],
    { poll: true },
  );
  const page = approvals.data;

  useEffect(() => {
    document.title = 'Approvals · Stepwell';
    return () => {
      document.title = 'Stepwell';
    };
  }, []);

  // A decision's answer replaces its approval in the list at once.
  const replace = (updated: Approval) =>
    approvals.set((old) => ({ ...old, items: old.items.map((a) => (a.id === updated.id ? updated : a)) }));

  return (
    <section class="page" aria-labelledby="approvals-title">
      <div class="page__header">
        <h1 id="approvals-title">Approvals</h1>
        <button type="button" class="button" onClick={() => void approvals.reload()}>
          <RefreshIcon /> Refresh
        </button>
      </div>
      <div class="filters">
        <FilterChips
          label="Filter by status"
          chips={CHIPS}
          pressed={(c) => c.status === filters.status}
          onChoose={(c) => go({ status: c.status })}
        />
        {filters.run_id && (
          <p class="muted">
            Approvals of run <RunLink id={filters.run_id} />.{' '}
            <button type="button" class="link-button" onClick={() => go({ run_id: '' })}>
              Show all
            </button>
          </p>
        )}
      </div>
      {approvals.error && (
        <p class="banner banner--error" role="alert">
          Could not load the approvals: {approvals.error.message}
        </p>
      )}
      {!page && !approvals.error && <p class="muted">Loading…</p>}
      {page?.items.length === 0 && <p class="empty">No approvals match these filters.</p>}
      {page && page.items.length > 0 && (
        <ul class="approvals" aria-label="Approvals, pending first">
          {page.items.map((a) => (
            <ApprovalCard key={a.id} approval={a} onDecided={replace} onStale={() => void approvals.reload()} />
          ))}
        </ul>
      )}
      <Pager onNewer={newer} onOlder={page?.next_cursor ? () => older(page.next_cursor!) : undefined} />
    </section>
  );
}
