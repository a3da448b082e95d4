// The body of a list page: why the last load failed ("Could not load the runs: …", kept
// above rows already shown), Loading… before the first answer, the rows as a table, or
// what to say when there are none.
import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api';

export interface Column<T> {
  // The column's name (and key).
  header: string;
  // What its header cell shows instead of the name (a control such as a select-all box,
  // which then carries the name as its label).
  headerCell?: ComponentChildren;
  // A class of its cells, header included.
  class?: string;
  // Left out at a phone's width.
  hideNarrow?: boolean;
  cell: (row: T) => ComponentChildren;
}

export function ListTable<T>(props: {
  // What the rows are, as in "Could not load the runs".
  noun: string;
  error: ApiError | null;
  rows: T[] | undefined;
  empty: ComponentChildren;
  caption: string;
  class?: string;
  columns: Column<T>[];
  rowKey: (row: T) => string;
  // Attributes of a row (data-* for tests and styles).
  rowAttributes?: (row: T) => Record<string, string>;
}) {
  const { rows, columns } = props;
  const cellClass = (c: Column<T>) => [c.class, c.hideNarrow && 'hide-narrow'].filter(Boolean).join(' ') || undefined;
  return (
    <>
      {props.error && (
        <p class="banner banner--error" role="alert">
          Could not load the {props.noun}: {props.error.message}
        </p>
      )}
      {rows === undefined && !props.error && <p class="muted">Loading…</p>}
      {rows?.length === 0 && <p class="empty">{props.empty}</p>}
      {rows && rows.length > 0 && (
        <div class="table-wrap">
          <table class={props.class ? `table ${props.class}` : 'table'}>
            <caption class="visually-hidden">{props.caption}</caption>
            <thead>
              <tr>
                {columns.map((c) => (
                  <th scope="col" class={cellClass(c)} key={c.header}>
                    {c.headerCell ?? c.header}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={props.rowKey(row)} {...props.rowAttributes?.(row)}>
                  {columns.map((c) => (
                    <td class={cellClass(c)} key={c.header}>
                      {c.cell(row)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
