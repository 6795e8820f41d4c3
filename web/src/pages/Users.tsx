import { useState } from 'preact/hooks';
import { get, post } from '../api';
import { DataTable, LoadMore } from '../components/DataTable';
import { FormModal, RoleSelect, TextField } from '../components/forms';
import { AddButton, Field, Notice, PageHeader, ProblemAlert, StatusBadge, Time } from '../components/ui';
import { useAction, usePagedList } from '../hooks';
import { href, navigate } from '../router';
import { useCan } from '../session';
import type { Page, User } from '../types';

const PAGE_SIZE = 50;

export function UsersPage() {
  const canWrite = useCan('admin', 'write');
  const [q, setQ] = useState('');
  const [status, setStatus] = useState('');
  const [query, setQuery] = useState({ q: '', status: '' });
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<User | null>(null);
  const users = usePagedList(
    (cursor) => get<Page<User>>('/v1/users', { ...query, cursor, limit: PAGE_SIZE }),
    [query],
  );

  return (
    <div data-testid="users-page">
      <PageHeader
        title="Users"
        subtitle="Staff accounts that can sign in to Kontor"
        actions={
          canWrite && (
            <AddButton onClick={() => setCreating(true)} testid="new-user">
              New user
            </AddButton>
          )
        }
      />
      {created && (
        <Notice testid="user-created" onClose={() => setCreated(null)}>
          User <strong>{created.email}</strong> was created. <a href={href('users', created.id)}>Open the user</a>
        </Notice>
      )}
      <div class="card shadow-sm">
        <div class="card-header bg-body">
          <form
            class="row g-2 align-items-end"
            onSubmit={(e) => {
              e.preventDefault();
              setQuery({ q: q.trim(), status });
            }}
          >
            <div class="col-sm-6 col-md-5">
              <label for="users-q" class="form-label small mb-1">
                Search
              </label>
              <input
                id="users-q"
                class="form-control form-control-sm"
                type="search"
                placeholder="Email or name"
                value={q}
                onInput={(e) => setQ(e.currentTarget.value)}
              />
            </div>
            <div class="col-sm-3 col-md-3">
              <label for="users-status" class="form-label small mb-1">
                Status
              </label>
              <select
                id="users-status"
                class="form-select form-select-sm"
                value={status}
                onChange={(e) => {
                  setStatus(e.currentTarget.value);
                  setQuery({ q: q.trim(), status: e.currentTarget.value });
                }}
              >
                <option value="">Any</option>
                <option value="active">Active</option>
                <option value="disabled">Disabled</option>
              </select>
            </div>
            <div class="col-auto">
              <button type="submit" class="btn btn-sm btn-outline-secondary">
                Search
              </button>
            </div>
          </form>
        </div>
        <ProblemAlert error={users.error} />
        <DataTable
          testid="users-table"
          cols={5}
          head={
            <>
              <th>Email</th>
              <th>Name</th>
              <th>Role</th>
              <th>Status</th>
              <th>Last login</th>
            </>
          }
          items={users.items}
          loading={users.loading}
          empty="No users match."
          row={(u) => (
            <tr
              key={u.id}
              data-testid="user-row"
              data-email={u.email}
              class="clickable-row"
              onClick={(e) => {
                if (!(e.target instanceof HTMLAnchorElement)) navigate('users', u.id);
              }}
            >
              <td>
                <a href={href('users', u.id)} data-testid="user-link">
                  {u.email}
                </a>
              </td>
              <td>{u.name}</td>
              <td>
                <span class="badge text-bg-secondary">{u.role}</span>
                {Object.values(u.overrides ?? {}).some((v) => v) && (
                  <span class="badge text-bg-warning ms-1" title="Has per-component overrides">
                    overrides
                  </span>
                )}
              </td>
              <td>
                <StatusBadge status={u.status} />
              </td>
              <td>
                <Time iso={u.last_login_at} />
              </td>
            </tr>
          )}
        />
        <LoadMore next={users.next} loading={users.loadingMore} onMore={() => void users.more()} testid="users-load-more" />
      </div>
      {creating && (
        <CreateUserDialog
          onClose={() => setCreating(false)}
          onCreated={(u) => {
            setCreating(false);
            setCreated(u);
            void users.reload();
          }}
        />
      )}
    </div>
  );
}

function CreateUserDialog(props: { onClose: () => void; onCreated: (u: User) => void }) {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState('');
  const action = useAction();
  const fe = action.fieldErrors;

  return (
    <FormModal
      title="New user"
      testid="create-user-dialog"
      onClose={props.onClose}
      formId="create-user-form"
      action={action}
      onSubmit={async () =>
        props.onCreated(await post<User>('/v1/users', { email: email.trim(), name: name.trim(), password, role }))
      }
      shownFields={['email', 'name', 'password', 'role']}
      submitLabel="Create user"
      submitTestid="create-user-submit"
    >
      <TextField id="new-user-email" label="Email" type="email" autocomplete="off" required value={email} onValue={setEmail} error={fe.email} />
      <TextField id="new-user-name" label="Name" autocomplete="off" required value={name} onValue={setName} error={fe.name} />
      <TextField
        id="new-user-password"
        label="Initial password"
        type="password"
        autocomplete="new-password"
        required
        value={password}
        onValue={setPassword}
        error={fe.password}
        help="Share it with the user securely."
      />
      <Field id="new-user-role" label="Role" error={fe.role}>
        <RoleSelect id="new-user-role" value={role} onChange={setRole} error={fe.role} describe />
      </Field>
    </FormModal>
  );
}
