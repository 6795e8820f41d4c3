import { useEffect, useState } from 'preact/hooks';
import { api, get, post } from '../api';
import { DataTable, LoadMore } from '../components/DataTable';
import { BusySpinner, Field, fieldError, inputClass, PageHeader, ProblemAlert, ProgressBar, Spinner, StatusBadge, Time, Breadcrumb } from '../components/ui';
import { useAction, useLoader, usePagedList, usePolling } from '../hooks';
import { href, navigate } from '../router';
import type { Import, ImportField, ImportKind, Page } from '../types';

const importPath = (id: string, ...rest: string[]) => ['/v1/imports', encodeURIComponent(id), ...rest].join('/');
const RUNNING = new Set(['queued', 'running']);
const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function ImportsPage() {
  const imports = usePagedList((cursor) => get<Page<Import>>('/v1/imports', { cursor, limit: 25 }), []);
  const anyRunning = (imports.items ?? []).some((i) => RUNNING.has(i.state));
  usePolling(() => void imports.reload(), 2000, anyRunning);

  return (
    <div data-testid="imports-page">
      <PageHeader title="Imports" subtitle="Upload customers or subscriptions as CSV (UTF-8, comma or semicolon separated)" />
      <div class="row g-3">
        <div class="col-lg-4">
          <UploadCard />
        </div>
        <div class="col-lg-8">
          <div class="card shadow-sm">
            <div class="card-header bg-body">Past imports</div>
            <ProblemAlert error={imports.error} />
            <DataTable
              testid="imports-table"
              cols={5}
              head={
                <>
                  <th>File</th>
                  <th>State</th>
                  <th style={{ minWidth: '8rem' }}>Progress</th>
                  <th>Result</th>
                  <th>Uploaded</th>
                </>
              }
              items={imports.items}
              loading={imports.loading}
              empty="No imports yet."
              row={(i) => (
                <tr key={i.id} class="clickable-row" onClick={() => navigate('imports', i.id)} data-testid="import-row" data-id={i.id}>
                  <td>
                    <a href={href('imports', i.id)} class="fw-medium text-break">
                      {i.filename}
                    </a>
                    <div class="small text-body-secondary">
                      {i.kind} · {fmtBytes(i.size_bytes)}
                    </div>
                  </td>
                  <td>
                    <StatusBadge status={i.state} />
                  </td>
                  <td>
                    <ProgressBar done={i.progress?.done ?? 0} total={i.progress?.total ?? 0} label={`${i.filename} progress`} state={i.state} testid="import-row-progress" />
                  </td>
                  <td class="small text-nowrap">
                    {i.counts && FINISHED.has(i.state) ? (
                      <>
                        {i.counts.created} new · {i.counts.updated} updated
                        {i.counts.failed > 0 && <span class="text-danger"> · {i.counts.failed} failed</span>}
                      </>
                    ) : (
                      <span class="text-body-tertiary">—</span>
                    )}
                  </td>
                  <td class="small">
                    <Time iso={i.created_at} />
                  </td>
                </tr>
              )}
            />
            <LoadMore next={imports.next} loading={imports.loadingMore} onMore={() => void imports.more()} testid="imports-load-more" />
          </div>
        </div>
      </div>
    </div>
  );
}

function UploadCard() {
  const [kind, setKind] = useState<ImportKind>('customers');
  const [file, setFile] = useState<File | null>(null);
  const action = useAction();
  const fe = action.fieldErrors;
  const upload = async () => {
    if (!file) return;
    const imp = await api<Import>('/v1/imports', {
      method: 'POST',
      query: { kind, filename: file.name },
      rawBody: file,
      contentType: 'text/csv',
    });
    navigate('imports', imp.id);
  };
  return (
    <form
      class="card shadow-sm"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void action.run(upload);
      }}
      data-testid="import-upload-form"
    >
      <div class="card-header bg-body">New import</div>
      <div class="card-body">
        <ProblemAlert error={action.error} shownFields={['file', 'kind']} />
        <Field id="import-kind" label="What the file holds" error={fe.kind}>
          <select id="import-kind" class={inputClass(fe.kind, 'form-select')} value={kind} onChange={(e) => setKind(e.currentTarget.value as ImportKind)}>
            <option value="customers">Customers</option>
            <option value="subscriptions">Subscriptions</option>
          </select>
        </Field>
        <Field id="import-file" label="CSV file" error={fieldError(fe, 'file')} help="The first line must be a header. At most 100 MiB.">
          <input
            id="import-file"
            type="file"
            accept=".csv,text/csv"
            class={inputClass(fieldError(fe, 'file'))}
            onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
            data-testid="import-file"
          />
        </Field>
        <button type="submit" class="btn btn-primary" disabled={!file || action.busy} data-testid="import-upload">
          <BusySpinner busy={action.busy} />
          Upload and map columns
        </button>
      </div>
    </form>
  );
}

