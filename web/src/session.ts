// The signed-in session, shared by every page through a context.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Session } from './api';

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) {
    throw new Error('useSession outside a signed-in page');
  }
  return session;
}

// Paths inside the signed-in workspace.
export function wsPath(session: Session, rest: string): string {
  return `/${encodeURIComponent(session.workspace.slug)}/${rest}`;
}

export function runPath(session: Session, runId: string): string {
  return wsPath(session, `monitoring/workflow-runs/${encodeURIComponent(runId)}`);
}

export function workflowPath(session: Session, wf: string): string {
  return wsPath(session, `workflows/${encodeURIComponent(wf)}`);
}
