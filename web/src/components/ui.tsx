import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, errorMessage } from '../api';
import { fmtRelative, fmtTime, prettyJson } from '../format';
import { useAction } from '../hooks';
import { href } from '../router';
import type { Level } from '../types';

/** Shows a problem+json error: title, detail, and any field errors not shown by a form. */
export function ProblemAlert(props: {
  error: unknown;
  testid?: string;
  /** Fields whose messages are already shown next to their inputs. */
  shownFields?: string[];
  onClose?: () => void;
}) {
  const { error } = props;
  if (!error) return null;
  let title = 'Something went wrong';
  let detail: string | undefined;
  let extra: { field: string; message: string }[] = [];
  let requestId: string | undefined;
  if (error instanceof ApiError) {
    title = error.problem.title || `Request failed (${error.status})`;
    detail = error.problem.detail;
    requestId = error.problem.request_id;
    const shown = props.shownFields ?? [];
    extra = (error.problem.errors ?? []).filter((e) => !shown.some((f) => fieldMatches(e.field, f)));
  } else {
    detail = errorMessage(error);
  }
  return (
    <div class="alert alert-danger d-flex align-items-start gap-2" role="alert" data-testid={props.testid ?? 'error'}>
      <div class="flex-grow-1">
        <strong data-testid="error-title">{title}</strong>
        {detail && <div data-testid="error-detail">{detail}</div>}
        {extra.length > 0 && (
          <ul class="mb-0 mt-1 small">
            {extra.map((e) => (
              <li key={e.field + e.message}>
                {e.field ? (
                  <>
                    <code>{e.field}</code>: {e.message}
                  </>
                ) : (
                  e.message
                )}
              </li>
            ))}
          </ul>
        )}
        {requestId && <div class="small text-body-secondary mt-1">Request ID: {requestId}</div>}
      </div>
      {props.onClose && <button type="button" class="btn-close" aria-label="Close" onClick={props.onClose} />}
    </div>
  );
}

/** True when the problem's `field` is `name` or inside it (`name.x`, `name[0]`). */
export function fieldMatches(field: string, name: string): boolean {
  return field === name || field.startsWith(`${name}.`) || field.startsWith(`${name}[`);
}

/** The first message for `name` or any field inside it. */
export function fieldError(errors: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(errors).find((f) => fieldMatches(f, name));
  return key === undefined ? undefined : errors[key];
}

/** A labelled form row; `error` renders Bootstrap's invalid-feedback below the control. */
export function Field(props: {
  id: string;
  label: string;
  error?: string;
  help?: ComponentChildren;
  children: ComponentChildren;
  class?: string;
}) {
  return (
    <div class={props.class ?? 'mb-3'}>
      <label for={props.id} class="form-label">
        {props.label}
      </label>
      {props.children}
      {props.error && (
        <div class="invalid-feedback d-block" data-testid={`field-error-${props.id}`}>
          {props.error}
        </div>
      )}
      {props.help && !props.error && <div class="form-text">{props.help}</div>}
    </div>
  );
}

export function inputClass(error?: string, base = 'form-control'): string {
  return error ? `${base} is-invalid` : base;
}

const LEVEL_STYLE: Record<Level, string> = {
  write: 'text-bg-success',
  read: 'text-bg-info',
  none: 'text-bg-light text-body-tertiary border',
};

export function LevelBadge(props: { level: Level | undefined | null }) {
  const level: Level = props.level === 'read' || props.level === 'write' ? props.level : 'none';
  return <span class={`badge ${LEVEL_STYLE[level]} level-badge`}>{level}</span>;
}

const STATUS_STYLE: Record<string, string> = {
  active: 'text-bg-success',
  disabled: 'text-bg-secondary',
  expired: 'text-bg-warning',
  revoked: 'text-bg-danger',
  queued: 'text-bg-secondary',
  running: 'text-bg-primary',
  succeeded: 'text-bg-success',
  failed: 'text-bg-danger',
  cancelled: 'text-bg-warning',
  inactive: 'text-bg-secondary',
  erased: 'text-bg-dark',
  granted: 'text-bg-success',
  withdrawn: 'text-bg-secondary',
  paused: 'text-bg-warning',
  pending: 'text-bg-info',
  uploaded: 'text-bg-info',
  stale: 'text-bg-warning',
  unregistered: 'text-bg-secondary',
  enabled: 'text-bg-success',
};

export function StatusBadge(props: { status: string; testid?: string }) {
  return (
    <span class={`badge ${STATUS_STYLE[props.status] ?? 'text-bg-light'}`} data-testid={props.testid}>
      {props.status}
    </span>
  );
}