export function ImportDetailPage(props: { id: string }) {
  const imp = useLoader(() => get<Import>(importPath(props.id)), [props.id]);
  const i = imp.data;
  usePolling(() => void imp.reload(), 700, i !== null && RUNNING.has(i.state));

  return (
    <div data-testid="import-detail">
      <Breadcrumb parent="imports" parentLabel="Imports" label={i?.filename ?? props.id} />
      {!i ? (
        imp.error ? <ProblemAlert error={imp.error} /> : <Spinner />
      ) : (
        <>
          <div class="d-flex flex-wrap align-items-center gap-2 mb-3">
            <h1 class="h3 mb-0 text-break">{i.filename}</h1>
            <StatusBadge status={i.state} testid="import-state" />
            <span class="small text-body-secondary">
              {i.kind} · {fmtBytes(i.size_bytes)} · delimiter <code>{i.delimiter}</code> · uploaded <Time iso={i.created_at} />
            </span>
          </div>
          {/* A failed poll is shown; the last known state stays. */}
          <ProblemAlert error={imp.error} />
          {i.previous_import_id && (
            <div class="alert alert-warning py-2" role="alert" data-testid="import-duplicate">
              <strong>This file was imported before</strong> (same content as{' '}
              <a href={href('imports', i.previous_import_id)}>an earlier import</a>). Importing it again changes nothing unless the
              data changed meanwhile.
            </div>
          )}
          {i.state === 'uploaded' ? (
            <MappingCard imp={i} onStarted={(n) => imp.setData(n)} />
          ) : (
            <ResultCard imp={i} onChanged={(n) => imp.setData(n)} />
          )}
        </>
      )}
    </div>
  );
}

const IGNORE = '';
const CUSTOM = '__attribute';

