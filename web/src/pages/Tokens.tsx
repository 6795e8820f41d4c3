import { useState } from 'preact/hooks';
import { del, get, post } from '../api';
import { DataTable } from '../components/DataTable';
import { FormModal, TextField } from '../components/forms';
import {
  AddButton,
  ConfirmDialog,
  Field,
  fieldError,
  inputClass,
  Modal,
  Notice,
  PageHeader,
  ProblemAlert,
  SecretBox,
  StatusBadge,
  Switch,
  Time,
} from '../components/ui';
import { useAction, useLoader } from '../hooks';
import { useCan, useSession } from '../session';
import { COMPONENT_LABELS, COMPONENTS, type CreatedToken, type Page, type Token, type User } from '../types';

export function TokensPage() {
  const canWrite = useCan('admin', 'write');
  const [showRevoked, setShowRevoked] = useState(true);
  const tokens = useLoader(
    async () => (await get<{ items: Token[] }>('/v1/tokens', { include_revoked: showRevoked })).items,
    [showRevoked],
  );
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<Token | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const cols = canWrite ? 9 : 8;

  return (
    <div data-testid="tokens-page">
      <PageHeader
        title="API tokens"
        subtitle="Bearer tokens act as their owner, narrowed by their scopes"
        actions={
          canWrite && (
            <AddButton onClick={() => setCreating(true)} testid="new-token">
              New token
            </AddButton>
          )
        }
      />
      {notice && (
        <Notice testid="token-notice" onClose={() => setNotice(null)}>
          {notice}
        </Notice>
      )}
      <ProblemAlert error={tokens.error} />
      <div class="card shadow-sm">
        <div class="card-header bg-body d-flex justify-content-end">
          <Switch
            id="tokens-show-revoked"
            label="Show revoked tokens"
            labelClass="small fw-normal"
            checked={showRevoked}
            onChange={setShowRevoked}
          />
        </div>
        <DataTable
          testid="tokens-table"
          cols={cols}
          head={
            <>
              <th>Name</th>
              <th>Prefix</th>
              <th>Owner</th>
              <th>Scopes</th>
              <th>Created</th>
              <th>Expires</th>
              <th>Last used</th>
              <th>Status</th>
              {canWrite && <th />}
            </>
          }
          items={tokens.data}
          loading={tokens.loading}
          empty="No API tokens yet."
          row={(t) => (
            <tr key={t.id} data-testid="token-row" data-name={t.name} data-status={t.status}>
              <td class="fw-medium">{t.name}</td>
              <td>
                <code data-testid="token-prefix">{t.prefix}…</code>
              </td>
              <td class="small">{t.user_email}</td>
              <td>
                {(t.scopes ?? []).map((s) => (
                  <span key={s} class="badge text-bg-light border me-1 fw-normal font-monospace">
                    {s}
                  </span>
                ))}
              </td>
              <td class="small">
                <Time iso={t.created_at} />
              </td>
              <td class="small">{t.expires_at ? <Time iso={t.expires_at} /> : <span class="text-body-tertiary">never</span>}</td>
              <td class="small">
                <Time iso={t.last_used_at} relative />
              </td>
              <td>
                <StatusBadge status={t.status} testid="token-status" />
              </td>
              {canWrite && (
                <td class="text-end">
                  {t.status !== 'revoked' && (
                    <button class="btn btn-sm btn-outline-danger" onClick={() => setRevoking(t)} data-testid="token-revoke">
                      Revoke
                    </button>
                  )}
                </td>
              )}
            </tr>
          )}
        />
      </div>
      {creating && (
        <CreateTokenDialog
          onClose={() => setCreating(false)}
          onCreated={() => void tokens.reload()}
        />
      )}
      {revoking && (
        <ConfirmDialog
          title="Revoke API token"
          confirmLabel="Revoke token"
          danger
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await del(`/v1/tokens/${encodeURIComponent(revoking.id)}`);
            setNotice(`Token ${revoking.name} was revoked.`);
            await tokens.reload();
          }}
        >
          <p>
            Revoke <strong>{revoking.name}</strong> (<code>{revoking.prefix}…</code>, owner {revoking.user_email})?
          </p>
          <p class="mb-0 text-danger-emphasis">
            Anything still using it will get <code>401</code> from now on. This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

const SCOPES: string[] = ['*', ...COMPONENTS.flatMap((c) => [`${c}:read`, `${c}:write`])];

function CreateTokenDialog(props: { onClose: () => void; onCreated: (t: CreatedToken) => void }) {
  const { me } = useSession();
  const users = useLoader(async () => (await get<Page<User>>('/v1/users', { limit: 200, status: 'active' })).items, []);
  const [name, setName] = useState('');
  const [days, setDays] = useState('');
  const [owner, setOwner] = useState('');
  const [scopes, setScopes] = useState<string[]>(['*']);
  const action = useAction();
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const fe = action.fieldErrors;
  const all = scopes.includes('*');

  const toggle = (s: string, on: boolean) => {
    if (s === '*') setScopes(on ? ['*'] : []);
    else setScopes(on ? [...scopes.filter((x) => x !== s), s] : scopes.filter((x) => x !== s));
  };

  const submit = async () => {
    const body: Record<string, unknown> = { name: name.trim(), scopes: SCOPES.filter((s) => scopes.includes(s)) };
    if (days.trim() !== '') body.expires_in_days = Number(days);
    if (owner) body.user_id = owner;
    const t = await post<CreatedToken>('/v1/tokens', body);
    setCreated(t);
    props.onCreated(t);
  };

  if (created) {
    return (
      <Modal
        title="Token created"
        onClose={props.onClose}
        testid="token-created-dialog"
        static
        footer={
          <button type="button" class="btn btn-primary" onClick={props.onClose} data-testid="token-done">
            I have copied it
          </button>
        }
      >
        <div class="alert alert-warning" role="alert">
          <strong>Copy this token now.</strong> It is shown only once; Kontor stores only its hash and cannot show it
          again.
        </div>
        <SecretBox
          id="token-secret"
          label={
            <>
              Secret for <strong>{created.name}</strong>
            </>
          }
          value={created.token}
          testid="token-secret"
          copyTestid="token-copy"
        />
        <div class="form-text">
          Use it as <code>Authorization: Bearer {created.prefix}…</code>
        </div>
      </Modal>
    );
  }

  return (
    <FormModal
      title="New API token"
      testid="create-token-dialog"
      size="lg"
      onClose={props.onClose}
      formId="create-token-form"
      action={action}
      onSubmit={submit}
      shownFields={['name', 'expires_in_days', 'user_id', 'scopes']}
      submitLabel="Create token"
      submitTestid="create-token-submit"
      canSubmit={scopes.length > 0}
    >
      <div class="row">
        <TextField
          id="token-name"
          label="Name"
          fieldClass="col-md-6 mb-3"
          value={name}
          onValue={setName}
          error={fe.name}
          help="What uses it, e.g. “nightly export”"
        />
        <TextField
          id="token-expires"
          label="Expires in (days)"
          fieldClass="col-md-6 mb-3"
          type="number"
          min={1}
          max={3650}
          value={days}
          onValue={setDays}
          error={fe.expires_in_days}
          help="1 to 3650; empty for no expiry"
        />
      </div>
      <Field id="token-owner" label="Owner" error={fe.user_id} help="The token acts with its owner's permissions.">
        <select id="token-owner" class={inputClass(fe.user_id, 'form-select')} value={owner} onChange={(e) => setOwner(e.currentTarget.value)}>
          <option value="">Me ({me.email})</option>
          {(users.data ?? [])
            .filter((u) => u.id !== me.id)
            .map((u) => (
              <option key={u.id} value={u.id}>
                {u.email} ({u.role})
              </option>
            ))}
        </select>
      </Field>
      <fieldset data-testid="token-scopes">
        <legend class="form-label fs-6 mb-1">Scopes</legend>
        {fieldError(fe, 'scopes') && (
          <div class="invalid-feedback d-block" data-testid="field-error-scopes">
            {fieldError(fe, 'scopes')}
          </div>
        )}
        <div class="form-check mb-2">
          <input
            class="form-check-input"
            type="checkbox"
            id="scope-all"
            checked={all}
            onChange={(e) => toggle('*', e.currentTarget.checked)}
            data-testid="scope-*"
          />
          <label class="form-check-label" for="scope-all">
            <code>*</code> — everything the owner may do
          </label>
        </div>
        <table class="table table-sm align-middle mb-0 scope-table">
          <thead>
            <tr>
              <th class="fw-normal small text-body-secondary">Component</th>
              <th class="fw-normal small text-body-secondary text-center">read</th>
              <th class="fw-normal small text-body-secondary text-center">write</th>
            </tr>
          </thead>
          <tbody>
            {COMPONENTS.map((c) => (
              <tr key={c}>
                <td class="small">{COMPONENT_LABELS[c]}</td>
                {(['read', 'write'] as const).map((l) => {
                  const s = `${c}:${l}`;
                  return (
                    <td class="text-center" key={l}>
                      <input
                        class="form-check-input"
                        type="checkbox"
                        aria-label={s}
                        title={s}
                        disabled={all}
                        checked={all || scopes.includes(s)}
                        onChange={(e) => toggle(s, e.currentTarget.checked)}
                        data-testid={`scope-${s}`}
                      />
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
        <div class="form-text">Selected: {scopes.length ? scopes.join(', ') : 'none'}</div>
      </fieldset>
    </FormModal>
  );
}
