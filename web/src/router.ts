// A small history-API router: the app reads `location` and re-renders on navigation.
// Deep links work because the server answers index.html for every non-API path.
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set<() => void>();

function notify(): void {
  for (const listener of listeners) {
    listener();
  }
}

window.addEventListener('popstate', notify);

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === location.pathname + location.search) {
    return;
  }
  if (opts.replace) {
    history.replaceState(null, '', to);
  } else {
    history.pushState(null, '', to);
  }
  notify();
}

// The current path and query; the calling component re-renders when they change.
export function useLocation(): { path: string; search: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const listener = () => setTick((t) => t + 1);
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }, []);
  return { path: location.pathname, search: new URLSearchParams(location.search) };
}

// An <a> click without modifier keys navigates inside the app.
export function onLinkClick(e: MouseEvent): void {
  const a = (e.currentTarget as HTMLAnchorElement | null) ?? null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) {
    return;
  }
  e.preventDefault();
  navigate(a.getAttribute('href') ?? '/');
  window.scrollTo(0, 0);
}
