// The visual editor of a segment rule tree: nested all/any groups, "not" on any
// node, and one row per condition. It edits the rule JSON itself (no separate
// model), so what is shown is exactly what is counted and saved.
import { createContext } from 'preact';
import { useContext, useState } from 'preact/hooks';
import {
  ATTRIBUTE_OPS,
  children,
  CONDITION_KINDS,
  type ConditionKind,
  DURATION_OPS,
  FIELD_VALUES,
  fromLocalInput,
  kindOf,
  LIST_OPS,
  newCondition,
  NO_VALUE_OPS,
  opLabel,
  TEXT_FIELDS,
  TEXT_OPS,
  TIME_FIELDS,
  TIME_OPS,
  toLocalInput,
  type ValueType,
  valueTypeOf,
  withOp,
} from '../segmentRules';
import { CONSENT_CHANNELS, type DistributionList, type Product, type Rule, type Segment } from '../types';

export interface BuilderContext {
  /** Messages placed on controls by path (see placeErrors). */
  errors: Record<string, string>;
  products: readonly Product[];
  lists: readonly DistributionList[];
  segments: readonly Segment[];
  /** The key being edited: a segment cannot refer to itself. */
  selfKey: string;
  readOnly: boolean;
}

const Ctx = createContext<BuilderContext>({ errors: {}, products: [], lists: [], segments: [], selfKey: '', readOnly: false });

export function SegmentBuilder(props: { rule: Rule; onChange: (r: Rule) => void; context: BuilderContext }) {
  return (
    <Ctx.Provider value={props.context}>
      <div data-testid="segment-builder">
        <RuleNode rule={props.rule} path="rule" depth={0} onChange={props.onChange} />
      </div>
    </Ctx.Provider>
  );
}

/** Readable position of a node for labels: "rule.all[1].any[0]" -> "2.1". */
function position(path: string): string {
  const nums = [...path.matchAll(/\[(\d+)\]/g)].map((m) => String(Number(m[1]) + 1));
  return nums.length ? nums.join('.') : 'root';
}

function Err(props: { path: string }) {
  const msg = useContext(Ctx).errors[props.path];
  if (!msg) return null;
  return (
    <div class="invalid-feedback d-block" role="alert" data-testid="rule-error" data-path={props.path}>
      {msg}
    </div>
  );
}

const cls = (errors: Record<string, string>, path: string, base: string) => (errors[path] ? `${base} is-invalid` : base);

function RuleNode(props: {
  rule: Rule;
  path: string;
  depth: number;
  onChange: (r: Rule) => void;
  onRemove?: () => void;
  negated?: boolean;
  onNegate?: (on: boolean) => void;
}) {
  const { rule, path } = props;
  const kind = kindOf(rule);
  const negate = props.onNegate ?? ((on: boolean) => on && props.onChange({ not: rule }));

  if (kind === 'not' && typeof rule.not === 'object' && rule.not !== null && !Array.isArray(rule.not)) {
    const inner = rule.not as Rule;
    return (
      <RuleNode
        rule={inner}
        path={`${path}.not`}
        depth={props.depth}
        onChange={(r) => props.onChange({ not: r })}
        onRemove={props.onRemove}
        negated
        onNegate={(on) => !on && props.onChange(inner)}
      />
    );
  }
  if (kind === 'all' || kind === 'any') {
    return <GroupNode {...props} kind={kind} negated={props.negated === true} onNegate={negate} />;
  }
  return <ConditionNode {...props} kind={kind} negated={props.negated === true} onNegate={negate} />;
}

function NotToggle(props: { path: string; negated: boolean; onNegate: (on: boolean) => void }) {
  const { readOnly } = useContext(Ctx);
  return (
    <button
      type="button"
      class={`btn btn-sm ${props.negated ? 'btn-danger' : 'btn-outline-secondary'} not-toggle`}
      aria-pressed={props.negated}
      title={props.negated ? 'Negated: matches customers for whom this does NOT hold' : 'Negate this'}
      disabled={readOnly}
      onClick={() => props.onNegate(!props.negated)}
      data-testid="rule-not"
    >
      NOT
    </button>
  );
}

function RemoveButton(props: { onRemove?: () => void; label: string }) {
  const { readOnly } = useContext(Ctx);
  if (!props.onRemove || readOnly) return null;
  return (
    <button type="button" class="btn btn-sm btn-outline-danger" aria-label={props.label} title={props.label} onClick={props.onRemove} data-testid="rule-remove">
      ×
    </button>
  );
}

