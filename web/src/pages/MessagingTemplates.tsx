// Message templates: the list, and the editor with a live preview for a chosen customer.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, del, get, post, request } from '../api';
import { customerName } from '../clients';
import { DataTable } from '../components/DataTable';
import {
  BusySpinner,
  ConfirmDialog,
  Field,
  fieldError,
  inputClass,
  Notice,
  PageHeader,
  ProblemAlert,
  Spinner,
  Time,
} from '../components/ui';
import { useAction, useDebounced, useLoader } from '../hooks';
import {
  CHANNEL_LABELS,
  CHANNELS,
  type Channel,
  countSms,
  type MessageTemplate,
  type TemplateContent,
  type TemplatePreview,
  templatePath,
  useTemplates,
} from '../messaging';
import { href, navigate } from '../router';
import { useCan } from '../session';
import type { Customer, Page } from '../types';
import { ChannelBadge, MessageContent, MessagingLayout, MsgBreadcrumb } from './MessagingCommon';

export function TemplatesPage() {
  const canWrite = useCan('messaging', 'write');
  const templates = useTemplates();
  return (
    <MessagingLayout active="templates">
      <div data-testid="templates-page">
        <PageHeader
          title="Templates"
          subtitle="Email, SMS and push messages with {{variables}}, in one or more languages"
          actions={
            canWrite && (
              <a class="btn btn-primary" href={href('messaging', 'templates', 'new')} data-testid="new-template">
                + New template
              </a>
            )
          }
        />
        <div class="card shadow-sm">
          <ProblemAlert error={templates.error} />
          <DataTable
            testid="templates-table"
            cols={6}
            head={
              <>
                <th>Name</th>
                <th>Key</th>
                <th>Channel</th>
                <th>Languages</th>
                <th class="text-end">Version</th>
                <th>Updated</th>
              </>
            }
            items={templates.data}
            loading={templates.loading}
            empty="No templates yet."
            row={(t) => (
              <tr key={t.key} data-testid="template-row" data-key={t.key}>
                <td>
                  <a href={href('messaging', 'templates', t.key)} class="fw-medium" data-testid="template-link">
                    {t.name}
                  </a>
                </td>
                <td class="font-monospace small">{t.key}</td>
                <td>
                  <ChannelBadge channel={t.channel} />
                </td>
                <td class="small">
                  {Object.keys(t.languages).map((l) => (
                    <span key={l} class={`badge me-1 ${l === t.default_language ? 'text-bg-primary' : 'text-bg-light border'}`}>
                      {l}
                    </span>
                  ))}
                </td>
                <td class="text-end">{t.version}</td>
                <td class="small">
                  <Time iso={t.updated_at} />
                </td>
              </tr>
            )}
          />
        </div>
      </div>
    </MessagingLayout>
  );
}

/** #/messaging/templates/new or #/messaging/templates/<key>. */
export function TemplateEditPage(props: { templateKey: string | null }) {
  const loaded = useLoader(async () => (props.templateKey ? get<MessageTemplate>(templatePath(props.templateKey)) : null), [props.templateKey]);
  if (props.templateKey && !loaded.data) {
    return (
      <MessagingLayout active="templates">
        <MsgBreadcrumb section="templates" sectionLabel="Templates" label={props.templateKey} />
        {loaded.error ? <ProblemAlert error={loaded.error} /> : <Spinner />}
      </MessagingLayout>
    );
  }
  return (
    <MessagingLayout active="templates">
      <TemplateEditor key={`${props.templateKey ?? 'new'}:${loaded.data?.version ?? 0}`} initial={loaded.data ?? null} />
    </MessagingLayout>
  );
}

/** The parts of a language for each channel, in the order the editor shows them. */
const PARTS: Record<Channel, { part: keyof TemplateContent; label: string; rows?: number; help?: string }[]> = {
  email: [
    { part: 'subject', label: 'Subject' },
    { part: 'html', label: 'HTML body', rows: 10, help: '{{x}} is HTML-escaped here, {{{x}}} is not.' },
    { part: 'text', label: 'Text body', rows: 5, help: 'Optional: made from the HTML when left empty.' },
  ],
  sms: [{ part: 'text', label: 'Text', rows: 5 }],
  push: [
    { part: 'title', label: 'Title' },
    { part: 'body', label: 'Body', rows: 3 },
    { part: 'image', label: 'Image URL', help: 'https://… (optional)' },
    { part: 'link', label: 'Link', help: 'Opened on tap: myapp://path or https://… (optional)' },
  ],
};

