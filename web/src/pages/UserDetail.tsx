import { useEffect, useState } from 'preact/hooks';
import { ApiError, request } from '../api';
import { type LevelOption, LevelSelect, RoleSelect, TextField } from '../components/forms';
import { ConfirmDialog, Field, LevelBadge, Notice, ProblemAlert, Spinner, StatusBadge, Time, Breadcrumb } from '../components/ui';
import { useAction, useRoles } from '../hooks';
import { useCan, useSession } from '../session';
import { COMPONENT_LABELS, COMPONENTS, type Component, type Level, type Overrides, type User } from '../types';

const OVERRIDE_OPTIONS: LevelOption<'' | Level>[] = [
  { value: '', label: 'Role default' },
  { value: 'write', label: 'Allow (write)' },
  { value: 'read', label: 'Restrict to read' },
  { value: 'none', label: 'Deny' },
];

export function UserDetailPage(props: { id: string }) {
  const session = useSession();
  const [user, setUser] = useState<User | null>(null);
  const [etag, setEtag] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);

  const path = `/v1/users/${encodeURIComponent(props.id)}`;

  const load = async () => {
    try {
      const res = await request<User>(path);
      setUser(res.data);
      setEtag(res.headers.get('ETag'));
      setError(null);
    } catch (e) {
      setError(e);
    }
  };

  useEffect(() => {
    setUser(null);
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.id]);

  /** PATCHes the user; sends If-Match when the server gave an ETag. */
  const patchUser = async (body: Record<string, unknown>, message: string) => {
    const res = await request<User>(path, {
      method: 'PATCH',
      body,
      headers: etag ? { 'If-Match': etag } : undefined,
    });
    setUser(res.data);
    setEtag(res.headers.get('ETag'));
    setSaved(message);
    // Changing one's own role or overrides changes what the navigation may show.
    if (res.data.id === session.me.id) void session.refresh().catch(() => undefined);
  };

  if (!user) {
    return (
      <div data-testid="user-detail">
        <Breadcrumb parent="users" parentLabel="Users" label={props.id} />
        {error ? <ProblemAlert error={error} /> : <Spinner />}
      </div>
    );
  }

  return (
    <div data-testid="user-detail">
      <Breadcrumb parent="users" parentLabel="Users" label={user.email} />
      <div class="d-flex flex-wrap align-items-center gap-2 mb-3">
        <h1 class="h3 mb-0" data-testid="user-detail-email">
          {user.email}
        </h1>
        <StatusBadge status={user.status} testid="user-status" />
        <span class="badge text-bg-secondary">{user.role}</span>
      </div>
      {saved && (
        <Notice testid="user-saved" onClose={() => setSaved(null)}>
          {saved}
        </Notice>
      )}
      {error != null && (
        <ProblemAlert error={error} onClose={() => setError(null)} />
      )}
      <div class="row g-3">
        <div class="col-lg-5">
          <ProfileCard user={user} onSave={patchUser} />
          <StatusCard user={user} onSave={patchUser} />
          <PasswordCard onSave={patchUser} />
        </div>
        <div class="col-lg-7">
          <OverridesCard user={user} onSave={patchUser} />
        </div>
      </div>
    </div>
  );
}

type Save = (body: Record<string, unknown>, message: string) => Promise<void>;


function conflictHint(e: unknown): unknown {
  if (e instanceof ApiError && e.status === 409 && !e.problem.detail) {
    return new ApiError(409, { ...e.problem, detail: 'The user was changed meanwhile; reload the page.' }, null);
  }
  return e;
}

