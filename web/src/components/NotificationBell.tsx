// The notification bell in the top bar: the unread count (GET /api/v1/notifications
// ?unread=true, every 30 s, never in a hidden tab) and, when opened, the recent
// notifications. Choosing one marks it read (POST …/{id}/read) and follows its link: a
// page of this UI inside the app, any other address (the server's /approve page) as a
// plain navigation. Escape or a click elsewhere closes the list; openNotifications()
// opens it from elsewhere (the reauthorization banner's overflow line).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorMessage, type Notification } from '../api';
import { useResource } from '../resource';
import { navigate } from '../router';
import { BellIcon } from './Icons';
import { Time } from './Time';
import { showToast } from './Toasts';

// How often app-wide news is polled: the unread count, and the connections in error
// (ReauthBanner).
export const NOTIFICATIONS_POLL_MS = 30_000;
// How many notifications the open list shows, newest first.
const RECENT = 10;
// Counts above this show as "99+".
const MAX_SHOWN_COUNT = 99;

const openers = new Set<() => void>();

// Opens the bell's list (and focuses the bell, where Escape returns anyway).
export function openNotifications(): void {
  for (const open of openers) {
    open();
  }
}

export function NotificationBell() {
  const unread = useResource(() => api.listNotifications({ unread: true, limit: 1 }), [], {
    poll: true,
    pollMs: NOTIFICATIONS_POLL_MS,
  });
  const [open, setOpen] = useState(false);
  const rootRef = useRef<HTMLDivElement>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const count = unread.data?.unread_count ?? 0;

  useEffect(() => {
    const show = () => {
      setOpen(true);
      buttonRef.current?.focus();
    };
    openers.add(show);
    return () => {
      openers.delete(show);
    };
  }, []);

  useEffect(() => {
    if (!open) {
      return;
    }
    const onPointer = (e: MouseEvent) => {
      if (!rootRef.current?.contains(e.target as Node)) {
        setOpen(false);
      }
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setOpen(false);
        buttonRef.current?.focus();
      }
    };
    document.addEventListener('mousedown', onPointer);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onPointer);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  const choose = async (n: Notification) => {
    setOpen(false);
    if (!n.read_at) {
      try {
        await api.readNotification(n.id);
        unread.set((old) => ({ ...old, unread_count: Math.max(0, old.unread_count - 1) }));
      } catch (err) {
        showToast('error', 'Failed to mark the notification read', errorMessage(err));
      }
      void unread.reload();
    }
    if (n.link) {
      follow(n.link);
    }
  };

  const label = count > 0 ? `Notifications, ${count} unread` : 'Notifications';
  return (
    <div class="bell" ref={rootRef}>
      <button
        ref={buttonRef}
        type="button"
        class="icon-button bell__button"
        aria-label={label}
        title={label}
        aria-expanded={open}
        aria-controls="notifications-panel"
        onClick={() => setOpen(!open)}
      >
        <BellIcon />
        {count > 0 && (
          <span class="bell__count" aria-hidden="true">
            {count > MAX_SHOWN_COUNT ? `${MAX_SHOWN_COUNT}+` : count}
          </span>
        )}
      </button>
      {open && <NotificationList onChoose={(n) => void choose(n)} />}
    </div>
  );
}

// The recent notifications, loaded when the list opens.
function NotificationList(props: { onChoose: (n: Notification) => void }) {
  const recent = useResource(() => api.listNotifications({ limit: RECENT }), []);
  const items = recent.data?.items;
  return (
    <div class="bell__panel" id="notifications-panel" role="region" aria-label="Notifications">
      <h2 class="bell__title">Notifications</h2>
      {recent.error && (
        <p class="bell__note" role="alert">
          Could not load the notifications: {recent.error.message}
        </p>
      )}
      {!items && !recent.error && <p class="bell__note muted">Loading…</p>}
      {items?.length === 0 && <p class="bell__note muted">No notifications yet.</p>}
      {items && items.length > 0 && (
        <ul class="bell__list">
          {items.map((n) => (
            <li key={n.id} class={n.read_at ? 'bell__item' : 'bell__item bell__item--unread'} data-notification-id={n.id}>
              <NotificationEntry notification={n} onChoose={props.onChoose} />
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function NotificationEntry(props: { notification: Notification; onChoose: (n: Notification) => void }) {
  const n = props.notification;
  const body = (
    <>
      <span class="bell__item-title">
        {!n.read_at && <span class="visually-hidden">Unread: </span>}
        {n.title}
      </span>
      {n.body && <span class="bell__item-body">{n.body}</span>}
      <span class="bell__item-time muted">
        <Time at={n.created_at} />
      </span>
    </>
  );
  if (!n.link) {
    return (
      <button type="button" class="bell__link" onClick={() => props.onChoose(n)}>
        {body}
      </button>
    );
  }
  // A plain click is handled here (mark read, then follow); a modified one opens the link
  // as the browser would.
  const choose = (e: MouseEvent) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) {
      return;
    }
    e.preventDefault();
    props.onChoose(n);
  };
  return (
    <a class="bell__link" href={n.link} onClick={choose}>
      {body}
    </a>
  );
}

// A page of this app navigates without a reload; the server's own pages (/approve/…) and
// other addresses load as usual.
function follow(link: string): void {
  if (link.startsWith('/') && !link.startsWith('//') && !/^\/(api|approve)\//.test(link)) {
    navigate(link);
    window.scrollTo(0, 0);
  } else {
    window.location.assign(link);
  }
}
