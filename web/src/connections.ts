// What several places say about connections: a connection's page, the title of its
// reauthorization ("Slack reauth required", as the server titles its notification), and
// a signal that a connection changed in this tab, so the app-wide banner reloads at
// once instead of at its next poll.
import type { Session } from './api';
import { wsPath } from './session';

export function connectionPath(session: Session, connectionId: string): string {
  return wsPath(session, `connections/${encodeURIComponent(connectionId)}`);
}

// The app with its first letter upper-cased, as in the server's `connection_error`
// notification: `slack` → "Slack reauth required".
export function reauthTitle(app: string): string {
  return `${app.charAt(0).toUpperCase()}${app.slice(1)} reauth required`;
}

const listeners = new Set<() => void>();

// Tells whoever shows connections that one changed (refreshed, reconnected).
export function connectionsChanged(): void {
  for (const listener of listeners) {
    listener();
  }
}

export function onConnectionsChanged(listener: () => void): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}