function ProfileCard(props: { user: User; onSave: Save }) {
  const { user } = props;
  const canWrite = useCan('admin', 'write');
  const [name, setName] = useState(user.name);
  const [role, setRole] = useState(user.role);
  const action = useAction(conflictHint);
  const fe = action.fieldErrors;

  useEffect(() => {
    setName(user.name);
    setRole(user.role);
  }, [user.name, user.role]);

  const dirty = name.trim() !== user.name || role !== user.role;

  const submit = async (e: Event) => {
    e.preventDefault();
    const body: Record<string, unknown> = {};
    if (name.trim() !== user.name) body.name = name.trim();
    if (role !== user.role) body.role = role;
    await action.run(() => props.onSave(body, 'Profile saved.'));
  };

  return (
    <div class="card shadow-sm mb-3">
      <div class="card-header bg-body">Profile</div>
      <div class="card-body">
        <ProblemAlert error={action.error} shownFields={['name', 'role']} />
        <form onSubmit={submit} noValidate data-testid="user-profile-form">
          <TextField id="user-name" label="Name" value={name} onValue={setName} disabled={!canWrite} error={fe.name} />
          <Field id="user-role" label="Role" error={fe.role}>
            <RoleSelect id="user-role" value={role} onChange={setRole} disabled={!canWrite} error={fe.role} />
          </Field>
          <dl class="row small text-body-secondary mb-3">
            <dt class="col-5 fw-normal">Created</dt>
            <dd class="col-7 mb-1">
              <Time iso={user.created_at} />
            </dd>
            <dt class="col-5 fw-normal">Updated</dt>
            <dd class="col-7 mb-1">
              <Time iso={user.updated_at} />
            </dd>
            <dt class="col-5 fw-normal">Last login</dt>
            <dd class="col-7 mb-0">
              <Time iso={user.last_login_at} />
            </dd>
          </dl>
          {canWrite && (
            <button type="submit" class="btn btn-primary" disabled={action.busy || !dirty} data-testid="user-save">
              Save changes
            </button>
          )}
        </form>
      </div>
    </div>
  );
}

function StatusCard(props: { user: User; onSave: Save }) {
  const { user } = props;
  const { me } = useSession();
  const canWrite = useCan('admin', 'write');
  const [confirming, setConfirming] = useState(false);
  const enable = useAction(conflictHint);
  const active = user.status === 'active';
  const self = user.id === me.id;

  const setStatus = (status: 'active' | 'disabled') =>
    props.onSave({ status }, status === 'active' ? 'User enabled.' : 'User disabled.');

  return (
    <div class="card shadow-sm mb-3">
      <div class="card-header bg-body">Status</div>
      <div class="card-body">
        <ProblemAlert error={enable.error} />
        <p class="mb-2">
          This account is <StatusBadge status={user.status} />.
        </p>
        <p class="small text-body-secondary">
          Disabling a user ends their sessions and makes their API tokens fail.
        </p>
        {canWrite &&
          (active ? (
            <button
              class="btn btn-outline-danger"
              disabled={self}
              title={self ? 'You cannot disable yourself' : undefined}
              onClick={() => setConfirming(true)}
              data-testid="user-disable"
            >
              Disable user
            </button>
          ) : (
            <button
              class="btn btn-outline-success"
              disabled={enable.busy}
              onClick={() => void enable.run(() => setStatus('active'))}
              data-testid="user-enable"
            >
              Enable user
            </button>
          ))}
      </div>
      {confirming && (
        <ConfirmDialog
          title="Disable user"
          confirmLabel="Disable"
          danger
          onClose={() => setConfirming(false)}
          onConfirm={() => setStatus('disabled')}
        >
          Disable <strong>{user.email}</strong>? Their sessions end now and their API tokens stop working.
        </ConfirmDialog>
      )}
    </div>
  );
}

