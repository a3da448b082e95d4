// One connection (/{ws}/connections/{id}): its status and settings (never a secret: the
// server has none to give), why it needs reauthorization, the runs it holds, and for an
// admin *Reconnect* (the OAuth authorization-code flow: the browser goes to the server's
// authorize URL, the provider, the server's callback, and back here with
// `?reconnected=1`) and *Refresh now* (POST …/refresh). Reloads every 10 s.
import { useEffect, useState } from 'preact/hooks';
import { api, authorizePath, errorMessage, type Connection } from '../../api';
import { StatusBadge } from '../../components/Badge';
import { Breadcrumb } from '../../components/Breadcrumb';
import { RefreshIcon } from '../../components/Icons';
import { PageLoadState } from '../../components/LoadState';
import { MetaList } from '../../components/MetaList';
import { Time } from '../../components/Time';
import { showToast } from '../../components/Toasts';
import { connectionsChanged } from '../../connections';
import { useResource } from '../../resource';
import { navigate, useLocation } from '../../router';
import { useSession, wsPath } from '../../session';
import { HeldRuns } from './HeldRuns';

export function ConnectionDetail(props: { connectionId: string }) {
  const { connectionId } = props;
  const session = useSession();
  const resource = useResource(() => api.getConnection(connectionId), [connectionId], { poll: true });
  const [refreshing, setRefreshing] = useState(false);
  const { path, search } = useLocation();
  const reconnected = search.get('reconnected') === '1';

  // Back from the provider: say so once, and drop the marker so a reload does not.
  useEffect(() => {
    if (reconnected) {
      showToast('success', 'Connection reconnected');
      navigate(path, { replace: true });
      connectionsChanged();
    }
  }, [reconnected, path]);

  const connection = resource.data;
  useEffect(() => {
    document.title = `${connection?.name ?? connectionId} · Stepwell`;
    return () => {
      document.title = 'Stepwell';
    };
  }, [connection?.name, connectionId]);

  const breadcrumb = (
    <Breadcrumb listPath={wsPath(session, 'connections')} listName="Connections">
      <span aria-current="page">{connection?.name ?? connectionId}</span>
    </Breadcrumb>
  );
  if (!connection) {
    return <PageLoadState noun="connection" error={resource.error} breadcrumb={breadcrumb} />;
  }

  const refresh = async () => {
    setRefreshing(true);
    try {
      const updated = await api.refreshConnection(connection.id);
      resource.set(() => updated);
      showToast('success', 'Connection refreshed');
    } catch (err) {
      showToast('error', 'Failed to refresh connection', errorMessage(err));
    } finally {
      setRefreshing(false);
      void resource.reload();
      connectionsChanged();
    }
  };

  return (
    <section class="page" aria-labelledby="connection-title">
      {breadcrumb}
      <div class="page__header">
        <div class="run__title">
          <h1 id="connection-title">{connection.name}</h1>
          <StatusBadge status={connection.status} />
        </div>
        {session.role === 'admin' && (
          <div class="actions" role="group" aria-label="Connection actions">
            <button
              type="button"
              class="button button--primary"
              disabled={!connection.authorize_url}
              title={connection.authorize_url ? undefined : 'No authorize URL: reconnect it with new tokens through the API'}
              onClick={() => window.location.assign(authorizePath(connection.id))}
            >
              Reconnect
            </button>
            <button type="button" class="button" disabled={refreshing} onClick={() => void refresh()}>
              <RefreshIcon /> {refreshing ? 'Refreshing…' : 'Refresh now'}
            </button>
          </div>
        )}
      </div>
      {resource.error && (
        <p class="banner banner--error" role="alert">
          Could not refresh: {resource.error.message}
        </p>
      )}
      <StatusBanner connection={connection} admin={session.role === 'admin'} />
      <section class="card" aria-labelledby="connection-overview-title">
        <h2 id="connection-overview-title">Overview</h2>
        <MetaList rows={overviewRows(connection)} />
      </section>
      <HeldRuns connectionId={connection.id} />
    </section>
  );
}

// Why the connection needs reauthorization and what to do; nothing while it is active.
function StatusBanner(props: { connection: Connection; admin: boolean }) {
  const c = props.connection;
  if (c.status !== 'error') {
    return null;
  }
  const todo = c.authorize_url
    ? props.admin
      ? 'Reconnect it, then resume the runs it paused.'
      : 'An admin must reconnect it.'
    : `It has no authorize URL: an admin reconnects it with new tokens (POST /api/v1/connections/${c.id}/reconnect).`;
  return (
    <div class="banner banner--error" role="status">
      <p>
        <strong>This connection needs to be reauthorized.</strong> Runs that use it are held before their call.
      </p>
      {c.error && (
        <p>
          {c.error.message} (<Time at={c.error.at} />)
        </p>
      )}
      <p>{todo}</p>
    </div>
  );
}

function overviewRows(c: Connection): [string, preact.ComponentChildren][] {
  return [
    ['App', c.app],
    ['Status', <StatusBadge status={c.status} />],
    [
      'Last error',
      c.error ? (
        <>
          {c.error.message} · <Time at={c.error.at} />
        </>
      ) : (
        '—'
      ),
    ],
    ['Token expires', <Time at={c.expires_at} empty="—" />],
    ['Scopes', c.scopes?.length ? c.scopes.join(' ') : '—'],
    ['Client ID', c.client_id ? <code>{c.client_id}</code> : '—'],
    ['Token URL', c.token_url ? <code>{c.token_url}</code> : '—'],
    ['Authorize URL', c.authorize_url ? <code>{c.authorize_url}</code> : 'None (no Reconnect from here)'],
    ['Created', <Time at={c.created_at} />],
    ['Updated', <Time at={c.updated_at} />],
  ];
}