function MappingCard(props: { imp: Import; onStarted: (i: Import) => void }) {
  const { imp } = props;
  const [mapping, setMapping] = useState<Record<string, string>>(() => {
    const m: Record<string, string> = {};
    for (const c of imp.columns) m[c] = imp.mapping?.[c] ?? imp.suggested_mapping?.[c] ?? IGNORE;
    return m;
  });
  const action = useAction();
  const fe = action.fieldErrors;
  const fields = imp.fields ?? [];
  const canCustom = fields.some((f) => f.name.startsWith('attributes.'));
  const mapped = Object.values(mapping).filter((v) => v !== IGNORE);
  const missing = fields.filter((f) => f.required && !mapped.includes(f.name));
  const dupes = new Set(mapped.filter((v, idx) => mapped.indexOf(v) !== idx));

  const start = async () => {
    const body: Record<string, string | null> = {};
    for (const c of imp.columns) body[c] = mapping[c] === IGNORE ? null : (mapping[c] ?? null);
    props.onStarted(await post<Import>(importPath(imp.id, 'start'), { mapping: body }));
  };

  return (
    <div class="card shadow-sm" data-testid="import-mapping">
      <div class="card-header bg-body">Map the columns</div>
      <div class="card-body">
        <p class="small text-body-secondary mb-2">
          Only mapped columns are written; an existing record keeps its other fields. Required fields are marked <span class="text-danger">*</span>.
        </p>
        <ProblemAlert error={action.error} shownFields={imp.columns.map((c) => `mapping.${c}`)} />
        {missing.length > 0 && (
          <div class="alert alert-warning py-2 small" role="alert" data-testid="import-missing">
            Map a column to {missing.map((f) => f.name).join(', ')} (required).
          </div>
        )}
        <div class="table-responsive">
          <table class="table table-sm import-mapping" data-testid="mapping-table">
            <thead class="table-light">
              <tr>
                <th>Column</th>
                <th>Sample values</th>
                <th style={{ minWidth: '16rem' }}>Field</th>
              </tr>
            </thead>
            <tbody>
              {imp.columns.map((c, ci) => {
                const err = fe[`mapping.${c}`] ?? (dupes.has(mapping[c] ?? '') ? 'mapped twice' : undefined);
                return (
                  <tr key={c} data-testid="mapping-row" data-column={c}>
                    <th scope="row" class="font-monospace small">
                      {c}
                    </th>
                    <td class="small text-body-secondary text-truncate" style={{ maxWidth: '16rem' }}>
                      {imp.preview
                        .map((r) => r[ci] ?? '')
                        .filter((v) => v !== '')
                        .slice(0, 3)
                        .join(' · ') || '—'}
                    </td>
                    <td>
                      <MappingSelect
                        id={`map-${ci}`}
                        column={c}
                        value={mapping[c] ?? IGNORE}
                        fields={fields}
                        canCustom={canCustom}
                        error={err}
                        onChange={(v) => setMapping({ ...mapping, [c]: v })}
                      />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        <h2 class="h6 mt-3">Preview (first {imp.preview.length} rows)</h2>
        <div class="table-responsive mb-3">
          <table class="table table-sm table-bordered preview-table" data-testid="preview-table">
            <thead class="table-light">
              <tr>
                <th class="text-body-secondary">row</th>
                {imp.columns.map((c) => (
                  <th key={c}>
                    {c}
                    <div class="fw-normal text-body-secondary text-lowercase">{mapping[c] ? `→ ${mapping[c]}` : 'ignored'}</div>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {imp.preview.map((r, ri) => (
                <tr key={ri}>
                  <td class="text-body-secondary">{ri + 2}</td>
                  {imp.columns.map((_, ci) => (
                    <td key={ci} title={r[ci] ?? ''} class={mapping[imp.columns[ci]!] ? '' : 'text-body-tertiary'}>
                      {r[ci] ?? ''}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <button
          class="btn btn-primary"
          disabled={action.busy || missing.length > 0 || dupes.size > 0}
          onClick={() => void action.run(start)}
          data-testid="import-start"
        >
          <BusySpinner busy={action.busy} />
          Start import
        </button>
      </div>
    </div>
  );
}

function MappingSelect(props: {
  id: string;
  column: string;
  value: string;
  fields: ImportField[];
  canCustom: boolean;
  error?: string;
  onChange: (v: string) => void;
}) {
  const { value } = props;
  // "attributes.<name>" describes the custom attribute choice; it is not itself a field.
  const fields = props.fields.filter((f) => !f.name.includes('<'));
  const known = fields.some((f) => f.name === value);
  const custom = value.startsWith('attributes.') && !known;
  const selectValue = custom ? CUSTOM : value;
  const suggestion = `attributes.${props.column.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 'value'}`;
  return (
    <>
      <div class="d-flex gap-2">
        <select
          id={props.id}
          class={inputClass(props.error, 'form-select form-select-sm')}
          aria-label={`Field for column ${props.column}`}
          value={selectValue}
          onChange={(e) => {
            const v = e.currentTarget.value;
            props.onChange(v === CUSTOM ? suggestion : v);
          }}
          data-testid="mapping-select"
        >
          <option value={IGNORE}>— ignore —</option>
          {!known && !custom && value !== IGNORE && <option value={value}>{value}</option>}
          {fields.map((f) => (
            <option key={f.name} value={f.name} title={f.description}>
              {f.name}
              {f.required ? ' *' : ''}
            </option>
          ))}
          {props.canCustom && <option value={CUSTOM}>custom attribute…</option>}
        </select>
        {custom && (
          <input
            class={inputClass(props.error, 'form-control form-control-sm')}
            aria-label={`Attribute name for column ${props.column}`}
            value={value.slice('attributes.'.length)}
            onInput={(e) => props.onChange(`attributes.${e.currentTarget.value}`)}
          />
        )}
      </div>
      {props.error && (
        <div class="invalid-feedback d-block" data-testid="mapping-error">
          {props.error}
        </div>
      )}
    </>
  );
}

function ResultCard(props: { imp: Import; onChanged: (i: Import) => void }) {
  const { imp } = props;
  const cancel = useAction();
  const counts = imp.counts;
  const running = RUNNING.has(imp.state);
  const [elapsed, setElapsed] = useState('');
  useEffect(() => {
    if (!imp.started_at) return;
    const end = imp.finished_at ? new Date(imp.finished_at).getTime() : Date.now();
    setElapsed(`${((end - new Date(imp.started_at).getTime()) / 1000).toFixed(1)} s`);
  }, [imp.started_at, imp.finished_at, imp.progress?.done]);
  return (
    <>
      <div class="card shadow-sm mb-3">
        <div class="card-header bg-body d-flex justify-content-between">
          <span>{running ? 'Importing…' : 'Result'}</span>
          <span class="d-flex align-items-center gap-2">
            <span class="small text-body-secondary fw-normal">{elapsed && `${running ? 'running for' : 'took'} ${elapsed}`}</span>
            {running && (
              <button
                class="btn btn-sm btn-outline-danger"
                disabled={cancel.busy}
                onClick={() => void cancel.run(async () => props.onChanged(await post<Import>(importPath(imp.id, 'cancel'))))}
                data-testid="import-cancel"
                title="Stops after the current chunk of rows; rows applied so far stay"
              >
                Cancel
              </button>
            )}
          </span>
        </div>
        <div class="card-body">
          <ProblemAlert error={cancel.error} />
          <div class="mb-3">
            {imp.state === 'queued' && (!imp.progress || imp.progress.total <= 0) ? (
              <div class="small text-body-secondary">Waiting for a worker…</div>
            ) : (
              <ProgressBar
                done={imp.progress?.done ?? 0}
                total={imp.progress?.total ?? 0}
                label="Import progress"
                state={imp.state}
                testid="import-progress"
                height="1rem"
              />
            )}
          </div>
          {imp.error && (
            <div class="alert alert-danger py-2" role="alert" data-testid="import-error">
              {imp.error}
            </div>
          )}
          {counts && (
            <div class="row row-cols-2 row-cols-md-5 g-2" data-testid="import-counts">
              {(
                [
                  ['rows', 'Rows', ''],
                  ['created', 'Created', 'text-success'],
                  ['updated', 'Updated', 'text-primary'],
                  ['unchanged', 'Unchanged', 'text-body-secondary'],
                  ['failed', 'Failed', 'text-danger'],
                ] as const
              ).map(([k, label, color]) => (
                <div class="col" key={k}>
                  <div class="count-tile">
                    <div class="small text-body-secondary">{label}</div>
                    <div class={`count-value ${color}`} data-testid={`import-count-${k}`}>
                      {counts[k].toLocaleString()}
                    </div>
                  </div>
                </div>
              ))}
            </div>
          )}
        </div>
      </div>
      {(imp.errors.length > 0 || (counts?.failed ?? 0) > 0) && (
        <div class="card shadow-sm" data-testid="import-errors">
          <div class="card-header bg-body d-flex flex-wrap justify-content-between align-items-center gap-2">
            <span>
              Row errors{' '}
              <span class="fw-normal small text-body-secondary">
                {imp.errors.length < (counts?.failed ?? 0) ? `(first ${imp.errors.length} of ${counts?.failed})` : ''}
              </span>
            </span>
            {FINISHED.has(imp.state) && (
              <a class="btn btn-sm btn-outline-danger" href={importPath(imp.id, 'errors.csv')} download={`${imp.filename.replace(/\.csv$/i, '')}-errors.csv`} data-testid="import-errors-csv">
                Download error report (CSV)
              </a>
            )}
          </div>
          <DataTable
            testid="import-errors-table"
            hover={false}
            cols={4}
            head={
              <>
                <th>Row</th>
                <th>Column</th>
                <th>Field</th>
                <th>Message</th>
              </>
            }
            items={imp.errors}
            empty="No row errors."
            row={(e) => (
              <tr key={`${e.row}-${e.column}-${e.message}`} data-testid="import-error-row" data-row={e.row} data-column={e.column ?? ''}>
                <td class="font-monospace">{e.row}</td>
                <td class="font-monospace small">{e.column ?? '—'}</td>
                <td class="font-monospace small">{e.field ?? '—'}</td>
                <td class="small">{e.message}</td>
              </tr>
            )}
          />
        </div>
      )}
    </>
  );
}
