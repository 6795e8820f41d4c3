// Shared state hooks: loading data from the API, cursor paging, and running a
// form's submit with busy/error state.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get } from './api';
import type { Page, Role } from './types';

/** Loads data with an async function; `reload` runs it again. Only the latest run's answer is kept. */
export function useLoader<T>(load: () => Promise<T>, deps: unknown[] = []) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  const run = useCallback(async () => {
    const mine = ++seq.current;
    setLoading(true);
    try {
      const d = await load();
      if (mine === seq.current) {
        setData(d);
        setError(null);
      }
    } catch (e) {
      if (mine === seq.current) setError(e);
    } finally {
      if (mine === seq.current) setLoading(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(() => {
    void run();
  }, [run]);
  return { data, setData, error, loading, reload: run };
}

/**
 * A cursor-paged list: loads the first page (again whenever `deps` change, and on
 * `reload`), and appends the next page on `more`, skipping items already shown.
 */
export function usePagedList<T>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  deps: unknown[],
  /** Tells items apart (default: their `id`). */
  keyOf: (item: T) => string = (item) => (item as { id: string }).id,
) {
  const first = useLoader(() => fetchPage(undefined), deps);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>(null);
  const { data, setData } = first;
  const next = data?.next_cursor ?? null;

  // A failed "load more" is forgotten once the list changes (a reload, a later page).
  useEffect(() => setMoreError(null), [data]);

  const more = async () => {
    if (!data || !next) return;
    setLoadingMore(true);
    try {
      const page = await fetchPage(next);
      // Append only to the list the cursor came from (not to one reloaded meanwhile).
      setData((old) => {
        if (old !== data) return old;
        const seen = new Set(old.items.map(keyOf));
        return { items: [...old.items, ...page.items.filter((x) => !seen.has(keyOf(x)))], next_cursor: page.next_cursor };
      });
    } catch (e) {
      setMoreError(e);
    } finally {
      setLoadingMore(false);
    }
  };

  return {
    items: data?.items ?? null,
    loading: first.loading,
    error: first.error ?? moreError,
    reload: first.reload,
    next,
    more,
    loadingMore,
  };
}

/**
 * Busy/error state for one action (a form's submit, a button): `run(fn)` clears
 * the error, marks busy, and keeps what `fn` throws (through `mapError`) as `error`.
 * Resolves to true when `fn` succeeded.
 */
export function useAction(mapError: (e: unknown) => unknown = (e) => e) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (fn: () => Promise<void>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await fn();
      return true;
    } catch (e) {
      setError(mapError(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  const fieldErrors: Record<string, string> = error instanceof ApiError ? error.fieldErrors() : {};
  return { busy, error, setError, fieldErrors, run };
}

export type Action = ReturnType<typeof useAction>;

/** All roles (built-in and custom), for the roles page and the role pickers. */
export function useRoles() {
  return useLoader(async () => (await get<{ items: Role[] }>('/v1/roles')).items, []);
}

/** `value`, but only once it has stayed the same for `ms` milliseconds. */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/** Calls `tick` every `ms` milliseconds while `active` (e.g. while a job runs). */
export function usePolling(tick: () => void, ms: number, active: boolean) {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    if (!active) return undefined;
    const t = setInterval(() => latest.current(), ms);
    return () => clearInterval(t);
  }, [active, ms]);
}