export function Spinner(props: { label?: string }) {
  return (
    <div class="d-flex align-items-center gap-2 text-body-secondary py-3" data-testid="loading">
      <div class="spinner-border spinner-border-sm" role="status" aria-hidden="true" />
      <span>{props.label ?? 'Loading…'}</span>
    </div>
  );
}

export function PageHeader(props: { title: string; subtitle?: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <div class="d-flex flex-wrap align-items-center justify-content-between gap-2 mb-3">
      <div>
        <h1 class="h3 mb-0">{props.title}</h1>
        {props.subtitle && <div class="text-body-secondary small">{props.subtitle}</div>}
      </div>
      {props.actions && <div class="d-flex gap-2">{props.actions}</div>}
    </div>
  );
}

/** A Bootstrap-styled modal dialog rendered by Preact (no Bootstrap JS). */
export function Modal(props: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  footer?: ComponentChildren;
  testid?: string;
  size?: 'sm' | 'lg' | 'xl';
  static?: boolean;
}) {
  const ref = useRef<HTMLDivElement>(null);
  // Keep the latest props for the key handler without re-running the effect (which
  // would move the focus away from the field being typed in).
  const latest = useRef(props);
  latest.current = props;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !latest.current.static) latest.current.onClose();
    };
    document.addEventListener('keydown', onKey);
    document.body.classList.add('modal-open');
    const first = ref.current?.querySelector<HTMLElement>('.modal-body input:not([disabled]), .modal-body select, .modal-body textarea');
    (first ?? ref.current)?.focus();
    return () => {
      document.removeEventListener('keydown', onKey);
      document.body.classList.remove('modal-open');
    };
  }, []);
  return (
    <>
      <div
        ref={ref}
        class="modal d-block"
        tabIndex={-1}
        role="dialog"
        aria-modal="true"
        aria-label={props.title}
        data-testid={props.testid ?? 'modal'}
        onClick={(e) => {
          if (e.target === e.currentTarget && !props.static) props.onClose();
        }}
      >
        <div class={`modal-dialog modal-dialog-centered ${props.size ? `modal-${props.size}` : ''}`}>
          <div class="modal-content shadow">
            <div class="modal-header">
              <h2 class="modal-title h5">{props.title}</h2>
              <button type="button" class="btn-close" aria-label="Close" onClick={props.onClose} />
            </div>
            <div class="modal-body">{props.children}</div>
            {props.footer && <div class="modal-footer">{props.footer}</div>}
          </div>
        </div>
      </div>
      <div class="modal-backdrop show" />
    </>
  );
}

