// usePoll runs `load` every `intervalMs` while `active`, and never while the tab is
// hidden: on hiding, the timer stops; on showing again, it loads at once and goes on.
// Each load is scheduled after the previous one finished, so loads never overlap.
import { useEffect, useRef } from 'preact/hooks';

export const DEFAULT_POLL_MS = 10_000;

function hidden(): boolean {
  return document.visibilityState === 'hidden';
}

export function usePoll(load: () => Promise<unknown>, active: boolean, intervalMs = DEFAULT_POLL_MS): void {
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    if (!active) {
      return;
    }
    let stopped = false;
    let timer: number | undefined;
    const schedule = () => {
      window.clearTimeout(timer);
      timer = hidden() || stopped ? undefined : window.setTimeout(tick, intervalMs);
    };
    const tick = async () => {
      timer = undefined;
      try {
        await loadRef.current();
      } finally {
        schedule();
      }
    };
    // Handled in the event itself (not through a re-render) so the load starts at once.
    const onVisibility = () => {
      window.clearTimeout(timer);
      timer = undefined;
      if (!hidden()) {
        void tick();
      }
    };
    document.addEventListener('visibilitychange', onVisibility);
    schedule();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [active, intervalMs]);
}