function PasswordCard(props: { onSave: Save }) {
  const canWrite = useCan('admin', 'write');
  const [password, setPassword] = useState('');
  const action = useAction(conflictHint);
  if (!canWrite) return null;
  return (
    <div class="card shadow-sm mb-3">
      <div class="card-header bg-body">Password</div>
      <div class="card-body">
        <ProblemAlert error={action.error} shownFields={['password']} />
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void action.run(async () => {
              await props.onSave({ password }, 'Password changed.');
              setPassword('');
            });
          }}
        >
          <TextField
            id="user-password"
            label="New password"
            type="password"
            autocomplete="new-password"
            value={password}
            onValue={setPassword}
            error={action.fieldErrors.password}
          />
          <button type="submit" class="btn btn-outline-primary" disabled={action.busy || !password} data-testid="user-set-password">
            Set password
          </button>
        </form>
      </div>
    </div>
  );
}

function OverridesCard(props: { user: User; onSave: Save }) {
  const { user } = props;
  const canWrite = useCan('admin', 'write');
  const roles = useRoles();
  const current = (c: Component): '' | Level => user.overrides?.[c] ?? '';
  const initial = () => Object.fromEntries(COMPONENTS.map((c) => [c, current(c)])) as Record<Component, '' | Level>;
  const [draft, setDraft] = useState(initial);
  const action = useAction(conflictHint);
  const fe = action.fieldErrors;
  const busy = action.busy;

  useEffect(() => {
    setDraft(initial());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [JSON.stringify(user.overrides ?? {})]);

  const role = (roles.data ?? []).find((r) => r.name === user.role);
  const changed = COMPONENTS.filter((c) => draft[c] !== current(c));

  const submit = async (e: Event) => {
    e.preventDefault();
    const overrides: Overrides = {};
    for (const c of changed) overrides[c] = draft[c] === '' ? null : (draft[c] as Level);
    await action.run(() => props.onSave({ overrides }, 'Permission overrides saved.'));
  };

  return (
    <div class="card shadow-sm mb-3">
      <div class="card-header bg-body d-flex justify-content-between align-items-center">
        <span>Permissions</span>
        <small class="text-body-secondary fw-normal">Overrides win over the role, per component</small>
      </div>
      <form onSubmit={submit} data-testid="user-overrides-form">
        <ProblemAlert error={action.error} shownFields={COMPONENTS.map((c) => `overrides.${c}`)} />
        <div class="table-responsive">
          <table class="table align-middle mb-0">
            <thead class="table-light">
              <tr>
                <th>Component</th>
                <th>Role ({user.role})</th>
                <th style={{ minWidth: '12rem' }}>Override</th>
                <th>Effective</th>
              </tr>
            </thead>
            <tbody>
              {COMPONENTS.map((c) => {
                const err = fe[`overrides.${c}`] ?? fe[c];
                return (
                  <tr key={c} data-testid={`override-row-${c}`}>
                    <td>
                      <label for={`override-${c}`} class="mb-0">
                        {COMPONENT_LABELS[c]}
                      </label>
                    </td>
                    <td>{role ? <LevelBadge level={role.permissions?.[c]} /> : <span class="text-body-tertiary">…</span>}</td>
                    <td>
                      <LevelSelect
                        id={`override-${c}`}
                        ariaLabel={`Override for ${COMPONENT_LABELS[c]}`}
                        value={draft[c]}
                        options={OVERRIDE_OPTIONS}
                        onChange={(v) => setDraft({ ...draft, [c]: v })}
                        disabled={!canWrite}
                        error={err}
                        testid={`override-${c}`}
                      />
                    </td>
                    <td data-testid={`effective-${c}`}>
                      <LevelBadge level={user.permissions?.[c]} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        {canWrite && (
          <div class="card-footer bg-body d-flex gap-2 align-items-center">
            <button type="submit" class="btn btn-primary" disabled={busy || changed.length === 0} data-testid="overrides-save">
              Save overrides
            </button>
            <button
              type="button"
              class="btn btn-outline-secondary"
              disabled={busy || changed.length === 0}
              onClick={() => setDraft(initial())}
            >
              Reset
            </button>
            {changed.length > 0 && <small class="text-body-secondary">{changed.length} unsaved change(s)</small>}
          </div>
        )}
      </form>
    </div>
  );
}
