import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p class="state loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="state empty">{children}</p>;
}

export function Failure({ error, retry }: { error: unknown; retry?: () => void }) {
  const status = error instanceof ApiError ? error.status : -1;
  const message =
    status === 404 ? 'Not found: it does not exist, or no longer does.' : error instanceof Error ? error.message : String(error);
  return (
    <div class="state failure" role="alert">
      <p>{message}</p>
      {retry && status !== 404 && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export type Async<T> = { loading: true; error?: undefined; data?: T } | { loading: false; error: unknown; data?: T } | { loading: false; error?: undefined; data: T };

/** Runs `load` whenever `deps` change; the latest run wins. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Async<T> & { reload(): void; set(data: T): void } {
  const [state, setState] = useState<Async<T>>({ loading: true });
  const [round, setRound] = useState(0);
  const current = useRef<AbortController | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    current.current?.abort();
    current.current = controller;
    setState((previous) => ({ loading: true, data: previous.data }) as Async<T>);
    load(controller.signal).then(
      (data) => !controller.signal.aborted && setState({ loading: false, data }),
      (error) => !controller.signal.aborted && setState({ loading: false, error }),
    );
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  const set = useCallback((data: T) => setState({ loading: false, data }), []);
  return { ...state, reload, set };
}

/** Shows loading, failure or the content of an Async. */
export function Resolved<T>({ state, children, retry }: { state: { data?: T; error?: unknown }; retry?: () => void; children: (data: NoInfer<T>) => ComponentChildren }) {
  if (state.error !== undefined) return <Failure error={state.error} retry={retry} />;
  if (state.data === undefined) return <Loading />;
  return <>{children(state.data)}</>;
}
