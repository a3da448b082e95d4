// A detail page before its first answer: Loading…, or why the load failed ("Workflow
// run not found" for a 404, else "Could not load the workflow run" and the message).
import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api';

export function PageLoadState(props: { noun: string; error: ApiError | null; breadcrumb: ComponentChildren }) {
  const { noun, error } = props;
  return (
    <section class="page">
      {props.breadcrumb}
      {error ? (
        <>
          <h1>{error.status === 404 ? `${noun.charAt(0).toUpperCase()}${noun.slice(1)} not found` : `Could not load the ${noun}`}</h1>
          <p role="alert">{error.message}</p>
        </>
      ) : (
        <p class="muted">Loading…</p>
      )}
    </section>
  );
}
