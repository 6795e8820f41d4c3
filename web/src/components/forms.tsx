import type { ComponentChildren, InputHTMLAttributes } from 'preact';
import { errorMessage } from '../api';
import { type Action, useRoles } from '../hooks';
import type { Level } from '../types';
import { BusySpinner, Field, inputClass, Modal, ProblemAlert } from './ui';

/**
 * A dialog holding one form: the error alert (minus the fields shown next to
 * their inputs), Cancel and a submit button that shows the action's progress.
 * The dialog stays open while the action runs.
 */
export function FormModal(props: {
  title: string;
  testid: string;
  size?: 'sm' | 'lg' | 'xl';
  onClose: () => void;
  /** id of the <form>, tying the footer's submit button to it. */
  formId: string;
  action: Action;
  onSubmit: () => Promise<void>;
  /** Fields whose errors are shown next to their inputs. */
  shownFields: string[];
  submitLabel: string;
  submitTestid: string;
  /** False disables the submit button (e.g. nothing chosen yet). */
  canSubmit?: boolean;
  children: ComponentChildren;
}) {
  const { action } = props;
  return (
    <Modal
      title={props.title}
      onClose={props.onClose}
      testid={props.testid}
      size={props.size}
      static={action.busy}
      footer={
        <>
          <button type="button" class="btn btn-outline-secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button
            type="submit"
            form={props.formId}
            class="btn btn-primary"
            disabled={action.busy || props.canSubmit === false}
            data-testid={props.submitTestid}
          >
            <BusySpinner busy={action.busy} />
            {props.submitLabel}
          </button>
        </>
      }
    >
      <ProblemAlert error={action.error} shownFields={props.shownFields} />
      <form
        id={props.formId}
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(props.onSubmit);
        }}
      >
        {props.children}
      </form>
    </Modal>
  );
}

/** A labelled text input (any <input> type) with its error or help text below. */
export function TextField(
  props: {
    id: string;
    label: string;
    value: string;
    onValue: (value: string) => void;
    error?: string;
    help?: ComponentChildren;
    /** Classes of the wrapping field (default "mb-3"). */
    fieldClass?: string;
  } & Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'value' | 'class' | 'className' | 'onInput' | 'label'>,
) {
  const { id, label, value, onValue, error, help, fieldClass, ...input } = props;
  return (
    <Field id={id} label={label} error={error} help={help} class={fieldClass}>
      <input {...input} id={id} class={inputClass(error)} value={value} onInput={(e) => onValue(e.currentTarget.value)} />
    </Field>
  );
}

export interface LevelOption<V extends string> {
  value: V;
  label: string;
}

export const LEVEL_OPTIONS: LevelOption<Level>[] = [
  { value: 'none', label: 'none' },
  { value: 'read', label: 'read' },
  { value: 'write', label: 'write' },
];

/** A small select of permission levels, with its error message below. */
export function LevelSelect<V extends string>(props: {
  id: string;
  value: V;
  options: readonly LevelOption<V>[];
  onChange: (value: V) => void;
  error?: string;
  disabled?: boolean;
  ariaLabel?: string;
  testid?: string;
}) {
  return (
    <>
      <select
        id={props.id}
        aria-label={props.ariaLabel}
        class={inputClass(props.error, 'form-select form-select-sm')}
        value={props.value}
        disabled={props.disabled}
        onChange={(e) => props.onChange(e.currentTarget.value as V)}
        data-testid={props.testid}
      >
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {props.error && <div class="invalid-feedback d-block">{props.error}</div>}
    </>
  );
}

/**
 * A select of the roles. With an empty `value` it asks to choose one; a value
 * that is not (or not yet) in the list is kept as an option.
 */
export function RoleSelect(props: {
  id: string;
  value: string;
  onChange: (role: string) => void;
  error?: string;
  disabled?: boolean;
  /** Show each role's description after its name. */
  describe?: boolean;
}) {
  const roles = useRoles();
  const list = roles.data ?? [];
  return (
    <>
      <select
        id={props.id}
        class={inputClass(props.error, 'form-select')}
        value={props.value}
        disabled={props.disabled}
        onChange={(e) => props.onChange(e.currentTarget.value)}
        required
      >
        {props.value === '' ? (
          <option value="" disabled>
            {roles.loading ? 'Loading roles…' : 'Choose a role…'}
          </option>
        ) : (
          !list.some((r) => r.name === props.value) && <option value={props.value}>{props.value}</option>
        )}
        {list.map((r) => (
          <option key={r.name} value={r.name}>
            {r.name}
            {props.describe && r.description ? ` — ${r.description}` : ''}
          </option>
        ))}
      </select>
      {roles.error != null && (
        <div class="form-text text-danger" role="alert">
          The roles could not be loaded: {errorMessage(roles.error)}
        </div>
      )}
    </>
  );
}
