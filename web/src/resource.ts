// useResource is how a page gets data from the server. It owns what every page needs
// around a request: the first load and a reload when what it loads changes, whether a
// load is out (`loading`, which pages show as aria-busy), the last failure, answers that
// arrive out of order (only the newest request's answer is kept), polling every 10 s (or
// `pollMs`) while `poll` says so (never in a hidden tab: poll.ts), a reload on demand,
// and a local answer (what a control answered) that replaces the data and discards loads
// still out.
//
// `deps` are the values `load` reads, as for useEffect (ESLint's exhaustive-deps checks
// them); they are compared by value (JSON), so an object of filters may be one of them.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { asApiError, type ApiError } from './api';
import { usePoll } from './poll';

export interface Resource<T> {
  // The newest answer; kept while a reload is out and after one fails.
  data: T | undefined;
  // Why the newest load failed; null again after one succeeds.
  error: ApiError | null;
  // A load is waiting for its answer.
  loading: boolean;
  // Loads now; resolves once its answer is applied (or discarded as stale).
  reload: () => Promise<void>;
  // Replaces the data with a local answer (nothing before the first answer); the
  // answers of loads still out are discarded.
  set: (update: (old: T) => T) => void;
}

export interface ResourceOptions<T> {
  // `true`: poll always; a function: poll while it holds for the data (never before the
  // first answer). Default: no polling.
  poll?: boolean | ((data: T) => boolean);
  // How often it polls; default poll.ts's 10 s.
  pollMs?: number;
  // Show no data (Loading…) when `deps` change, instead of the previous answer until
  // the new one arrives.
  resetOnChange?: boolean;
}

interface State<T> {
  data: T | undefined;
  // The `deps` of the last answer applied (data or error).
  key: string;
  error: ApiError | null;
  loading: boolean;
}

export function useResource<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  options: ResourceOptions<T> = {},
): Resource<T> {
  const key = JSON.stringify(deps);
  const resetOnChange = options.resetOnChange ?? false;
  const [state, setState] = useState<State<T>>({ data: undefined, key, error: null, loading: true });
  const loadRef = useRef(load);
  useEffect(() => {
    loadRef.current = load;
  });
  // Numbers the loads; an answer is applied only while its number is the newest.
  const seqRef = useRef(0);

  const reload = useCallback(async () => {
    const mine = ++seqRef.current;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await loadRef.current();
      if (mine === seqRef.current) {
        setState({ data, key, error: null, loading: false });
      }
    } catch (err) {
      if (mine === seqRef.current) {
        const kept = (s: State<T>) => (s.key === key || !resetOnChange ? s.data : undefined);
        setState((s) => ({ data: kept(s), key, error: asApiError(err), loading: false }));
      }
    }
  }, [key, resetOnChange]);

  const set = useCallback((update: (old: T) => T) => {
    seqRef.current++;
    setState((s) => ({ ...s, data: s.data === undefined ? undefined : update(s.data), loading: false }));
  }, []);

  useEffect(() => {
    void reload();
  }, [reload]);

  // Until the first answer for new `deps` comes, a page that resets shows neither the
  // previous data nor the previous error.
  const stale = resetOnChange && state.key !== key;
  const data = stale ? undefined : state.data;
  const poll = options.poll ?? false;
  usePoll(reload, typeof poll === 'boolean' ? poll : data !== undefined && poll(data), options.pollMs);
  return { data, error: stale ? null : state.error, loading: state.loading, reload, set };
}