function GroupNode(props: {
  rule: Rule;
  path: string;
  depth: number;
  kind: 'all' | 'any';
  onChange: (r: Rule) => void;
  onRemove?: () => void;
  negated: boolean;
  onNegate: (on: boolean) => void;
}) {
  const { rule, path, kind } = props;
  const ctx = useContext(Ctx);
  const items = children(rule);
  const [adding, setAdding] = useState<ConditionKind>('attribute');
  const set = (list: Rule[]) => props.onChange({ [kind]: list });
  const pos = position(path);

  return (
    <div
      class={`rule-group rule-depth-${props.depth % 4} ${props.negated ? 'rule-negated' : ''}`}
      role="group"
      aria-label={`Group ${pos}`}
      data-testid="rule-node"
      data-kind={kind}
      data-path={path}
    >
      <div class="d-flex flex-wrap align-items-center gap-2 mb-2">
        <NotToggle path={path} negated={props.negated} onNegate={props.onNegate} />
        <label class="small text-body-secondary" for={`${path}-mode`}>
          Match
        </label>
        <select
          id={`${path}-mode`}
          class="form-select form-select-sm w-auto"
          value={kind}
          disabled={ctx.readOnly}
          onChange={(e) => props.onChange({ [e.currentTarget.value]: items })}
          data-testid="group-mode"
        >
          <option value="all">all</option>
          <option value="any">any</option>
        </select>
        <span class="small text-body-secondary">of these {items.length === 1 ? 'condition' : 'conditions'}</span>
        <span class="ms-auto d-flex gap-1">
          <RemoveButton onRemove={props.onRemove} label={`Remove group ${pos}`} />
        </span>
      </div>
      <Err path={path} />
      <Err path={`${path}.${kind}`} />
      {items.length === 0 && (
        <div class="small text-body-secondary fst-italic mb-2">
          {kind === 'all' ? 'No conditions: every customer matches.' : 'No conditions: no customer matches.'}
        </div>
      )}
      <div class="d-flex flex-column gap-2">
        {items.map((child, i) => (
          <RuleNode
            key={i}
            rule={child}
            path={`${path}.${kind}[${i}]`}
            depth={props.depth + 1}
            onChange={(r) => set(items.map((x, j) => (j === i ? r : x)))}
            onRemove={() => set(items.filter((_, j) => j !== i))}
          />
        ))}
      </div>
      {!ctx.readOnly && (
        <div class="d-flex flex-wrap gap-2 mt-2 align-items-center">
          <div class="input-group input-group-sm w-auto">
            <select
              class="form-select form-select-sm"
              aria-label={`Type of the condition to add to group ${pos}`}
              value={adding}
              onChange={(e) => setAdding(e.currentTarget.value as ConditionKind)}
              data-testid="add-condition-kind"
            >
              {CONDITION_KINDS.map((k) => (
                <option key={k.kind} value={k.kind}>
                  {k.label}
                </option>
              ))}
            </select>
            <button type="button" class="btn btn-outline-primary" onClick={() => set([...items, newCondition(adding)])} data-testid="add-condition">
              + Condition
            </button>
          </div>
          <button
            type="button"
            class="btn btn-sm btn-outline-secondary"
            onClick={() => set([...items, { [kind === 'all' ? 'any' : 'all']: [] }])}
            data-testid="add-group"
          >
            + Group
          </button>
        </div>
      )}
    </div>
  );
}

function ConditionNode(props: {
  rule: Rule;
  path: string;
  depth: number;
  kind: string;
  onChange: (r: Rule) => void;
  onRemove?: () => void;
  negated: boolean;
  onNegate: (on: boolean) => void;
}) {
  const { path, kind } = props;
  const ctx = useContext(Ctx);
  const pos = position(path);
  const known = CONDITION_KINDS.some((k) => k.kind === kind);
  return (
    <div
      class={`rule-condition ${props.negated ? 'rule-negated' : ''}`}
      role="group"
      aria-label={`Condition ${pos}`}
      data-testid="rule-node"
      data-kind={kind}
      data-path={path}
    >
      <div class="d-flex flex-wrap align-items-start gap-2">
        <NotToggle path={path} negated={props.negated} onNegate={props.onNegate} />
        <select
          class="form-select form-select-sm w-auto"
          aria-label={`Condition ${pos} type`}
          value={known ? kind : ''}
          disabled={ctx.readOnly}
          onChange={(e) => props.onChange(newCondition(e.currentTarget.value as ConditionKind))}
          data-testid="condition-kind"
        >
          {!known && <option value="">unknown</option>}
          {CONDITION_KINDS.map((k) => (
            <option key={k.kind} value={k.kind}>
              {k.label}
            </option>
          ))}
        </select>
        <div class="flex-grow-1 d-flex flex-wrap gap-2 align-items-start">
          <ConditionEditor {...props} pos={pos} />
        </div>
        <RemoveButton onRemove={props.onRemove} label={`Remove condition ${pos}`} />
      </div>
      <Err path={path} />
    </div>
  );
}

