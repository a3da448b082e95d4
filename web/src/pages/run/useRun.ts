// useRun loads what a run's page shows: the run with its steps and, for a run with a
// `workflow` step, the runs those steps started. It polls while the run moves by itself
// (pending, running, waiting: a waiting run wakes when its timer, event, child or agent
// comes) and stops at any other status; resource.ts does the rest.
import { api, movesByItself, type Run } from '../../api';
import { useResource, type Resource } from '../../resource';

// The child runs listed on a parent's page; more are rare (one per attempt of each
// `workflow` step) and the page says when there are.
export const CHILDREN_LIMIT = 100;

export interface ChildList {
  runs: Run[];
  // There are more than CHILDREN_LIMIT.
  more: boolean;
}

export interface RunView {
  run: Run;
  children: ChildList;
}

// Only a `workflow` step starts a child run, so a run without one has none to list.
function hasWorkflowStep(run: Run): boolean {
  return (run.steps ?? []).some((s) => s.type === 'workflow');
}

async function loadRunView(runId: string): Promise<RunView> {
  const run = await api.getRun(runId);
  if (!hasWorkflowStep(run)) {
    return { run, children: { runs: [], more: false } };
  }
  const page = await api.listRuns({ parent_run_id: run.id, limit: CHILDREN_LIMIT });
  return { run, children: { runs: page.items, more: page.next_cursor !== null } };
}

export function useRun(runId: string): Resource<RunView> {
  return useResource(() => loadRunView(runId), [runId], { poll: (view) => movesByItself(view.run.status) });
}
