import { useEffect, useState } from 'preact/hooks';
import { get, post } from '../api';
import {
  EmptyRow,
  Field,
  fieldErrorsOf,
  inputClass,
  Modal,
  PageHeader,
  ProblemAlert,
  Spinner,
  StatusBadge,
  Time,
  useLoader,
} from '../components/ui';
import { href, navigate } from '../router';
import { useCan } from '../session';
import type { Page, Role, User } from '../types';

const PAGE_SIZE = 50;

export function UsersPage() {
  const canWrite = useCan('admin', 'write');
  const [q, setQ] = useState('');
  const [status, setStatus] = useState('');
  const [query, setQuery] = useState({ q: '', status: '' });
  const [items, setItems] = useState<User[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<User | null>(null);

  const load = async (cursor?: string) => {
    const page = await get<Page<User>>('/v1/users', { ...query, cursor, limit: PAGE_SIZE });
    return page;
  };

  const reload = async () => {
    setLoading(true);
    try {
      const page = await load();
      setItems(page.items);
      setNext(page.next_cursor ?? null);
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    void reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [query]);

  const more = async () => {
    if (!next) return;
    setLoadingMore(true);
    try {
      const page = await load(next);
      setItems((old) => [...old, ...page.items]);
      setNext(page.next_cursor ?? null);
    } catch (e) {
      setError(e);
    } finally {
      setLoadingMore(false);
    }
  };

  return (
    <div data-testid="users-page">
      <PageHeader
        title="Users"
        subtitle="Staff accounts that can sign in to Kontor"
        actions={
          canWrite && (
            <button class="btn btn-primary" onClick={() => setCreating(true)} data-testid="new-user">
              + New user
            </button>
          )
        }
      />
      {created && (
        <div class="alert alert-success alert-dismissible" data-testid="user-created">
          User <strong>{created.email}</strong> was created.{' '}
          <a href={href('users', created.id)}>Open the user</a>
          <button type="button" class="btn-close" aria-label="Close" onClick={() => setCreated(null)} />
        </div>
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
        <ProblemAlert error={error} />
        <div class="table-responsive">
          <table class="table table-hover align-middle mb-0" data-testid="users-table">
            <thead class="table-light">
              <tr>
                <th>Email</th>
                <th>Name</th>
                <th>Role</th>
                <th>Status</th>
                <th>Last login</th>
              </tr>
            </thead>
            <tbody>
              {loading && items.length === 0 ? (
                <tr>
                  <td colSpan={5}>
                    <Spinner />
                  </td>
                </tr>
              ) : items.length === 0 ? (
                <EmptyRow cols={5}>No users match.</EmptyRow>
              ) : (
                items.map((u) => (
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
                ))
              )}
            </tbody>
          </table>
        </div>
        {next && (
          <div class="card-footer bg-body text-center">
            <button class="btn btn-sm btn-outline-secondary" onClick={more} disabled={loadingMore} data-testid="users-load-more">
              {loadingMore ? 'Loading…' : 'Load more'}
            </button>
          </div>
        )}
      </div>
      {creating && (
        <CreateUserDialog
          onClose={() => setCreating(false)}
          onCreated={(u) => {
            setCreating(false);
            setCreated(u);
            void reload();
          }}
        />
      )}
    </div>
  );
}

export function useRoles() {
  return useLoader(async () => (await get<{ items: Role[] }>('/v1/roles')).items, []);
}

function CreateUserDialog(props: { onClose: () => void; onCreated: (u: User) => void }) {
  const roles = useRoles();
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fe = fieldErrorsOf(error);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const u = await post<User>('/v1/users', { email: email.trim(), name: name.trim(), password, role });
      props.onCreated(u);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <Modal
      title="New user"
      onClose={props.onClose}
      testid="create-user-dialog"
      static={busy}
      footer={
        <>
          <button type="button" class="btn btn-outline-secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" form="create-user-form" class="btn btn-primary" disabled={busy} data-testid="create-user-submit">
            {busy && <span class="spinner-border spinner-border-sm me-1" aria-hidden="true" />}
            Create user
          </button>
        </>
      }
    >
      <ProblemAlert error={error} shownFields={['email', 'name', 'password', 'role']} />
      <form id="create-user-form" onSubmit={submit} noValidate>
        <Field id="new-user-email" label="Email" error={fe.email}>
          <input
            id="new-user-email"
            type="email"
            class={inputClass(fe.email)}
            autocomplete="off"
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
            required
          />
        </Field>
        <Field id="new-user-name" label="Name" error={fe.name}>
          <input
            id="new-user-name"
            class={inputClass(fe.name)}
            autocomplete="off"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
            required
          />
        </Field>
        <Field id="new-user-password" label="Initial password" error={fe.password} help="Share it with the user securely.">
          <input
            id="new-user-password"
            type="password"
            class={inputClass(fe.password)}
            autocomplete="new-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            required
          />
        </Field>
        <Field id="new-user-role" label="Role" error={fe.role}>
          <select
            id="new-user-role"
            class={inputClass(fe.role, 'form-select')}
            value={role}
            onChange={(e) => setRole(e.currentTarget.value)}
            required
          >
            <option value="" disabled>
              {roles.loading ? 'Loading roles…' : 'Choose a role…'}
            </option>
            {(roles.data ?? []).map((r) => (
              <option key={r.name} value={r.name}>
                {r.name}
                {r.description ? ` — ${r.description}` : ''}
              </option>
            ))}
          </select>
        </Field>
        {roles.error != null && <ProblemAlert error={roles.error} />}
      </form>
    </Modal>
  );
}
