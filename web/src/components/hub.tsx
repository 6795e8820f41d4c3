// Small pieces shared by the client hub pages.
import { errorMessage } from '../api';
import { useLoader } from '../hooks';

/** A number loaded on its own (a list's members, a segment's count), with a spinner meanwhile. */
export function LazyCount(props: { load: () => Promise<number>; deps: unknown[]; testid: string }) {
  const n = useLoader(props.load, props.deps);
  if (n.error) {
    return (
      <span class="text-danger small" title={errorMessage(n.error)} data-testid={props.testid}>
        error
      </span>
    );
  }
  if (n.data === null) {
    return <span class="spinner-border spinner-border-sm text-body-tertiary" role="status" aria-label="Counting" />;
  }
  return (
    <span class="font-monospace" data-testid={props.testid} data-count={n.data}>
      {n.data.toLocaleString()}
    </span>
  );
}

export function Tags(props: { tags: readonly string[]; testid?: string }) {
  if (props.tags.length === 0) return <span class="text-body-tertiary">—</span>;
  return (
    <span class="d-inline-flex flex-wrap gap-1" data-testid={props.testid}>
      {props.tags.map((t) => (
        <span key={t} class="badge rounded-pill text-bg-light border fw-normal">
          {t}
        </span>
      ))}
    </span>
  );
}

const KIND_STYLE: Record<string, string> = {
  static: 'text-bg-secondary',
  products: 'text-bg-primary',
  segment: 'text-bg-info',
};

export function KindBadge(props: { kind: string }) {
  return <span class={`badge ${KIND_STYLE[props.kind] ?? 'text-bg-light'}`}>{props.kind}</span>;
}

/** A value or a faint dash. */
export function Val(props: { v: string | number | null | undefined; mono?: boolean }) {
  if (props.v === null || props.v === undefined || props.v === '') return <span class="text-body-tertiary">—</span>;
  return props.mono ? <code class="text-body">{props.v}</code> : <>{props.v}</>;
}
