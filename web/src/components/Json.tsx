// A JSON value, pretty-printed, in a focusable scroll box (keyboard users can scroll it).
export function Json(props: { value: unknown; label: string }) {
  if (props.value === undefined || props.value === null) {
    return <p class="muted">None</p>;
  }
  return (
    <pre class="json" tabIndex={0} role="region" aria-label={props.label}>
      {JSON.stringify(props.value, null, 2)}
    </pre>
  );
}