/** A confirmation dialog; `onConfirm` may be async and its error is shown in the dialog. */
export function ConfirmDialog(props: {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  /** Keeps the confirm button disabled (e.g. until the user typed a name). */
  confirmDisabled?: boolean;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const action = useAction();
  const confirm = async () => {
    if (await action.run(props.onConfirm)) props.onClose();
  };
  return (
    <Modal
      title={props.title}
      onClose={props.onClose}
      testid="confirm-dialog"
      static={action.busy}
      footer={
        <>
          <button type="button" class="btn btn-outline-secondary" onClick={props.onClose} disabled={action.busy}>
            Cancel
          </button>
          <button
            type="button"
            class={`btn ${props.danger ? 'btn-danger' : 'btn-primary'}`}
            onClick={() => void confirm()}
            disabled={action.busy || props.confirmDisabled === true}
            data-testid="confirm-ok"
          >
            <BusySpinner busy={action.busy} />
            {props.confirmLabel}
          </button>
        </>
      }
    >
      <ProblemAlert error={action.error} />
      {props.children}
    </Modal>
  );
}

/** The small spinner shown inside a button while its action runs. */
export function BusySpinner(props: { busy: boolean }) {
  return props.busy ? <span class="spinner-border spinner-border-sm me-1" aria-hidden="true" /> : null;
}

/** The page's primary "+ New …" button. */
export function AddButton(props: { onClick: () => void; testid: string; children: ComponentChildren }) {
  return (
    <button type="button" class="btn btn-primary" onClick={props.onClick} data-testid={props.testid}>
      + {props.children}
    </button>
  );
}

/** A Bootstrap switch (a checkbox shown as a toggle) with its label. */
export function Switch(props: { id: string; label: string; checked: boolean; onChange: (on: boolean) => void; labelClass?: string }) {
  return (
    <div class="form-check form-switch mb-0">
      <input
        class="form-check-input"
        type="checkbox"
        role="switch"
        id={props.id}
        checked={props.checked}
        onChange={(e) => props.onChange(e.currentTarget.checked)}
      />
      <label class={`form-check-label ${props.labelClass ?? ''}`} for={props.id}>
        {props.label}
      </label>
    </div>
  );
}

/** A dismissible success message at the top of a page. */
export function Notice(props: { testid: string; onClose: () => void; children: ComponentChildren }) {
  return (
    <div class="alert alert-success alert-dismissible py-2" role="status" data-testid={props.testid}>
      {props.children}
      <button type="button" class="btn-close" aria-label="Close" onClick={props.onClose} />
    </div>
  );
}

export function EmptyRow(props: { cols: number; children: ComponentChildren }) {
  return (
    <tr>
      <td colSpan={props.cols} class="text-center text-body-secondary py-4">
        {props.children}
      </td>
    </tr>
  );
}

export function Time(props: { iso: string | null | undefined; relative?: boolean }) {
  if (!props.iso) return <span class="text-body-tertiary">—</span>;
  return (
    <time dateTime={props.iso} title={`${props.iso} (${fmtRelative(props.iso)})`} class="text-nowrap">
      {props.relative ? fmtRelative(props.iso) : fmtTime(props.iso)}
    </time>
  );
}

/** A progress bar for `done` of `total` (a dash while the total is unknown). */
export function ProgressBar(props: {
  done: number;
  total: number;
  label: string;
  /** queued, running, succeeded, failed or cancelled: the bar's colour and animation. */
  state: string;
  testid: string;
  height?: string;
}) {
  const { done, total, state } = props;
  if (total <= 0) return <span class="text-body-tertiary small">—</span>;
  const pct = Math.max(0, Math.min(100, Math.round((done / total) * 100)));
  const running = state === 'running';
  const color =
    state === 'failed' ? 'bg-danger' : state === 'cancelled' ? 'bg-warning' : state === 'succeeded' ? 'bg-success' : '';
  return (
    <div class="d-flex align-items-center gap-2">
      <div
        class="progress flex-grow-1"
        role="progressbar"
        aria-label={props.label}
        aria-valuenow={done}
        aria-valuemin={0}
        aria-valuemax={total}
        style={{ height: props.height ?? '0.6rem' }}
        data-testid={props.testid}
        data-done={done}
        data-total={total}
      >
        <div
          class={`progress-bar ${color} ${running ? 'progress-bar-striped progress-bar-animated' : ''}`}
          style={{ width: `${pct}%` }}
        />
      </div>
      <small class="text-body-secondary text-nowrap" style={{ minWidth: '3.5rem' }}>
        {done}/{total}
      </small>
    </div>
  );
}

/** Pretty-printed JSON in a scrolling box; "(none)" for null. */
export function JsonBlock(props: { value: unknown; testid?: string }) {
  if (props.value === null || props.value === undefined) {
    return (
      <div class="text-body-tertiary small fst-italic" data-testid={props.testid}>
        (none)
      </div>
    );
  }
  return (
    <pre class="json-block mb-0" data-testid={props.testid}>
      {typeof props.value === 'string' ? props.value : prettyJson(props.value)}
    </pre>
  );
}

/** A secret shown once: read-only input with a copy button. */
export function SecretBox(props: { id: string; label: ComponentChildren; value: string; testid: string; copyTestid: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.value);
    } catch {
      // Without clipboard permission (plain http), fall back to selecting and copying.
      const el = document.getElementById(props.id) as HTMLInputElement | null;
      el?.select();
      document.execCommand('copy');
    }
    setCopied(true);
  };
  return (
    <>
      <label for={props.id} class="form-label">
        {props.label}
      </label>
      <div class="input-group">
        <input
          id={props.id}
          class="form-control font-monospace"
          readOnly
          value={props.value}
          onFocus={(e) => e.currentTarget.select()}
          data-testid={props.testid}
        />
        <button
          type="button"
          class={`btn ${copied ? 'btn-success' : 'btn-outline-secondary'}`}
          onClick={() => void copy()}
          data-testid={props.copyTestid}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
    </>
  );
}

/** "Parent / this page": the trail at the top of every detail page. */
export function Breadcrumb(props: { parent: string; parentLabel: string; label: ComponentChildren }) {
  return (
    <nav aria-label="breadcrumb">
      <ol class="breadcrumb small mb-2">
        <li class="breadcrumb-item">
          <a href={href(props.parent)}>{props.parentLabel}</a>
        </li>
        <li class="breadcrumb-item active text-truncate" aria-current="page" style={{ maxWidth: '30rem' }}>
          {props.label}
        </li>
      </ol>
    </nav>
  );
}
