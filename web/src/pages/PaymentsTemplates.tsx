import { useState } from 'preact/hooks';
import { del, get, patch, post } from '../api';
import { DataTable, LoadMore } from '../components/DataTable';
import { FormModal, TextField } from '../components/forms';
import { AddButton, ConfirmDialog, Field, fieldError, inputClass, Notice, PageHeader, ProblemAlert } from '../components/ui';
import { useAction, useLoader, usePagedList } from '../hooks';
import { href, navigate } from '../router';
import { useCan } from '../session';
import { SEC_CODES, type Counterparty, type Page, type Payment, type PaymentTemplate } from '../types';
import {
  AMOUNT_HINT,
  apiPath,
  centsToDollars,
  CounterpartyPicker,
  DirectionBadge,
  fmtUSD,
  newIdempotencyKey,
  originatorNames,
  OriginatorSelect,
  parseDollars,
  PaymentsLayout,
  useOriginators,
} from './PaymentsCommon';

const templatePath = (id: string, ...rest: string[]) => apiPath('/v1/payment-templates', id, ...rest);

export function TemplatesPage() {
  const canWrite = useCan('payments', 'write');
  const originators = useOriginators();
  const nameOf = originatorNames(originators.data);
  const list = usePagedList((cursor) => get<Page<PaymentTemplate>>('/v1/payment-templates', { cursor, limit: 50 }), []);
  const counterparties = useLoader(async () => (await get<Page<Counterparty>>('/v1/counterparties', { limit: 500 })).items, []);
  const counterpartyName = (id: string) => counterparties.data?.find((c) => c.id === id)?.name ?? `#${id}`;
  const [editing, setEditing] = useState<PaymentTemplate | 'new' | null>(null);
  const [deleting, setDeleting] = useState<PaymentTemplate | null>(null);
  const [paying, setPaying] = useState<PaymentTemplate | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  return (
    <PaymentsLayout active="templates">
      <div data-testid="templates-page">
        <PageHeader
          title="Templates"
          subtitle="Saved payments: make one with only what changes, such as the amount"
          actions={
            canWrite && (
              <AddButton onClick={() => setEditing('new')} testid="new-template">
                New template
              </AddButton>
            )
          }
        />
        {notice && (
          <Notice testid="template-notice" onClose={() => setNotice(null)}>
            {notice}
          </Notice>
        )}
        <div class="card shadow-sm">
          <ProblemAlert error={list.error ?? originators.error} />
          <DataTable
            testid="templates-table"
            cols={canWrite ? 7 : 6}
            head={
              <>
                <th>Name</th>
                <th>Originator</th>
                <th>Counterparty</th>
                <th class="text-end">Amount</th>
                <th>SEC</th>
                <th>Description</th>
                {canWrite && <th />}
              </>
            }
            items={list.items}
            loading={list.loading}
            empty="No templates yet."
            row={(t) => (
              <tr key={t.id} data-testid="template-row" data-id={t.id} data-name={t.name}>
                <td class="fw-medium">{t.name}</td>
                <td class="small">{nameOf(t.originator_id)}</td>
                <td class="small">
                  <a href={href('payments', 'counterparties', t.counterparty_id)}>{counterpartyName(t.counterparty_id)}</a>
                </td>
                <td class="text-end text-nowrap">
                  <span class="font-monospace">{t.amount_cents === null ? <span class="text-body-tertiary">ask</span> : fmtUSD(t.amount_cents)}</span>
                  <div>
                    <DirectionBadge direction={t.direction} />
                  </div>
                </td>
                <td>
                  <code>{t.sec_code}</code>
                  {t.same_day && <div class="small text-body-secondary">same day</div>}
                </td>
                <td class="small">{t.entry_description ?? <span class="text-body-tertiary">originator's</span>}</td>
                {canWrite && (
                  <td class="text-end text-nowrap">
                    <button class="btn btn-sm btn-primary me-1" onClick={() => setPaying(t)} data-testid="template-pay">
                      Make payment
                    </button>
                    <button class="btn btn-sm btn-outline-secondary me-1" onClick={() => setEditing(t)} data-testid="template-edit">
                      Edit
                    </button>
                    <button class="btn btn-sm btn-outline-danger" onClick={() => setDeleting(t)} data-testid="template-delete">
                      Delete
                    </button>
                  </td>
                )}
              </tr>
            )}
          />
          <LoadMore next={list.next} loading={list.loadingMore} onMore={() => void list.more()} testid="templates-load-more" />
        </div>
        {editing && (
          <TemplateDialog
            template={editing === 'new' ? null : editing}
            originators={originators}
            onClose={() => setEditing(null)}
            onSaved={(t) => {
              setEditing(null);
              setNotice(`Template “${t.name}” saved.`);
              void list.reload();
            }}
          />
        )}
        {deleting && (
          <ConfirmDialog
            title="Delete template"
            confirmLabel="Delete"
            danger
            onClose={() => setDeleting(null)}
            onConfirm={async () => {
              await del(templatePath(deleting.id));
              setNotice(`Template “${deleting.name}” deleted.`);
              await list.reload();
            }}
          >
            Delete the template “{deleting.name}”? Payments made from it stay.
          </ConfirmDialog>
        )}
        {paying && <PayFromTemplateDialog template={paying} onClose={() => setPaying(null)} />}
      </div>
    </PaymentsLayout>
  );
}

const SHOWN = ['name', 'originator_id', 'counterparty_id', 'direction', 'amount_cents', 'sec_code', 'entry_description', 'addenda', 'payment_type_code', 'same_day'];

function TemplateDialog(props: {
  template: PaymentTemplate | null;
  originators: ReturnType<typeof useOriginators>;
  onClose: () => void;
  onSaved: (t: PaymentTemplate) => void;
}) {
  const t = props.template;
  const [name, setName] = useState(t?.name ?? '');
  const [originatorId, setOriginatorId] = useState(t?.originator_id ?? '');
  const [counterpartyId, setCounterpartyId] = useState(t?.counterparty_id ?? '');
  const [direction, setDirection] = useState(t?.direction ?? 'credit');
  const [amount, setAmount] = useState(t?.amount_cents != null ? centsToDollars(t.amount_cents) : '');
  const [amountError, setAmountError] = useState<string | undefined>();
  const [secCode, setSecCode] = useState(t?.sec_code ?? 'PPD');
  const [description, setDescription] = useState(t?.entry_description ?? '');
  const [addenda, setAddenda] = useState(t?.addenda ?? '');
  const [paymentType, setPaymentType] = useState(t?.payment_type_code ?? '');
  const [sameDay, setSameDay] = useState(t?.same_day ?? false);
  const action = useAction();
  const fe = action.fieldErrors;

  const submit = async () => {
    let cents: number | null = null;
    if (amount.trim() !== '') {
      cents = parseDollars(amount);
      if (cents === null) {
        setAmountError('Enter an amount in dollars and cents, such as 1234.56, or leave it empty');
        return;
      }
    }
    setAmountError(undefined);
    const body: Record<string, unknown> = {
      name: name.trim(),
      originator_id: originatorId,
      counterparty_id: counterpartyId,
      direction,
      sec_code: secCode,
      amount_cents: cents,
      entry_description: description.trim() || null,
      addenda: addenda.trim() || null,
      payment_type_code: paymentType || null,
      same_day: sameDay,
    };
    props.onSaved(
      t
        ? await patch<PaymentTemplate>(templatePath(t.id), body, { 'If-Match': `"${t.version}"` })
        : await post<PaymentTemplate>('/v1/payment-templates', body),
    );
  };

  return (
    <FormModal
      title={t ? `Edit template “${t.name}”` : 'New template'}
      testid="template-dialog"
      size="lg"
      onClose={props.onClose}
      formId="template-form"
      action={action}
      onSubmit={submit}
      shownFields={SHOWN}
      submitLabel={t ? 'Save template' : 'Create template'}
      submitTestid="template-submit"
      canSubmit={!!originatorId && !!counterpartyId}
    >
      <TextField id="template-name" label="Name" value={name} onValue={setName} error={fe.name} />
      <div class="row">
        <div class="col-md-6">
          <Field id="template-originator" label="Originator" error={fe.originator_id}>
            <OriginatorSelect id="template-originator" value={originatorId} onChange={setOriginatorId} originators={props.originators.data} error={fe.originator_id} />
          </Field>
        </div>
        <div class="col-md-6">
          <Field id="template-counterparty" label="Counterparty" error={fieldError(fe, 'counterparty_id')}>
            <CounterpartyPicker id="template-counterparty" value={counterpartyId} onChange={(id) => setCounterpartyId(id)} error={fieldError(fe, 'counterparty_id')} />
          </Field>
        </div>
        <div class="col-md-4">
          <Field id="template-direction" label="Direction" error={fe.direction}>
            <select id="template-direction" class={inputClass(fe.direction, 'form-select')} value={direction} onChange={(e) => setDirection(e.currentTarget.value)}>
              <option value="credit">credit</option>
              <option value="debit">debit</option>
            </select>
          </Field>
        </div>
        <div class="col-md-4">
          <TextField
            id="template-amount"
            label="Amount (USD)"
            inputMode="decimal"
            value={amount}
            onValue={(x) => {
              setAmount(x);
              setAmountError(undefined);
            }}
            error={amountError ?? fe.amount_cents}
            help={`${AMOUNT_HINT}; empty: asked for each payment`}
          />
        </div>
        <div class="col-md-4">
          <Field id="template-sec" label="SEC code" error={fe.sec_code}>
            <select id="template-sec" class={inputClass(fe.sec_code, 'form-select')} value={secCode} onChange={(e) => setSecCode(e.currentTarget.value)}>
              {SEC_CODES.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <div class="col-md-4">
          <TextField id="template-description" label="Entry description" value={description} onValue={setDescription} maxLength={10} error={fe.entry_description} help="Empty: the originator's" />
        </div>
        <div class="col-md-4">
          <Field id="template-type" label="Payment type" error={fe.payment_type_code}>
            <select id="template-type" class={inputClass(fe.payment_type_code, 'form-select')} value={paymentType} onChange={(e) => setPaymentType(e.currentTarget.value)}>
              <option value="">—</option>
              <option value="S">S — single entry</option>
              <option value="R">R — recurring</option>
            </select>
          </Field>
        </div>
        <div class="col-md-4">
          <div class="form-check mt-md-4 pt-md-2">
            <input id="template-same-day" class="form-check-input" type="checkbox" checked={sameDay} onChange={(e) => setSameDay(e.currentTarget.checked)} />
            <label class="form-check-label" for="template-same-day">
              Same-day ACH
            </label>
          </div>
        </div>
        <div class="col-12">
          <TextField id="template-addenda" label="Addenda" value={addenda} onValue={setAddenda} maxLength={80} error={fe.addenda} help="Optional payment related information" />
        </div>
      </div>
    </FormModal>
  );
}

function PayFromTemplateDialog(props: { template: PaymentTemplate; onClose: () => void }) {
  const t = props.template;
  const [amount, setAmount] = useState(t.amount_cents != null ? centsToDollars(t.amount_cents) : '');
  const [amountError, setAmountError] = useState<string | undefined>();
  const [effectiveDate, setEffectiveDate] = useState('');
  const [idempotencyKey] = useState(newIdempotencyKey);
  const action = useAction();
  const fe = action.fieldErrors;
  const submit = async () => {
    const cents = parseDollars(amount);
    if (cents === null) {
      setAmountError('Enter an amount in dollars and cents, such as 1234.56');
      return;
    }
    setAmountError(undefined);
    const body: Record<string, unknown> = { idempotency_key: idempotencyKey };
    if (cents !== t.amount_cents) body.amount_cents = cents;
    if (effectiveDate) body.effective_date = effectiveDate;
    const p = await post<Payment>(templatePath(t.id, 'payments'), body);
    navigate('payments', p.id);
  };
  return (
    <FormModal
      title={`Make a payment from “${t.name}”`}
      testid="template-pay-dialog"
      onClose={props.onClose}
      formId="template-pay-form"
      action={action}
      onSubmit={submit}
      shownFields={['amount_cents', 'effective_date']}
      submitLabel="Make payment"
      submitTestid="template-pay-submit"
      canSubmit={amount.trim() !== ''}
    >
      <p class="small text-body-secondary">
        {t.direction} · <code>{t.sec_code}</code> · counterparty #{t.counterparty_id}
      </p>
      <TextField
        id="template-pay-amount"
        label="Amount (USD)"
        inputMode="decimal"
        value={amount}
        onValue={(x) => {
          setAmount(x);
          setAmountError(undefined);
        }}
        error={amountError ?? fe.amount_cents}
        help={AMOUNT_HINT}
      />
      <TextField id="template-pay-date" label="Effective date" type="date" value={effectiveDate} onValue={setEffectiveDate} error={fe.effective_date} help="Empty: the next settlement window" />
    </FormModal>
  );
}