function ConditionEditor(props: { rule: Rule; path: string; kind: string; pos: string; onChange: (r: Rule) => void }) {
  const { rule, path, kind, pos } = props;
  const ctx = useContext(Ctx);
  const dis = ctx.readOnly;
  const e = ctx.errors;
  switch (kind) {
    case 'field':
    case 'attribute':
      return <Comparison {...props} attribute={kind === 'attribute'} />;
    case 'has_subscription': {
      const hs = (rule.has_subscription ?? {}) as { products?: string[]; status?: string };
      const products = hs.products ?? [];
      const setHs = (next: { products?: string[]; status?: string }) => {
        const out: Record<string, unknown> = {};
        if (next.products && next.products.length > 0) out.products = next.products;
        if (next.status) out.status = next.status;
        props.onChange({ has_subscription: out });
      };
      const known = new Set(ctx.products.map((p) => p.code));
      return (
        <div class="d-flex flex-wrap gap-2 align-items-start">
          <div>
            <select
              class={cls(e, `${path}.has_subscription.status`, 'form-select form-select-sm w-auto')}
              aria-label={`Condition ${pos} subscription status`}
              value={hs.status ?? 'active'}
              disabled={dis}
              onChange={(ev) => setHs({ ...hs, status: ev.currentTarget.value })}
              data-testid="subscription-status"
            >
              {['active', 'paused', 'cancelled', 'expired'].map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </div>
          <fieldset class="subscription-products" aria-label={`Condition ${pos} products`} data-testid="subscription-products">
            <div class="small text-body-secondary mb-1">
              to {products.length === 0 ? 'any product' : products.length === 1 ? 'the product' : 'one of the products'}
            </div>
            <div class="d-flex flex-wrap gap-2">
              {[...ctx.products.map((p) => ({ code: p.code, name: p.name })), ...products.filter((c) => !known.has(c)).map((c) => ({ code: c, name: c }))].map(
                (p) => (
                  <div class="form-check form-check-inline me-0" key={p.code}>
                    <input
                      class="form-check-input"
                      type="checkbox"
                      id={`${path}-product-${p.code}`}
                      checked={products.includes(p.code)}
                      disabled={dis}
                      onChange={(ev) =>
                        setHs({
                          ...hs,
                          products: ev.currentTarget.checked ? [...products, p.code] : products.filter((c) => c !== p.code),
                        })
                      }
                    />
                    <label class="form-check-label small" for={`${path}-product-${p.code}`} title={p.name}>
                      {p.code}
                    </label>
                  </div>
                ),
              )}
              {ctx.products.length === 0 && products.length === 0 && <span class="small text-body-tertiary">No products exist yet.</span>}
            </div>
          </fieldset>
          <Err path={`${path}.has_subscription`} />
          <Err path={`${path}.has_subscription.status`} />
        </div>
      );
    }
    case 'consent':
      return (
        <div>
          <select
            class={cls(e, `${path}.consent`, 'form-select form-select-sm w-auto')}
            aria-label={`Condition ${pos} consent channel`}
            value={String(rule.consent ?? '')}
            disabled={dis}
            onChange={(ev) => props.onChange({ consent: ev.currentTarget.value })}
            data-testid="consent-channel"
          >
            {CONSENT_CHANNELS.map((c) => (
              <option key={c} value={c}>
                granted for {c}
              </option>
            ))}
          </select>
          <Err path={`${path}.consent`} />
        </div>
      );
    case 'tag':
      return (
        <div>
          <input
            class={cls(e, `${path}.tag`, 'form-control form-control-sm')}
            aria-label={`Condition ${pos} tag`}
            placeholder="tag"
            value={String(rule.tag ?? '')}
            disabled={dis}
            onInput={(ev) => props.onChange({ tag: ev.currentTarget.value })}
            data-testid="tag-value"
          />
          <Err path={`${path}.tag`} />
        </div>
      );
    case 'member_of':
    case 'segment': {
      const items: readonly { key: string; name: string }[] =
        kind === 'member_of' ? ctx.lists : ctx.segments.filter((s) => s.key !== ctx.selfKey);
      const v = String(rule[kind] ?? '');
      return (
        <div>
          <select
            class={cls(e, `${path}.${kind}`, 'form-select form-select-sm w-auto')}
            aria-label={`Condition ${pos} ${kind === 'member_of' ? 'list' : 'segment'}`}
            value={v}
            disabled={dis}
            onChange={(ev) => props.onChange({ [kind]: ev.currentTarget.value })}
            data-testid={kind === 'member_of' ? 'list-value' : 'segment-value'}
          >
            <option value="">Choose {kind === 'member_of' ? 'a list' : 'a segment'}…</option>
            {v && !items.some((i) => i.key === v) && <option value={v}>{v}</option>}
            {items.map((i) => (
              <option key={i.key} value={i.key}>
                {i.name} ({i.key})
              </option>
            ))}
          </select>
          <Err path={`${path}.${kind}`} />
        </div>
      );
    }
    default:
      return <code class="small">{JSON.stringify(rule)}</code>;
  }
}

function Comparison(props: { rule: Rule; path: string; pos: string; attribute: boolean; onChange: (r: Rule) => void }) {
  const { rule, path, pos, attribute } = props;
  const ctx = useContext(Ctx);
  const e = ctx.errors;
  const dis = ctx.readOnly;
  const target = String((attribute ? rule.attribute : rule.field) ?? '');
  const time = !attribute && TIME_FIELDS.includes(target);
  const op = String(rule.op ?? 'eq');
  const ops = attribute ? ATTRIBUTE_OPS : time ? TIME_OPS : TEXT_OPS;
  const [vtype, setVtype] = useState<ValueType>(valueTypeOf(rule.value));
  const setValue = (value: unknown) => props.onChange({ ...rule, value });

  const convert = (raw: string, t: ValueType): unknown => {
    if (t === 'number') return raw.trim() === '' || Number.isNaN(Number(raw)) ? raw : Number(raw);
    if (t === 'boolean') return raw === 'true';
    return raw;
  };

  let valueInput = null;
  if (!NO_VALUE_OPS.has(op)) {
    const vcls = cls(e, `${path}.value`, 'form-control form-control-sm');
    if (DURATION_OPS.has(op)) {
      const m = /^(\d*)([mhdw]?)$/.exec(String(rule.value ?? '')) ?? ['', '', 'd'];
      const amount = m[1] ?? '';
      const unit = m[2] || 'd';
      valueInput = (
        <div class="input-group input-group-sm w-auto">
          <input
            type="number"
            min={1}
            class={vcls}
            style={{ maxWidth: '6rem' }}
            aria-label={`Condition ${pos} amount`}
            value={amount}
            disabled={dis}
            onInput={(ev) => setValue(`${ev.currentTarget.value}${unit}`)}
            data-testid="duration-amount"
          />
          <select
            class="form-select form-select-sm"
            aria-label={`Condition ${pos} unit`}
            value={unit}
            disabled={dis}
            onChange={(ev) => setValue(`${amount}${ev.currentTarget.value}`)}
            data-testid="duration-unit"
          >
            <option value="m">minutes</option>
            <option value="h">hours</option>
            <option value="d">days</option>
            <option value="w">weeks</option>
          </select>
        </div>
      );
    } else if (time) {
      valueInput = (
        <input
          type="datetime-local"
          class={vcls}
          aria-label={`Condition ${pos} time`}
          value={toLocalInput(rule.value)}
          disabled={dis}
          onInput={(ev) => setValue(fromLocalInput(ev.currentTarget.value))}
          data-testid="time-value"
        />
      );
    } else if (LIST_OPS.has(op)) {
      const list = Array.isArray(rule.value) ? (rule.value as unknown[]) : [];
      valueInput = (
        <input
          class={vcls}
          aria-label={`Condition ${pos} values, separated by commas`}
          placeholder="a, b, c"
          value={list.map(String).join(', ')}
          disabled={dis}
          onInput={(ev) => {
            const parts = ev.currentTarget.value.split(',').map((s) => s.trim());
            const cleaned = parts.filter((s, i) => s !== '' || i === parts.length - 1);
            setValue(cleaned.filter((s) => s !== '').map((s) => convert(s, attribute ? vtype : 'text')));
          }}
          data-testid="rule-value"
        />
      );
    } else if (!attribute && FIELD_VALUES[target] && (op === 'eq' || op === 'ne')) {
      valueInput = (
        <select
          class={cls(e, `${path}.value`, 'form-select form-select-sm w-auto')}
          aria-label={`Condition ${pos} value`}
          value={String(rule.value ?? '')}
          disabled={dis}
          onChange={(ev) => setValue(ev.currentTarget.value)}
          data-testid="rule-value"
        >
          <option value="">(empty)</option>
          {FIELD_VALUES[target]!.map((v) => (
            <option key={v} value={v}>
              {v}
            </option>
          ))}
        </select>
      );
    } else if (attribute && vtype === 'boolean') {
      valueInput = (
        <select
          class={cls(e, `${path}.value`, 'form-select form-select-sm w-auto')}
          aria-label={`Condition ${pos} value`}
          value={String(rule.value === true)}
          disabled={dis}
          onChange={(ev) => setValue(ev.currentTarget.value === 'true')}
          data-testid="rule-value"
        >
          <option value="true">true</option>
          <option value="false">false</option>
        </select>
      );
    } else {
      valueInput = (
        <input
          type={attribute && vtype === 'number' ? 'number' : 'text'}
          class={vcls}
          aria-label={`Condition ${pos} value`}
          value={rule.value === undefined || rule.value === null ? '' : String(rule.value)}
          disabled={dis}
          onInput={(ev) => setValue(convert(ev.currentTarget.value, attribute ? vtype : 'text'))}
          data-testid="rule-value"
        />
      );
    }
  }

  return (
    <>
      <div>
        {attribute ? (
          <input
            class={cls(e, `${path}.attribute`, 'form-control form-control-sm')}
            aria-label={`Condition ${pos} attribute name`}
            placeholder="attribute, e.g. tier or address.city"
            value={target}
            disabled={dis}
            onInput={(ev) => props.onChange({ ...rule, attribute: ev.currentTarget.value })}
            data-testid="attribute-name"
          />
        ) : (
          <select
            class={cls(e, `${path}.field`, 'form-select form-select-sm w-auto')}
            aria-label={`Condition ${pos} field`}
            value={target}
            disabled={dis}
            onChange={(ev) => {
              const f = ev.currentTarget.value;
              const nextTime = TIME_FIELDS.includes(f);
              const nextOps = nextTime ? TIME_OPS : TEXT_OPS;
              const base = { ...rule, field: f };
              props.onChange(nextOps.includes(op) && nextTime === time ? base : withOp(base, nextTime ? 'within_last' : 'eq', nextTime));
            }}
            data-testid="field-name"
          >
            {!TEXT_FIELDS.includes(target) && !TIME_FIELDS.includes(target) && <option value={target}>{target || '—'}</option>}
            <optgroup label="Text">
              {TEXT_FIELDS.map((f) => (
                <option key={f} value={f}>
                  {f}
                </option>
              ))}
            </optgroup>
            <optgroup label="Time">
              {TIME_FIELDS.map((f) => (
                <option key={f} value={f}>
                  {f}
                </option>
              ))}
            </optgroup>
          </select>
        )}
        <Err path={`${path}.${attribute ? 'attribute' : 'field'}`} />
      </div>
      <div>
        <select
          class={cls(e, `${path}.op`, 'form-select form-select-sm w-auto')}
          aria-label={`Condition ${pos} operator`}
          value={op}
          disabled={dis}
          onChange={(ev) => props.onChange(withOp(rule, ev.currentTarget.value, time))}
          data-testid="rule-op"
        >
          {!ops.includes(op) && <option value={op}>{op}</option>}
          {ops.map((o) => (
            <option key={o} value={o}>
              {opLabel(o, time)}
            </option>
          ))}
        </select>
        <Err path={`${path}.op`} />
      </div>
      {attribute && !NO_VALUE_OPS.has(op) && (
        <select
          class="form-select form-select-sm w-auto"
          aria-label={`Condition ${pos} value type`}
          value={vtype}
          disabled={dis}
          onChange={(ev) => {
            const t = ev.currentTarget.value as ValueType;
            setVtype(t);
            const v = rule.value;
            if (Array.isArray(v)) setValue(v.map((x) => convert(String(x), t === 'boolean' ? 'text' : t)));
            else setValue(t === 'boolean' ? true : convert(v === undefined || v === null ? '' : String(v), t));
          }}
          data-testid="value-type"
        >
          <option value="text">text</option>
          <option value="number">number</option>
          <option value="boolean">yes/no</option>
        </select>
      )}
      {valueInput && (
        <div>
          {valueInput}
          <Err path={`${path}.value`} />
        </div>
      )}
    </>
  );
}
