// An error as "message (code)", the code in monospace.
import type { RunError } from '../api';

export function ErrorText(props: { error: RunError }) {
  return (
    <>
      {props.error.message}
      {props.error.code && <span class="mono"> ({props.error.code})</span>}
    </>
  );
}
