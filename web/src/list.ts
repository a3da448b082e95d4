// A list page's query (its filters and page) lives in the page's URL, so a view can be
// bookmarked and shared. `read` parses the URL's query into filters (every one with a
// value; `defaults` are the values that stay out of the URL). `go` navigates to the same
// page with some filters changed, back to the first page. The `cursor` filter pages:
// `older(cursor)` goes one page on and `newer` one back (the cursors passed are
// remembered; there is no `newer` on the first page).
import { useState } from 'preact/hooks';
import { navigate, useLocation } from './router';

export type ListFilters = { cursor: string } & Record<string, string | number>;

export interface ListQuery<F extends ListFilters> {
  filters: F;
  go: (next: Partial<F>) => void;
  newer?: () => void;
  older: (cursor: string) => void;
}

function toQuery<F extends ListFilters>(filters: F, defaults: F): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) {
    if (value !== defaults[key]) {
      q.set(key, String(value));
    }
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

export function useListQuery<F extends ListFilters>(read: (search: URLSearchParams) => F, defaults: F): ListQuery<F> {
  const { path, search } = useLocation();
  const filters = read(search);
  // Cursors of the pages before this one.
  const [previous, setPrevious] = useState<string[]>([]);
  const open = (next: Partial<F>) => navigate(path + toQuery({ ...filters, ...next }, defaults));
  return {
    filters,
    go: (next) => {
      setPrevious([]);
      open({ ...next, cursor: '' });
    },
    newer: filters.cursor
      ? () => {
          setPrevious(previous.slice(0, -1));
          open({ cursor: previous[previous.length - 1] ?? '' } as Partial<F>);
        }
      : undefined,
    older: (cursor) => {
      setPrevious([...previous, filters.cursor]);
      open({ cursor } as Partial<F>);
    },
  };
}