interface Draft {
  name: string;
  channel: Channel;
  default_language: string;
  languages: Record<string, TemplateContent>;
  /** Push data per language as the JSON text being edited. */
  dataText: Record<string, string>;
}

function draftOf(t: MessageTemplate | null): Draft {
  if (!t) return { name: '', channel: 'email', default_language: 'en', languages: { en: {} }, dataText: { en: '' } };
  const dataText: Record<string, string> = {};
  for (const [l, c] of Object.entries(t.languages)) dataText[l] = c.data && Object.keys(c.data).length ? JSON.stringify(c.data, null, 2) : '';
  return { name: t.name, channel: t.channel, default_language: t.default_language, languages: t.languages, dataText };
}

/** The body of PUT /v1/templates/{key}: only the channel's non-empty parts. */
function bodyOf(d: Draft, sample: Record<string, unknown> | null): { body: Record<string, unknown>; dataErrors: Record<string, string> } {
  const languages: Record<string, TemplateContent> = {};
  const dataErrors: Record<string, string> = {};
  for (const [tag, c] of Object.entries(d.languages)) {
    const out: TemplateContent = {};
    for (const { part } of PARTS[d.channel]) {
      const v = c[part];
      if (typeof v === 'string' && v !== '') (out as Record<string, string>)[part] = v;
    }
    if (d.channel === 'push' && (d.dataText[tag] ?? '').trim() !== '') {
      try {
        const v: unknown = JSON.parse(d.dataText[tag] ?? '');
        if (v === null || typeof v !== 'object' || Array.isArray(v)) dataErrors[tag] = 'must be a JSON object of strings';
        else out.data = v as Record<string, string>;
      } catch (e) {
        dataErrors[tag] = `not valid JSON: ${(e as Error).message}`;
      }
    }
    languages[tag] = out;
  }
  const body: Record<string, unknown> = { name: d.name.trim(), channel: d.channel, default_language: d.default_language, languages };
  if (sample) body.sample = sample;
  return { body, dataErrors };
}

const LANGUAGE_TAG = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

