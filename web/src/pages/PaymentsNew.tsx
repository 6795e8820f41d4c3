import { useEffect, useState } from 'preact/hooks';
import { post } from '../api';
import { TextField } from '../components/forms';
import { BusySpinner, Field, fieldError, inputClass, PageHeader, ProblemAlert } from '../components/ui';
import { useAction } from '../hooks';
import { href, navigate, parseHashQuery } from '../router';
import { SEC_CODES, type Counterparty, type Payment } from '../types';
import {
  AMOUNT_HINT,
  CounterpartyPicker,
  newIdempotencyKey,
  OriginatorSelect,
  parseDollars,
  PaymentsLayout,
  useOriginators,
} from './PaymentsCommon';

/** Fields of the payment form whose server errors are shown next to their inputs. */
const FORM_FIELDS = [
  'originator_id',
  'originator',
  'counterparty_id',
  'counterparty',
  'direction',
  'amount_cents',
  'sec_code',
  'payment_type_code',
  'effective_date',
  'same_day',
  'entry_description',
  'addenda',
];

export function NewPaymentPage() {
  const q = parseHashQuery(window.location.hash);
  const originators = useOriginators();
  const [originatorId, setOriginatorId] = useState(q.originator_id ?? '');
  const [counterpartyId, setCounterpartyId] = useState(q.counterparty_id ?? '');
  const [direction, setDirection] = useState<'credit' | 'debit'>('credit');
  const [amount, setAmount] = useState('');
  const [amountError, setAmountError] = useState<string | undefined>();
  const [secCode, setSecCode] = useState('PPD');
  const [paymentType, setPaymentType] = useState('');
  const [effectiveDate, setEffectiveDate] = useState('');
  const [sameDay, setSameDay] = useState(false);
  const [description, setDescription] = useState('');
  const [addenda, setAddenda] = useState('');
  // One key for this filled-in form: a retry after a lost answer cannot pay twice.
  const [idempotencyKey] = useState(newIdempotencyKey);
  const action = useAction();
  const fe = action.fieldErrors;

  // The only originator is chosen for the user.
  const list = originators.data ?? [];
  const active = list.filter((o) => o.status === 'active');
  useEffect(() => {
    if (!originatorId && active.length === 1) setOriginatorId(active[0]!.id);
  }, [originators.data]);
  const originator = list.find((o) => o.id === originatorId);
  const needsType = secCode === 'WEB' || secCode === 'TEL';

  const pickCounterparty = (id: string, c: Counterparty | null) => {
    setCounterpartyId(id);
    // PPD is for consumers, CCD for companies: follow the receiver while the user has not chosen otherwise.
    if (c && (secCode === 'PPD' || secCode === 'CCD')) setSecCode(c.kind === 'company' ? 'CCD' : 'PPD');
  };

  const submit = async () => {
    const cents = parseDollars(amount);
    if (cents === null) {
      setAmountError(`Enter an amount in dollars and cents, such as 1234.56`);
      return;
    }
    setAmountError(undefined);
    const body: Record<string, unknown> = {
      originator_id: originatorId,
      counterparty_id: counterpartyId,
      direction,
      amount_cents: cents,
      sec_code: secCode,
      idempotency_key: idempotencyKey,
    };
    if (effectiveDate) body.effective_date = effectiveDate;
    if (sameDay) body.same_day = true;
    if (description.trim()) body.entry_description = description.trim();
    if (addenda.trim()) body.addenda = addenda.trim();
    if (needsType && paymentType) body.payment_type_code = paymentType;
    const p = await post<Payment>('/v1/payments', body);
    navigate('payments', p.id);
  };

  const err = (name: string) => fieldError(fe, name);

  return (
    <PaymentsLayout active="new">
      <div data-testid="new-payment-page" style={{ maxWidth: '52rem' }}>
        <PageHeader title="New payment" subtitle="One ACH entry (split when larger than one entry carries), checked against the Nacha rules" />
        <form
          class="card shadow-sm"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void action.run(submit);
          }}
          data-testid="payment-form"
        >
          <div class="card-body">
            <ProblemAlert error={action.error ?? originators.error} shownFields={FORM_FIELDS} testid="payment-form-error" />
            <div class="row g-3">
              <div class="col-md-6">
                <Field id="payment-originator" label="Originator" error={err('originator_id') ?? err('originator')}>
                  <OriginatorSelect
                    id="payment-originator"
                    value={originatorId}
                    onChange={setOriginatorId}
                    originators={originators.data}
                    error={err('originator_id') ?? err('originator')}
                    testid="payment-originator"
                  />
                </Field>
              </div>
              <div class="col-md-6">
                <Field
                  id="payment-counterparty"
                  label="Counterparty"
                  error={err('counterparty_id') ?? err('counterparty')}
                  help={
                    <>
                      Not there yet? <a href={href('payments', 'counterparties')}>Add a counterparty</a>.
                    </>
                  }
                >
                  <CounterpartyPicker
                    id="payment-counterparty"
                    value={counterpartyId}
                    onChange={pickCounterparty}
                    error={err('counterparty_id') ?? err('counterparty')}
                  />
                </Field>
              </div>
              <div class="col-md-4">
                <Field id="payment-direction" label="Direction" error={err('direction')}>
                  <select
                    id="payment-direction"
                    class={inputClass(err('direction'), 'form-select')}
                    value={direction}
                    onChange={(e) => setDirection(e.currentTarget.value as 'credit' | 'debit')}
                  >
                    <option value="credit">Credit (pay out)</option>
                    <option value="debit">Debit (collect)</option>
                  </select>
                </Field>
              </div>
              <div class="col-md-4">
                <Field id="payment-amount" label="Amount (USD)" error={amountError ?? err('amount_cents')} help={AMOUNT_HINT}>
                  <div class="input-group has-validation">
                    <span class="input-group-text">$</span>
                    <input
                      id="payment-amount"
                      class={inputClass(amountError ?? err('amount_cents'))}
                      inputMode="decimal"
                      autoComplete="off"
                      placeholder="0.00"
                      value={amount}
                      onInput={(e) => {
                        setAmount(e.currentTarget.value);
                        setAmountError(undefined);
                      }}
                      data-testid="payment-amount"
                    />
                  </div>
                </Field>
              </div>
              <div class="col-md-4">
                <Field id="payment-sec" label="SEC code" error={err('sec_code')}>
                  <select
                    id="payment-sec"
                    class={inputClass(err('sec_code'), 'form-select')}
                    value={secCode}
                    onChange={(e) => setSecCode(e.currentTarget.value)}
                  >
                    {SEC_CODES.map((c) => (
                      <option key={c} value={c} disabled={!!originator && !originator.allowed_sec_codes.includes(c)}>
                        {c}
                      </option>
                    ))}
                  </select>
                </Field>
              </div>
              {needsType && (
                <div class="col-md-4">
                  <Field
                    id="payment-type-code"
                    label="Payment type"
                    error={err('payment_type_code')}
                    help={secCode === 'TEL' ? 'Required for TEL' : 'Required for WEB debits'}
                  >
                    <select
                      id="payment-type-code"
                      class={inputClass(err('payment_type_code'), 'form-select')}
                      value={paymentType}
                      onChange={(e) => setPaymentType(e.currentTarget.value)}
                    >
                      <option value="">—</option>
                      <option value="S">S — single entry</option>
                      <option value="R">R — recurring</option>
                    </select>
                  </Field>
                </div>
              )}
              <div class="col-md-4">
                <TextField
                  id="payment-effective-date"
                  label="Effective date"
                  type="date"
                  value={effectiveDate}
                  onValue={setEffectiveDate}
                  error={err('effective_date')}
                  help="Empty: the next settlement window. A holiday or weekend moves to the next banking day."
                />
              </div>
              <div class="col-md-4">
                <Field id="payment-same-day" label="Window" error={err('same_day')}>
                  <div class="form-check mt-1">
                    <input
                      id="payment-same-day"
                      class={inputClass(err('same_day'), 'form-check-input')}
                      type="checkbox"
                      checked={sameDay}
                      disabled={!!originator && originator.same_day_cutoff === null}
                      onChange={(e) => setSameDay(e.currentTarget.checked)}
                    />
                    <label class="form-check-label" for="payment-same-day">
                      Same-day ACH
                      {originator && (
                        <span class="text-body-secondary small">
                          {' '}
                          {originator.same_day_cutoff ? `(cutoff ${originator.same_day_cutoff} ${originator.time_zone})` : '(not offered)'}
                        </span>
                      )}
                    </label>
                  </div>
                </Field>
              </div>
              <div class="col-md-4">
                <TextField
                  id="payment-description"
                  label="Entry description"
                  value={description}
                  onValue={setDescription}
                  maxLength={10}
                  placeholder={originator?.entry_description ?? ''}
                  error={err('entry_description')}
                  help="Up to 10 characters on the receiver's statement; empty: the originator's"
                />
              </div>
              <div class="col-12">
                <Field
                  id="payment-addenda"
                  label="Addenda (payment related information)"
                  error={err('addenda')}
                  help={secCode === 'CTX' ? 'ANSI ASC X12 remittance (required for CTX)' : 'Optional, up to 80 characters; not for TEL'}
                >
                  <textarea
                    id="payment-addenda"
                    class={inputClass(err('addenda'))}
                    rows={secCode === 'CTX' ? 4 : 2}
                    value={addenda}
                    onInput={(e) => setAddenda(e.currentTarget.value)}
                  />
                </Field>
              </div>
            </div>
          </div>
          <div class="card-footer bg-body d-flex gap-2 align-items-center">
            <button
              type="submit"
              class="btn btn-primary"
              disabled={action.busy || !originatorId || !counterpartyId || amount.trim() === ''}
              data-testid="payment-submit"
            >
              <BusySpinner busy={action.busy} />
              Make payment
            </button>
            <a class="btn btn-outline-secondary" href={href('payments')}>
              Cancel
            </a>
            <span class="small text-body-secondary ms-auto" title="Sent as the idempotency key: submitting again cannot pay twice">
              Request <code>{idempotencyKey.slice(0, 8)}</code>
            </span>
          </div>
        </form>
      </div>
    </PaymentsLayout>
  );
}
