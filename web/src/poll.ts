// usePoll runs `load` every `intervalMs` while `active`, and never while the tab is
// hidden: on hiding the timer stops; on showing again it loads at once and goes on.
// Each load is scheduled after the previous one finished, so loads never overlap.
import { useEffect, useRef, useState } from 'preact/hooks';

export const DEFAULT_POLL_MS = 10_000;

export function useVisible(): boolean {
  const [visible, setVisible] = useState(document.visibilityState !== 'hidden');
  useEffect(() => {
    const onChange = () => setVisible(document.visibilityState !== 'hidden');
    document.addEventListener('visibilitychange', onChange);
    return () => document.removeEventListener('visibilitychange', onChange);
  }, []);
  return visible;
}

export function usePoll(load: () => Promise<unknown>, active: boolean, intervalMs = DEFAULT_POLL_MS): void {
  const visible = useVisible();
  const loadRef = useRef(load);
  loadRef.current = load;
  const wasHidden = useRef(false);

  useEffect(() => {
    if (!visible) {
      wasHidden.current = true;
      return;
    }
    if (!active) {
      return;
    }
    let stopped = false;
    let timer: number | undefined;
    const tick = async () => {
      try {
        await loadRef.current();
      } finally {
        if (!stopped) {
          timer = window.setTimeout(tick, intervalMs);
        }
      }
    };
    if (wasHidden.current) {
      // Back from a hidden tab: the data may be old, so load now.
      wasHidden.current = false;
      void tick();
    } else {
      timer = window.setTimeout(tick, intervalMs);
    }
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [visible, active, intervalMs]);
}
