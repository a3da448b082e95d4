// Facts about one thing as a definition list ("Created: 3 minutes ago"), in order.
import type { ComponentChildren } from 'preact';

export type MetaRow = [term: string, value: ComponentChildren];

export function MetaList(props: { rows: MetaRow[] }) {
  return (
    <dl class="meta">
      {props.rows.map(([term, value]) => (
        <div class="meta__row" key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
