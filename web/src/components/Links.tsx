// Links to a run's and a workflow's page (inside the app, without a reload); a run's
// id is in monospace.
import { onLinkClick } from '../router';
import { runPath, useSession, workflowPath } from '../session';

export function RunLink(props: { id: string }) {
  const session = useSession();
  return (
    <a class="mono" href={runPath(session, props.id)} onClick={onLinkClick}>
      {props.id}
    </a>
  );
}

export function WorkflowLink(props: { id: string }) {
  const session = useSession();
  return (
    <a href={workflowPath(session, props.id)} onClick={onLinkClick}>
      {props.id}
    </a>
  );
}
