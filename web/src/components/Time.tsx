// A time shown relative to now ("3 minutes ago"); the exact time is in the tooltip.
import { exactTime, relativeTime } from '../format';

export function Time(props: { at?: string | null; empty?: string }) {
  if (!props.at) {
    return <span class="muted">{props.empty ?? '—'}</span>;
  }
  const exact = exactTime(props.at);
  return (
    <time dateTime={props.at} title={exact}>
      {relativeTime(props.at)}
    </time>
  );
}
