// A held run's card on its page: which connection holds it (its name, a link to its
// page, why it needs reauthorization) and what to do. A run paused for reauth waits for
// Resume once the connection is reconnected; an agent-mode run waiting for reauth goes
// on by itself. Shown for both from one place so the two never drift apart.
import { api } from '../api';
import { connectionPath, reauthTitle } from '../connections';
import { useResource } from '../resource';
import { onLinkClick } from '../router';
import { useSession } from '../session';
import { StatusBadge } from './Badge';
import { Time } from './Time';

const RESUME_AFTER_RECONNECT = 'Reconnect the connection, then resume this run.';
const RESUMES_BY_ITSELF = 'This run resumes by itself once the connection is reconnected.';

// The connection is polled (every 10 s) so the card follows a reconnect made elsewhere,
// also on a paused run's page, which does not poll the run.
export function ReauthHold(props: { connectionId: string; waiting: boolean }) {
  const { connectionId } = props;
  const session = useSession();
  const connection = useResource(() => api.getConnection(connectionId), [connectionId], { poll: true }).data;
  const reconnected = connection?.status === 'active';
  const todo = props.waiting
    ? RESUMES_BY_ITSELF
    : reconnected
      ? 'The connection is reconnected: resume this run.'
      : RESUME_AFTER_RECONNECT;
  const heading = reconnected
    ? 'Connection reconnected'
    : connection
      ? reauthTitle(connection.app)
      : 'Reauthorization required';
  return (
    <section class="card reauth-hold" aria-labelledby="reauth-hold-title">
      <h2 id="reauth-hold-title">{heading}</h2>
      <p>
        Held by connection{' '}
        <a href={connectionPath(session, connectionId)} onClick={onLinkClick}>
          {connection?.name ?? connectionId}
        </a>
        {connection && (
          <>
            {' '}
            <StatusBadge status={connection.status} />
          </>
        )}
      </p>
      {connection?.error && (
        <p class="reauth-hold__error">
          {connection.error.message} (<Time at={connection.error.at} />)
        </p>
      )}
      <p>
        <strong>{todo}</strong>
      </p>
    </section>
  );
}
