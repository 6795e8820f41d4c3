import { useState } from 'preact/hooks';
import { del, post, put } from '../api';
import {
  ConfirmDialog,
  EmptyRow,
  Field,
  fieldErrorsOf,
  inputClass,
  LevelBadge,
  Modal,
  PageHeader,
  ProblemAlert,
  Spinner,
} from '../components/ui';
import { useCan } from '../session';
import { COMPONENT_LABELS, COMPONENTS, type Component, type Level, type Permissions, type Role } from '../types';
import { useRoles } from './Users';

export function RolesPage() {
  const canWrite = useCan('admin', 'write');
  const roles = useRoles();
  const [editing, setEditing] = useState<Role | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Role | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const cols = COMPONENTS.length + 3 + (canWrite ? 1 : 0);

  return (
    <div data-testid="roles-page">
      <PageHeader
        title="Roles"
        subtitle="What each role may do, per component: none < read < write"
        actions={
          canWrite && (
            <button class="btn btn-primary" onClick={() => setEditing('new')} data-testid="new-role">
              + New role
            </button>
          )
        }
      />
      {notice && (
        <div class="alert alert-success alert-dismissible py-2" data-testid="role-notice">
          {notice}
          <button type="button" class="btn-close" aria-label="Close" onClick={() => setNotice(null)} />
        </div>
      )}
      <ProblemAlert error={roles.error} />
      <div class="card shadow-sm">
        <div class="table-responsive">
          <table class="table table-hover align-middle mb-0 role-matrix" data-testid="roles-table">
            <thead class="table-light">
              <tr>
                <th>Role</th>
                {COMPONENTS.map((c) => (
                  <th key={c} class="text-center small">
                    {COMPONENT_LABELS[c]}
                  </th>
                ))}
                <th class="text-end">Users</th>
                <th />
                {canWrite && <th />}
              </tr>
            </thead>
            <tbody>
              {roles.loading && !roles.data ? (
                <tr>
                  <td colSpan={cols}>
                    <Spinner />
                  </td>
                </tr>
              ) : (roles.data ?? []).length === 0 ? (
                <EmptyRow cols={cols}>No roles.</EmptyRow>
              ) : (
                (roles.data ?? []).map((r) => (
                  <tr key={r.name} data-testid="role-row" data-name={r.name}>
                    <td>
                      <div class="fw-medium">{r.name}</div>
                      {r.description && <div class="small text-body-secondary">{r.description}</div>}
                    </td>
                    {COMPONENTS.map((c) => (
                      <td key={c} class="text-center" data-testid={`role-${r.name}-${c}`}>
                        <LevelBadge level={r.permissions?.[c]} />
                      </td>
                    ))}
                    <td class="text-end">{r.users}</td>
                    <td>
                      {r.builtin ? (
                        <span class="badge text-bg-light border" title="Built-in roles cannot be changed">
                          built-in
                        </span>
                      ) : (
                        <span class="badge text-bg-primary-subtle text-primary-emphasis border border-primary-subtle">
                          custom
                        </span>
                      )}
                    </td>
                    {canWrite && (
                      <td class="text-end text-nowrap">
                        {!r.builtin && (
                          <>
                            <button
                              class="btn btn-sm btn-outline-primary me-1"
                              onClick={() => setEditing(r)}
                              data-testid="role-edit"
                            >
                              Edit
                            </button>
                            <button
                              class="btn btn-sm btn-outline-danger"
                              onClick={() => setDeleting(r)}
                              disabled={r.users > 0}
                              title={r.users > 0 ? 'Still assigned to users' : undefined}
                              data-testid="role-delete"
                            >
                              Delete
                            </button>
                          </>
                        )}
                      </td>
                    )}
                  </tr>
                ))
              )}
            </tbody>
          </table>
        </div>
      </div>
      {editing && (
        <RoleDialog
          role={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(r, created) => {
            setEditing(null);
            setNotice(`Role ${r.name} was ${created ? 'created' : 'saved'}.`);
            void roles.reload();
          }}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title="Delete role"
          confirmLabel="Delete role"
          danger
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            await del(`/v1/roles/${encodeURIComponent(deleting.name)}`);
            setNotice(`Role ${deleting.name} was deleted.`);
            void roles.reload();
          }}
        >
          Delete the role <strong>{deleting.name}</strong>? This cannot be undone.
        </ConfirmDialog>
      )}
    </div>
  );
}

function RoleDialog(props: { role: Role | null; onClose: () => void; onSaved: (r: Role, created: boolean) => void }) {
  const existing = props.role;
  const [name, setName] = useState(existing?.name ?? '');
  const [description, setDescription] = useState(existing?.description ?? '');
  const [perms, setPerms] = useState<Record<Component, Level>>(
    () =>
      Object.fromEntries(
        COMPONENTS.map((c) => [c, (existing?.permissions?.[c] as Level | undefined) ?? 'none']),
      ) as Record<Component, Level>,
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fe = fieldErrorsOf(error);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const permissions: Permissions = { ...perms };
    try {
      const r = existing
        ? await put<Role>(`/v1/roles/${encodeURIComponent(existing.name)}`, { description, permissions })
        : await post<Role>('/v1/roles', { name: name.trim(), description, permissions });
      props.onSaved(r ?? { ...(existing as Role), description, permissions }, !existing);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <Modal
      title={existing ? `Edit role ${existing.name}` : 'New role'}
      onClose={props.onClose}
      testid="role-dialog"
      size="lg"
      static={busy}
      footer={
        <>
          <button type="button" class="btn btn-outline-secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" form="role-form" class="btn btn-primary" disabled={busy} data-testid="role-submit">
            {existing ? 'Save role' : 'Create role'}
          </button>
        </>
      }
    >
      <ProblemAlert
        error={error}
        shownFields={['name', 'description', ...COMPONENTS.map((c) => `permissions.${c}`)]}
      />
      <form id="role-form" onSubmit={submit} noValidate>
        <div class="row">
          <Field id="role-name" label="Name" error={fe.name} class="col-md-5 mb-3" help="Lower-case letters, digits and dashes">
            <input
              id="role-name"
              class={inputClass(fe.name)}
              value={name}
              disabled={!!existing}
              onInput={(e) => setName(e.currentTarget.value)}
            />
          </Field>
          <Field id="role-description" label="Description" error={fe.description} class="col-md-7 mb-3">
            <input
              id="role-description"
              class={inputClass(fe.description)}
              value={description}
              onInput={(e) => setDescription(e.currentTarget.value)}
            />
          </Field>
        </div>
        <div class="row g-2">
          {COMPONENTS.map((c) => {
            const err = fe[`permissions.${c}`];
            return (
              <div class="col-sm-6 col-md-3" key={c}>
                <label for={`role-perm-${c}`} class="form-label small mb-1">
                  {COMPONENT_LABELS[c]}
                </label>
                <select
                  id={`role-perm-${c}`}
                  class={inputClass(err, 'form-select form-select-sm')}
                  value={perms[c]}
                  onChange={(e) => setPerms({ ...perms, [c]: e.currentTarget.value as Level })}
                >
                  <option value="none">none</option>
                  <option value="read">read</option>
                  <option value="write">write</option>
                </select>
                {err && <div class="invalid-feedback d-block">{err}</div>}
              </div>
            );
          })}
        </div>
      </form>
    </Modal>
  );
}
