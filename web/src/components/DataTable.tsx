import type { ComponentChildren } from 'preact';
import { EmptyRow, Spinner } from './ui';

/**
 * A list table: a header row, then a spinner while the first answer is awaited,
 * `empty` when there is nothing, or one `row(item)` per item (give each a key).
 */
export function DataTable<T>(props: {
  testid: string;
  /** Extra classes on the <table>. */
  class?: string;
  /** Highlight the row under the pointer (default true). */
  hover?: boolean;
  /** The <th> cells. */
  head: ComponentChildren;
  /** How many columns the header has (for the spinner and empty rows). */
  cols: number;
  /** null or undefined while the first answer is awaited. */
  items: readonly T[] | null | undefined;
  /** A reload is in progress (the spinner shows when there are no items yet). */
  loading?: boolean;
  empty: ComponentChildren;
  row: (item: T) => ComponentChildren;
}) {
  const items = props.items ?? [];
  const waiting = props.items == null || (props.loading === true && items.length === 0);
  const classes = ['table', props.hover === false ? '' : 'table-hover', 'align-middle', 'mb-0', props.class ?? '']
    .filter(Boolean)
    .join(' ');
  return (
    <div class="table-responsive">
      <table class={classes} data-testid={props.testid}>
        <thead class="table-light">
          <tr>{props.head}</tr>
        </thead>
        <tbody>
          {waiting ? (
            <tr>
              <td colSpan={props.cols}>
                <Spinner />
              </td>
            </tr>
          ) : items.length === 0 ? (
            <EmptyRow cols={props.cols}>{props.empty}</EmptyRow>
          ) : (
            items.map(props.row)
          )}
        </tbody>
      </table>
    </div>
  );
}

/** The "Load more" footer of a cursor-paged card; nothing when there is no next page. */
export function LoadMore(props: { next: string | null; loading: boolean; onMore: () => void; testid: string }) {
  if (!props.next) return null;
  return (
    <div class="card-footer bg-body text-center">
      <button class="btn btn-sm btn-outline-secondary" onClick={props.onMore} disabled={props.loading} data-testid={props.testid}>
        {props.loading ? 'Loading…' : 'Load more'}
      </button>
    </div>
  );
}
