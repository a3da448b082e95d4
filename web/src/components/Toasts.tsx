// Toasts: short messages after an action. Successes are announced politely
// (role=status), failures at once (role=alert). Each closes by itself after a while
// or with its close button.
import { useEffect, useState } from 'preact/hooks';
import { CrossIcon } from './Icons';

export interface Toast {
  id: number;
  kind: 'success' | 'error';
  title: string;
  detail?: string;
}

const TOAST_MS = 6000;
const MAX_TOASTS = 4;

let toasts: Toast[] = [];
let nextId = 1;
const listeners = new Set<(t: Toast[]) => void>();

function publish(next: Toast[]): void {
  toasts = next;
  for (const listener of listeners) {
    listener(toasts);
  }
}

export function dismissToast(id: number): void {
  publish(toasts.filter((t) => t.id !== id));
}

export function showToast(kind: Toast['kind'], title: string, detail?: string): void {
  const toast = { id: nextId++, kind, title, detail };
  publish([...toasts, toast].slice(-MAX_TOASTS));
  window.setTimeout(() => dismissToast(toast.id), TOAST_MS);
}

export function Toasts() {
  const [list, setList] = useState(toasts);
  useEffect(() => {
    listeners.add(setList);
    // A toast shown by a page's first effect comes before this one subscribes.
    setList(toasts);
    return () => {
      listeners.delete(setList);
    };
  }, []);
  return (
    <div class="toasts">
      {list.map((t) => (
        <div
          key={t.id}
          class={`toast toast--${t.kind}`}
          role={t.kind === 'error' ? 'alert' : 'status'}
        >
          <div class="toast__body">
            <strong class="toast__title">{t.title}</strong>
            {t.detail && <span class="toast__detail">{t.detail}</span>}
          </div>
          <button
            type="button"
            class="icon-button"
            aria-label="Dismiss notification"
            onClick={() => dismissToast(t.id)}
          >
            <CrossIcon />
          </button>
        </div>
      ))}
    </div>
  );
}
