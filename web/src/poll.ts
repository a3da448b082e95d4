// usePoll runs `load` every `intervalMs` while `active`, and never while the tab is
// hidden: on hiding, the timer stops; on showing again, it loads at once and goes on.
// Loads never overlap: a tick that finds the previous load unanswered skips its turn.
import { useEffect, useRef } from 'preact/hooks';

export const DEFAULT_POLL_MS = 10_000;

function hidden(): boolean {
  return document.visibilityState === 'hidden';
}

export function usePoll(load: () => Promise<unknown>, active: boolean, intervalMs = DEFAULT_POLL_MS): void {
  // The newest `load`, for a timer armed by an earlier render.
  const loadRef = useRef(load);
  useEffect(() => {
    loadRef.current = load;
  });

  useEffect(() => {
    if (!active) {
      return;
    }
    let timer: number | undefined;
    let inFlight = false;
    const schedule = () => {
      window.clearTimeout(timer);
      timer = hidden() ? undefined : window.setTimeout(tick, intervalMs);
    };
    // The next tick is armed before this one loads (so its time does not depend on how
    // long the server takes); a load still waiting for its answer is not doubled.
    const tick = () => {
      schedule();
      if (inFlight) {
        return;
      }
      inFlight = true;
      void loadRef.current().finally(() => {
        inFlight = false;
      });
    };
    // Handled in the event itself (not through a re-render) so the load starts at once.
    const onVisibility = () => {
      window.clearTimeout(timer);
      timer = undefined;
      if (!hidden()) {
        tick();
      }
    };
    document.addEventListener('visibilitychange', onVisibility);
    schedule();
    return () => {
      window.clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [active, intervalMs]);
}