function TemplateEditor(props: { initial: MessageTemplate | null }) {
  const canWrite = useCan('messaging', 'write');
  const { initial } = props;
  const [key, setKey] = useState(initial?.key ?? '');
  const [draft, setDraft] = useState<Draft>(() => draftOf(initial));
  const [saved, setSaved] = useState<MessageTemplate | null>(initial);
  const [active, setActive] = useState(initial?.default_language ?? 'en');
  const [newLang, setNewLang] = useState('');
  const [newLangError, setNewLangError] = useState<string | null>(null);
  const [keyError, setKeyError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [deleting, setDeleting] = useState(false);
  // The preview's inputs: a customer, a language (empty: the customer's) and data variables.
  const [customer, setCustomer] = useState('');
  const [previewLang, setPreviewLang] = useState('');
  const [dataVars, setDataVars] = useState('');
  const save = useAction();
  const fe = save.fieldErrors;

  const savedText = JSON.stringify(draftOf(saved));
  const dirty = savedText !== JSON.stringify(draft) || (saved !== null && key.trim() !== saved.key);

  let sampleData: Record<string, unknown> | null = null;
  let dataVarsError: string | null = null;
  if (dataVars.trim() !== '') {
    try {
      const v: unknown = JSON.parse(dataVars);
      if (v === null || typeof v !== 'object' || Array.isArray(v)) dataVarsError = 'must be a JSON object';
      else sampleData = v as Record<string, unknown>;
    } catch (e) {
      dataVarsError = `not valid JSON: ${(e as Error).message}`;
    }
  }

  const setPart = (part: keyof TemplateContent, v: string) =>
    setDraft((d) => ({ ...d, languages: { ...d.languages, [active]: { ...d.languages[active], [part]: v } } }));

  const addLanguage = () => {
    const tag = newLang.trim();
    if (!LANGUAGE_TAG.test(tag)) return setNewLangError('a language tag such as de, en or pt-BR');
    if (Object.keys(draft.languages).some((l) => l.toLowerCase() === tag.toLowerCase())) return setNewLangError('already there');
    setNewLangError(null);
    // A new language starts as a copy of the one shown, to be translated.
    setDraft((d) => ({
      ...d,
      languages: { ...d.languages, [tag]: { ...d.languages[active] } },
      dataText: { ...d.dataText, [tag]: d.dataText[active] ?? '' },
    }));
    setActive(tag);
    setNewLang('');
  };

  const removeLanguage = (tag: string) => {
    const rest = Object.keys(draft.languages).filter((l) => l !== tag);
    if (rest.length === 0) return;
    setDraft((d) => {
      const languages = { ...d.languages };
      delete languages[tag];
      const dataText = { ...d.dataText };
      delete dataText[tag];
      return { ...d, languages, dataText, default_language: d.default_language === tag ? rest[0]! : d.default_language };
    });
    setActive(draft.default_language === tag ? rest[0]! : draft.default_language);
  };

  const { body, dataErrors } = bodyOf(draft, sampleData ? { data: sampleData } : null);

  const doSave = async () => {
    const k = key.trim();
    const problem = !/^[A-Za-z0-9._-]{1,100}$/.test(k) ? "1 to 100 letters, digits, '-', '_' or '.'" : null;
    setKeyError(problem);
    if (problem) throw new ApiError(422, { title: 'Check the key', errors: [{ field: 'key', message: problem }] }, null);
    if (Object.keys(dataErrors).length > 0) {
      throw new ApiError(
        422,
        { title: 'Check the push data', errors: Object.entries(dataErrors).map(([l, m]) => ({ field: `languages.${l}.data`, message: m })) },
        null,
      );
    }
    const sameRecord = saved !== null && saved.key === k;
    if (!sameRecord) {
      // PUT creates or replaces: a new key must not overwrite someone else's template.
      const exists = await get<MessageTemplate>(templatePath(k)).then(
        () => true,
        (e) => {
          if (e instanceof ApiError && e.status === 404) return false;
          throw e;
        },
      );
      if (exists) throw new ApiError(409, { title: 'Key taken', errors: [{ field: 'key', message: `a template ${k} exists already` }] }, null);
    }
    const res = await request<MessageTemplate>(templatePath(k), {
      method: 'PUT',
      body,
      headers: sameRecord ? { 'If-Match': `"${saved.version}"` } : undefined,
    });
    setSaved(res.data);
    setDraft(draftOf(res.data));
    setNotice(res.status === 201 ? `Template ${k} was created.` : `Template ${k} was saved (version ${res.data.version}).`);
    if (!initial || initial.key !== k) window.history.replaceState(null, '', href('messaging', 'templates', k));
  };

  // After a conflict: the version on the server replaces the edits.
  const reloadSaved = async () => {
    if (!saved) return;
    await save.run(async () => {
      const t = await get<MessageTemplate>(templatePath(saved.key));
      setSaved(t);
      setDraft(draftOf(t));
      if (!(active in t.languages)) setActive(t.default_language);
    });
  };

  const conflict = save.error instanceof ApiError && (save.error.status === 409 || save.error.status === 412) && !fe.key;
  const checks = saved?.check ?? [];

  // ---- live preview: the saved version, or the unsaved edits as they are typed
  const draftDef = dirty && Object.keys(dataErrors).length === 0 ? body : null;
  const previewInput = JSON.stringify({
    customer: customer.trim(),
    language: previewLang,
    data: dataVarsError ? null : sampleData,
    v: saved?.version ?? 0,
    def: draftDef,
  });
  const debounced = useDebounced(previewInput, 350);
  const [preview, setPreview] = useState<{ state: 'idle' | 'loading' | 'ready' | 'error'; result?: TemplatePreview; error?: unknown; input?: string }>({ state: 'idle' });
  const seq = useRef(0);
  useEffect(() => {
    if (!saved || dataVarsError) return;
    const inp = JSON.parse(debounced) as {
      customer: string;
      language: string;
      data: Record<string, unknown> | null;
      def: Record<string, unknown> | null;
    };
    const mine = ++seq.current;
    setPreview((p) => ({ ...p, state: 'loading' }));
    const req: Record<string, unknown> = {};
    if (inp.customer) req.customer = inp.customer;
    if (inp.language) req.language = inp.language;
    if (inp.data) req.data = inp.data;
    if (inp.def) req.definition = inp.def;
    post<TemplatePreview>(templatePath(saved.key, 'preview'), req).then(
      (r) => mine === seq.current && setPreview({ state: 'ready', result: r, input: debounced }),
      (e) => mine === seq.current && setPreview({ state: 'error', error: e, input: debounced }),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [debounced, saved?.key]);
  const previewFe = preview.error instanceof ApiError ? preview.error.fieldErrors() : {};
  const unknownHere = (part: string) =>
    preview.state === 'ready' && preview.result?.language === active && preview.input === previewInput
      ? (preview.result.unknown_variables ?? []).filter((u) => u.field === part || u.field.startsWith(`${part}.`))
      : [];

  // Customers matching what is typed, for the preview's customer field.
  const typed = useDebounced(customer.trim(), 250);
  const matches = useLoader(
    async () => (typed.length >= 1 ? (await get<Page<Customer>>('/v1/customers', { q: typed, limit: 8 })).items : []),
    [typed],
  );

  const content = draft.languages[active] ?? {};
  const langs = Object.keys(draft.languages);
  const langHasError = (l: string) => Object.keys(fe).some((f) => f.startsWith(`languages.${l}.`) || f === `languages.${l}`);

  return (
    <div data-testid="template-editor">
      <MsgBreadcrumb section="templates" sectionLabel="Templates" label={initial ? initial.key : 'New template'} />
      <PageHeader
        title={initial ? `Template ${initial.name}` : 'New template'}
        subtitle="Mustache variables: {{customer.first_name}}, {{data.order}}, {{campaign.x}}, {{unsubscribe_url}}"
        actions={
          canWrite &&
          saved && (
            <button type="button" class="btn btn-outline-danger" onClick={() => setDeleting(true)} data-testid="template-delete">
              Delete
            </button>
          )
        }
      />
      {notice && (
        <Notice testid="template-saved" onClose={() => setNotice(null)}>
          {notice}
        </Notice>
      )}
      <div class="row g-3">
        <div class="col-lg-7">
          <form
            class="card shadow-sm"
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              void save.run(doSave);
            }}
            data-testid="template-form"
          >
            <div class="card-body">
              <ProblemAlert
                error={conflict ? null : save.error}
                shownFields={['key', 'name', 'channel', 'default_language', 'languages', 'sample']}
              />
              <div class="row">
                <Field id="template-key" label="Key" class="col-md-4 mb-3" error={keyError ?? fe.key} help={initial ? undefined : 'Stable id, e.g. order-shipped'}>
                  <input
                    id="template-key"
                    class={inputClass(keyError ?? fe.key)}
                    value={key}
                    onInput={(e) => setKey(e.currentTarget.value)}
                    disabled={initial !== null}
                    autocomplete="off"
                  />
                </Field>
                <Field id="template-name" label="Name" class="col-md-5 mb-3" error={fe.name}>
                  <input
                    id="template-name"
                    class={inputClass(fe.name)}
                    value={draft.name}
                    onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })}
                    autocomplete="off"
                  />
                </Field>
                <Field id="template-channel" label="Channel" class="col-md-3 mb-3" error={fe.channel}>
                  <select
                    id="template-channel"
                    class={inputClass(fe.channel, 'form-select')}
                    value={draft.channel}
                    onChange={(e) => setDraft({ ...draft, channel: e.currentTarget.value as Channel })}
                  >
                    {CHANNELS.map((c) => (
                      <option key={c} value={c}>
                        {CHANNEL_LABELS[c]}
                      </option>
                    ))}
                  </select>
                </Field>
              </div>

              <div class="d-flex flex-wrap align-items-end gap-2 mb-2">
                <ul class="nav nav-pills flex-grow-1" role="tablist" aria-label="Languages" data-testid="template-languages">
                  {langs.map((l) => (
                    <li class="nav-item" key={l}>
                      <button
                        type="button"
                        role="tab"
                        aria-selected={l === active}
                        class={`nav-link py-1 px-2 ${l === active ? 'active' : ''} ${langHasError(l) ? 'text-danger' : ''}`}
                        onClick={() => setActive(l)}
                        data-testid="language-tab"
                        data-lang={l}
                      >
                        {l}
                        {l === draft.default_language && <span class="ms-1 small opacity-75">(default)</span>}
                        {langHasError(l) && l !== active && <span class="ms-1" aria-label="has errors">●</span>}
                      </button>
                    </li>
                  ))}
                </ul>
                <div class="input-group input-group-sm" style={{ maxWidth: '13rem' }}>
                  <input
                    class={inputClass(newLangError ?? undefined, 'form-control')}
                    placeholder="Language, e.g. de"
                    aria-label="New language"
                    value={newLang}
                    onInput={(e) => setNewLang(e.currentTarget.value)}
                    onKeyDown={(e) => {
                      if (e.key === 'Enter') {
                        e.preventDefault();
                        addLanguage();
                      }
                    }}
                    data-testid="new-language"
                  />
                  <button type="button" class="btn btn-outline-secondary" onClick={addLanguage} data-testid="add-language">
                    Add
                  </button>
                </div>
              </div>
              {newLangError && <div class="small text-danger mb-2">{newLangError}</div>}
              {fieldError(fe, 'languages') && !langs.some(langHasError) && (
                <div class="small text-danger mb-2" data-testid="field-error-languages">
                  {fieldError(fe, 'languages')}
                </div>
              )}
              <div class="border rounded p-3 mb-3 bg-body-tertiary" data-testid="language-panel" data-lang={active}>
                <div class="d-flex flex-wrap justify-content-between align-items-center gap-2 mb-2">
                  <div class="form-check mb-0">
                    <input
                      class="form-check-input"
                      type="radio"
                      id="template-default-language"
                      checked={draft.default_language === active}
                      onChange={() => setDraft({ ...draft, default_language: active })}
                    />
                    <label class="form-check-label small" for="template-default-language">
                      Default language (used when a customer's language is missing)
                    </label>
                  </div>
                  {langs.length > 1 && (
                    <button type="button" class="btn btn-sm btn-link text-danger" onClick={() => removeLanguage(active)} data-testid="remove-language">
                      Remove {active}
                    </button>
                  )}
                </div>
                {fe.default_language && <div class="small text-danger mb-2">{fe.default_language}</div>}
                {PARTS[draft.channel].map(({ part, label, rows, help }) => {
                  const id = `template-${part}`;
                  const err = fe[`languages.${active}.${part}`];
                  const unknown = unknownHere(part);
                  return (
                    <Field key={part} id={id} label={label} error={err} help={help}>
                      {rows ? (
                        <textarea
                          id={id}
                          class={`${inputClass(err)} ${part === 'html' ? 'font-monospace small' : ''}`}
                          rows={rows}
                          spellcheck={part !== 'html'}
                          value={(content[part] as string | undefined) ?? ''}
                          onInput={(e) => setPart(part, e.currentTarget.value)}
                        />
                      ) : (
                        <input
                          id={id}
                          class={inputClass(err)}
                          value={(content[part] as string | undefined) ?? ''}
                          onInput={(e) => setPart(part, e.currentTarget.value)}
                          autocomplete="off"
                        />
                      )}
                      {draft.channel === 'sms' && part === 'text' && <SmsCounter text={(content.text as string | undefined) ?? ''} />}
                      {unknown.length > 0 && (
                        <div class="small text-warning-emphasis mt-1" data-testid={`unknown-${part}`}>
                          No value in the preview for{' '}
                          {unknown.map((u) => (
                            <code key={u.field + u.message} class="me-1">
                              {`{{${u.message}}}`}
                            </code>
                          ))}
                        </div>
                      )}
                    </Field>
                  );
                })}
                {draft.channel === 'push' && (
                  <Field
                    id="template-data"
                    label="Data (JSON object of strings)"
                    error={dataErrors[active] ?? fieldError(fe, `languages.${active}.data`)}
                    help='Extra key/value pairs for the app, e.g. {"order": "{{data.order}}"}'
                    class="mb-0"
                  >
                    <textarea
                      id="template-data"
                      class={`${inputClass(dataErrors[active] ?? fieldError(fe, `languages.${active}.data`))} font-monospace small`}
                      rows={3}
                      spellcheck={false}
                      value={draft.dataText[active] ?? ''}
                      onInput={(e) => setDraft({ ...draft, dataText: { ...draft.dataText, [active]: e.currentTarget.value } })}
                    />
                  </Field>
                )}
              </div>

              {canWrite && (
                <div class="d-flex flex-wrap align-items-center gap-2">
                  <button type="submit" class="btn btn-primary" disabled={save.busy} data-testid="template-save">
                    <BusySpinner busy={save.busy} />
                    {saved && saved.key === key.trim() ? 'Save template' : 'Create template'}
                  </button>
                  {saved && (
                    <span class="small text-body-secondary" data-testid="template-version" data-version={saved.version}>
                      Version {saved.version}, updated <Time iso={saved.updated_at} />
                      {dirty && <span class="ms-2 badge text-bg-warning">unsaved changes</span>}
                    </span>
                  )}
                </div>
              )}
              {conflict && (
                <div class="alert alert-warning mt-3 mb-0 d-flex flex-wrap align-items-center gap-2" role="alert" data-testid="template-conflict">
                  <div class="flex-grow-1">
                    <strong>Not saved: the template was changed meanwhile.</strong>{' '}
                    {(save.error as ApiError).problem.detail}. Reload it to see the other change (your edits here are discarded).
                  </div>
                  <button type="button" class="btn btn-sm btn-outline-secondary" onClick={() => void reloadSaved()} data-testid="template-reload">
                    Reload
                  </button>
                </div>
              )}
              {checks.length > 0 && !dirty && <SaveCheck checks={checks} channel={saved?.channel ?? draft.channel} />}
            </div>
          </form>
        </div>

        <div class="col-lg-5">
          <div class="segment-side card shadow-sm" data-testid="template-preview-card">
            <div class="card-header bg-body d-flex justify-content-between align-items-center">
              <span>Preview</span>
              {preview.state === 'loading' && <span class="spinner-border spinner-border-sm text-body-secondary" role="status" aria-label="Rendering" />}
            </div>
            <div class="card-body">
              {!saved ? (
                <div class="text-body-secondary small" data-testid="preview-unsaved">
                  Create the template to preview it for a customer.
                </div>
              ) : (
                <>
                  <div class="row g-2 mb-2">
                    <Field id="preview-customer" label="Customer (external id)" class="col-7" error={previewFe.customer}>
                      <input
                        id="preview-customer"
                        class={inputClass(previewFe.customer, 'form-control form-control-sm')}
                        list="preview-customers"
                        value={customer}
                        placeholder="none: only data variables"
                        onInput={(e) => setCustomer(e.currentTarget.value)}
                        autocomplete="off"
                      />
                      <datalist id="preview-customers">
                        {(matches.data ?? []).map((c) => (
                          <option key={c.external_id} value={c.external_id}>
                            {customerName(c) || c.email || ''}
                          </option>
                        ))}
                      </datalist>
                    </Field>
                    <Field id="preview-language" label="Language" class="col-5" error={previewFe.language}>
                      <select
                        id="preview-language"
                        class="form-select form-select-sm"
                        value={previewLang}
                        onChange={(e) => setPreviewLang(e.currentTarget.value)}
                      >
                        <option value="">the customer's</option>
                        {Object.keys(draft.languages).map((l) => (
                          <option key={l} value={l}>
                            {l}
                          </option>
                        ))}
                      </select>
                    </Field>
                  </div>
                  <Field id="preview-data" label="Data variables (JSON)" error={dataVarsError ?? previewFe.data} help="{{data.*}}; also checked on save">
                    <textarea
                      id="preview-data"
                      class={`${inputClass(dataVarsError ?? previewFe.data, 'form-control form-control-sm')} font-monospace`}
                      rows={2}
                      spellcheck={false}
                      placeholder='{"order": "A-1001"}'
                      value={dataVars}
                      onInput={(e) => setDataVars(e.currentTarget.value)}
                    />
                  </Field>
                  {dirty && (
                    <div class="small text-body-secondary mb-2" data-testid="preview-draft">
                      {draftDef ? 'Your unsaved edits' : `The saved version ${saved.version} (fix the push data to preview your edits)`}
                    </div>
                  )}
                  <PreviewResult preview={preview} channel={draft.channel} />
                </>
              )}
            </div>
          </div>
        </div>
      </div>
      {deleting && saved && (
        <ConfirmDialog
          title={`Delete template ${saved.key}?`}
          confirmLabel="Delete template"
          danger
          onClose={() => setDeleting(false)}
          onConfirm={async () => {
            await del(templatePath(saved.key));
            navigate('messaging', 'templates');
          }}
        >
          Campaigns and triggers that use it will fail to send until it is created again.
        </ConfirmDialog>
      )}
    </div>
  );
}

