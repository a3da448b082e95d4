// The red banner on every page of a workspace while connections are in `error`
// (GET /api/v1/connections?status=error): "A connection needs to be reauthorized" or
// "3 connections need to be reauthorized", then a row per connection titled like its
// notification ("Slack reauth required") linking to its page. Past MAX_ROWS the rest is
// one line pointing to the notification bell, which lists them all. Polled with the
// bell's cadence, and reloaded at once when a connection changes in this tab. A failed
// load shows nothing: the banner is news, not a page of its own.
import { useEffect } from 'preact/hooks';
import { api, type Connection } from '../api';
import { connectionPath, onConnectionsChanged, reauthTitle } from '../connections';
import { useResource } from '../resource';
import { onLinkClick } from '../router';
import { useSession } from '../session';
import { WarningIcon } from './Icons';
import { NOTIFICATIONS_POLL_MS, openNotifications } from './NotificationBell';

const MAX_ROWS = 3;
// The API's largest page: a workspace has far fewer connections.
const LIMIT = 500;

export function ReauthBanner() {
  const broken = useResource(() => api.listConnections({ status: 'error', limit: LIMIT }), [], {
    poll: true,
    pollMs: NOTIFICATIONS_POLL_MS,
  });
  const { reload } = broken;
  useEffect(() => onConnectionsChanged(() => void reload()), [reload]);

  const items = broken.error ? [] : (broken.data?.items ?? []);
  if (items.length === 0) {
    return null;
  }
  const count = broken.data?.next_cursor ? `${items.length}+` : String(items.length);
  const heading = items.length === 1 ? 'A connection needs to be reauthorized' : `${count} connections need to be reauthorized`;
  const shown = items.length > MAX_ROWS ? items.slice(0, MAX_ROWS) : items;
  const more = items.length - shown.length;
  return (
    <section class="banner banner--error reauth-banner" aria-labelledby="reauth-banner-title">
      <p class="reauth-banner__title" id="reauth-banner-title">
        <WarningIcon /> <strong>{heading}</strong>
      </p>
      <ul class="reauth-banner__rows">
        {shown.map((c) => (
          <ReauthRow key={c.id} connection={c} />
        ))}
      </ul>
      {more > 0 && (
        <p class="reauth-banner__more">
          and {more} more —{' '}
          <button type="button" class="link-button" onClick={openNotifications}>
            see notifications
          </button>
        </p>
      )}
    </section>
  );
}

function ReauthRow(props: { connection: Connection }) {
  const c = props.connection;
  return (
    <li data-connection-id={c.id}>
      <a href={connectionPath(useSession(), c.id)} onClick={onLinkClick}>
        {reauthTitle(c.app)}
      </a>
      <span class="reauth-banner__detail">
        {' · '}
        {c.name}
        {c.error?.message && ` — ${c.error.message}`}
      </span>
    </li>
  );
}
