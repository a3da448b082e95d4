// Workflows (/{ws}/workflows): every workflow of the workspace with its status.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type Workflow } from '../api';
import { StatusBadge } from '../components/Badge';
import { Time } from '../components/Time';
import { onLinkClick } from '../router';
import { useSession, workflowPath } from '../session';

export function WorkflowsList() {
  const session = useSession();
  const [workflows, setWorkflows] = useState<Workflow[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.listWorkflows().then(
      (p) => setWorkflows(p.items),
      (err) => setError(err instanceof ApiError ? err.message : String(err)),
    );
  }, []);

  return (
    <section class="page" aria-labelledby="workflows-title">
      <div class="page__header">
        <h1 id="workflows-title">Workflows</h1>
      </div>
      {error && (
        <p class="banner banner--error" role="alert">
          Could not load the workflows: {error}
        </p>
      )}
      {workflows === null && !error && <p class="muted">Loading…</p>}
      {workflows && workflows.length === 0 && (
        <p class="empty">No workflows yet. Apply one with `stepwell workflows apply FILE`.</p>
      )}
      {workflows && workflows.length > 0 && (
        <div class="table-wrap">
          <table class="table">
            <caption class="visually-hidden">Workflows</caption>
            <thead>
              <tr>
                <th scope="col">Workflow</th>
                <th scope="col">Status</th>
                <th scope="col">Version</th>
                <th scope="col" class="hide-narrow">
                  Kind
                </th>
                <th scope="col" class="hide-narrow">
                  Updated
                </th>
              </tr>
            </thead>
            <tbody>
              {workflows.map((w) => (
                <tr key={w.id}>
                  <td>
                    <a href={workflowPath(session, w.id)} onClick={onLinkClick}>
                      {w.id}
                    </a>
                  </td>
                  <td>
                    <StatusBadge status={w.status} />
                  </td>
                  <td>{w.version}</td>
                  <td class="hide-narrow">
                    {w.kind}
                    {w.mode && w.mode !== 'standard' ? ` (${w.mode})` : ''}
                  </td>
                  <td class="hide-narrow">
                    <Time at={w.updated_at} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