function SmsCounter(props: { text: string }) {
  const c = countSms(props.text);
  const left = c.segments === 0 ? c.perSegment : c.perSegment * c.segments - c.units;
  return (
    <div
      class={`small mt-1 ${c.segments > 1 ? 'text-warning-emphasis' : 'text-body-secondary'}`}
      data-testid="sms-count"
      data-encoding={c.encoding}
      data-segments={c.segments}
      aria-live="polite"
    >
      <span class="badge text-bg-light border me-1">{c.encoding}</span>
      {c.characters} characters · {c.segments} {c.segments === 1 ? 'segment' : 'segments'}
      {c.segments > 0 && <> · {left} left in this segment</>}
      <span class="ms-1 text-body-tertiary">(as written; variables change it, see the preview)</span>
    </div>
  );
}

function SaveCheck(props: { checks: NonNullable<MessageTemplate['check']>; channel: Channel }) {
  return (
    <div class="mt-3 small" data-testid="template-check">
      <div class="text-body-secondary mb-1">Checked on save with the data variables:</div>
      <ul class="mb-0 ps-3">
        {props.checks.map((c) => (
          <li key={c.language}>
            <strong>{c.language}</strong>
            {c.sms && (
              <>
                : {c.sms.encoding}, {c.sms.characters} characters, {c.sms.segments} {c.sms.segments === 1 ? 'segment' : 'segments'}
              </>
            )}
            {c.push_payload_bytes !== undefined && <>: payload {c.push_payload_bytes} of 4096 bytes</>}
            {c.unknown_variables.length > 0 && (
              <span class="text-warning-emphasis">
                {' '}
                — without a value:{' '}
                {c.unknown_variables.map((u) => (
                  <code key={u.field + u.message} class="me-1">
                    {u.message}
                  </code>
                ))}
              </span>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

function PreviewResult(props: {
  preview: { state: string; result?: TemplatePreview; error?: unknown };
  channel: Channel;
}) {
  const { preview } = props;
  if (preview.state === 'idle' || (preview.state === 'loading' && !preview.result)) return <Spinner label="Rendering…" />;
  if (preview.state === 'error') {
    const fe = preview.error instanceof ApiError ? preview.error.fieldErrors() : {};
    if (Object.keys(fe).some((f) => f === 'customer' || f === 'language' || f === 'data')) return null;
    return <ProblemAlert error={preview.error} testid="preview-error" />;
  }
  const r = preview.result!;
  return (
    <div data-testid="template-preview" data-language={r.language} class={preview.state === 'loading' ? 'opacity-50' : ''}>
      <div class="small text-body-secondary mb-2">
        Rendered in <strong>{r.language}</strong>
        {r.sms && (
          <span data-testid="preview-sms-count" data-segments={r.sms.segments} data-encoding={r.sms.encoding}>
            {' '}
            · {r.sms.encoding}, {r.sms.characters} characters, {r.sms.segments} {r.sms.segments === 1 ? 'segment' : 'segments'}
          </span>
        )}
        {r.push_payload_bytes !== undefined && <> · payload {r.push_payload_bytes} of 4096 bytes</>}
      </div>
      {r.unknown_variables.length > 0 && (
        <div class="alert alert-warning py-2 small" role="alert" data-testid="preview-unknown">
          <strong>Variables without a value</strong> (they render empty):
          <ul class="mb-0 ps-3">
            {r.unknown_variables.map((u) => (
              <li key={u.field + u.message} data-testid="unknown-variable" data-field={u.field}>
                <code>{`{{${u.message}}}`}</code> in {u.field}
              </li>
            ))}
          </ul>
        </div>
      )}
      <MessageContent channel={props.channel} content={r.content} testid="preview-content" />
    </div>
  );
}
