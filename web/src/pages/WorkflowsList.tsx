// Workflows (/{ws}/workflows): every workflow of the workspace with its status.
import { api, type Workflow } from '../api';
import { WorkflowStatusBadge } from '../components/Badge';
import { WorkflowLink } from '../components/Links';
import { ListTable, type Column } from '../components/ListTable';
import { Time } from '../components/Time';
import { useResource } from '../resource';

export function WorkflowsList() {
  const workflows = useResource(() => api.listWorkflows(), []);
  return (
    <section class="page" aria-labelledby="workflows-title">
      <div class="page__header">
        <h1 id="workflows-title">Workflows</h1>
      </div>
      <ListTable
        noun="workflows"
        error={workflows.error}
        rows={workflows.data?.items}
        empty="No workflows yet. Apply one with `stepwell workflows apply FILE`."
        caption="Workflows"
        columns={WORKFLOW_COLUMNS}
        rowKey={(w) => w.id}
      />
    </section>
  );
}

const WORKFLOW_COLUMNS: Column<Workflow>[] = [
  { header: 'Workflow', cell: (w) => <WorkflowLink id={w.id} /> },
  { header: 'Status', cell: (w) => <WorkflowStatusBadge workflow={w} /> },
  { header: 'Version', cell: (w) => w.version },
  { header: 'Kind', hideNarrow: true, cell: (w) => `${w.kind}${w.mode && w.mode !== 'standard' ? ` (${w.mode})` : ''}` },
  { header: 'Updated', hideNarrow: true, cell: (w) => <Time at={w.updated_at} /> },
];
