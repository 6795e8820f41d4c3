import { useState } from 'preact/hooks';
import { del, post, put } from '../api';
import { DataTable } from '../components/DataTable';
import { FormModal, LEVEL_OPTIONS, LevelSelect, TextField } from '../components/forms';
import { AddButton, ConfirmDialog, LevelBadge, Notice, PageHeader, ProblemAlert } from '../components/ui';
import { useAction, useRoles } from '../hooks';
import { useCan } from '../session';
import { COMPONENT_LABELS, COMPONENTS, type Component, type Level, type Permissions, type Role } from '../types';

export function RolesPage() {
  const canWrite = useCan('admin', 'write');
  const roles = useRoles();
  const [editing, setEditing] = useState<Role | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Role | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const cols = COMPONENTS.length + 2 + (canWrite ? 1 : 0);

  return (
    <div data-testid="roles-page">
      <PageHeader
        title="Roles"
        subtitle="What each role may do, per component: none < read < write"
        actions={
          canWrite && (
            <AddButton onClick={() => setEditing('new')} testid="new-role">
              New role
            </AddButton>
          )
        }
      />
      {notice && (
        <Notice testid="role-notice" onClose={() => setNotice(null)}>
          {notice}
        </Notice>
      )}
      <ProblemAlert error={roles.error} />
      <div class="card shadow-sm">
        <DataTable
          testid="roles-table"
          class="role-matrix"
          cols={cols}
          head={
            <>
              <th>Role</th>
              {COMPONENTS.map((c) => (
                <th key={c} class="text-center">
                  {COMPONENT_LABELS[c]}
                </th>
              ))}
              <th class="text-end">Users</th>
              {canWrite && <th />}
            </>
          }
          items={roles.data}
          loading={roles.loading}
          empty="No roles."
          row={(r) => (
            <tr key={r.name} data-testid="role-row" data-name={r.name}>
              <td class="role-name">
                <div class="d-flex flex-wrap align-items-center column-gap-2">
                  <span class="fw-medium text-nowrap">{r.name}</span>
                  {r.builtin ? (
                    <span class="badge text-bg-light border fw-normal" title="Built-in roles cannot be changed">
                      built-in
                    </span>
                  ) : (
                    <span class="badge text-bg-primary-subtle text-primary-emphasis border border-primary-subtle fw-normal">
                      custom
                    </span>
                  )}
                </div>
                {r.description && <div class="small text-body-secondary">{r.description}</div>}
              </td>
              {COMPONENTS.map((c) => (
                <td key={c} class="text-center" data-testid={`role-${r.name}-${c}`}>
                  <LevelBadge level={r.permissions?.[c]} />
                </td>
              ))}
              <td class="text-end">{r.users}</td>
              {canWrite && (
                <td class="text-end text-nowrap">
                  {!r.builtin && (
                    <>
                      <button class="btn btn-sm btn-outline-primary me-1" onClick={() => setEditing(r)} data-testid="role-edit">
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
          )}
        />
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
  const action = useAction();
  const fe = action.fieldErrors;

  const save = async () => {
    const permissions: Permissions = { ...perms };
    const r = existing
      ? await put<Role>(`/v1/roles/${encodeURIComponent(existing.name)}`, { description, permissions })
      : await post<Role>('/v1/roles', { name: name.trim(), description, permissions });
    props.onSaved(r ?? { ...(existing as Role), description, permissions }, !existing);
  };

  return (
    <FormModal
      title={existing ? `Edit role ${existing.name}` : 'New role'}
      testid="role-dialog"
      size="lg"
      onClose={props.onClose}
      formId="role-form"
      action={action}
      onSubmit={save}
      shownFields={['name', 'description', ...COMPONENTS.map((c) => `permissions.${c}`)]}
      submitLabel={existing ? 'Save role' : 'Create role'}
      submitTestid="role-submit"
    >
      <div class="row">
        <TextField
          id="role-name"
          label="Name"
          fieldClass="col-md-5 mb-3"
          value={name}
          onValue={setName}
          disabled={!!existing}
          error={fe.name}
          help="Lower-case letters, digits and dashes"
        />
        <TextField
          id="role-description"
          label="Description"
          fieldClass="col-md-7 mb-3"
          value={description}
          onValue={setDescription}
          error={fe.description}
        />
      </div>
      <div class="row g-2">
        {COMPONENTS.map((c) => (
          <div class="col-sm-6 col-md-3" key={c}>
            <label for={`role-perm-${c}`} class="form-label small mb-1">
              {COMPONENT_LABELS[c]}
            </label>
            <LevelSelect
              id={`role-perm-${c}`}
              value={perms[c]}
              options={LEVEL_OPTIONS}
              onChange={(v) => setPerms({ ...perms, [c]: v })}
              error={fe[`permissions.${c}`]}
            />
          </div>
        ))}
      </div>
    </FormModal>
  );
}
