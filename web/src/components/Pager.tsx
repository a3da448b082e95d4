// "← Newer" and "Older →" under a list; each shows only when there is such a page.
export function Pager(props: { onNewer?: () => void; onOlder?: () => void }) {
  return (
    <nav class="pager" aria-label="Pages">
      {props.onNewer && (
        <button type="button" class="button" onClick={props.onNewer}>
          ← Newer
        </button>
      )}
      {props.onOlder && (
        <button type="button" class="button" onClick={props.onOlder}>
          Older →
        </button>
      )}
    </nav>
  );
}
