// A modal dialog on the native <dialog>: the page behind it is inert, Escape closes it
// (as the `onClose` choice), Tab and Shift+Tab cycle inside it, and focus goes back to
// what opened it when it closes.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

const FOCUSABLE =
  'button:not([disabled]), [href], input:not([disabled]), textarea:not([disabled]), select:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function Dialog(props: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  describedBy?: string;
  // More classes of the <dialog> (`dialog--wide` for a form).
  class?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    const dialog = ref.current!;
    const opener = document.activeElement as HTMLElement | null;
    dialog.showModal();
    const first = dialog.querySelector<HTMLElement>('[autofocus], ' + FOCUSABLE);
    first?.focus();
    return () => {
      if (dialog.open) {
        dialog.close();
      }
      opener?.focus();
    };
  }, []);

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key !== 'Tab') {
      return;
    }
    const items = Array.from(ref.current!.querySelectorAll<HTMLElement>(FOCUSABLE));
    if (items.length === 0) {
      return;
    }
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };

  return (
    <dialog
      ref={ref}
      class={props.class ? `dialog ${props.class}` : 'dialog'}
      aria-labelledby="dialog-title"
      aria-describedby={props.describedBy}
      onKeyDown={onKeyDown}
      onCancel={(e) => {
        // Escape: close through the caller so its state stays the source of truth.
        e.preventDefault();
        props.onClose();
      }}
    >
      <h2 id="dialog-title" class="dialog__title">
        {props.title}
      </h2>
      {props.children}
    </dialog>
  );
}
