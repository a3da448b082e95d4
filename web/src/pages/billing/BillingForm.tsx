// The admin's billing form: the spend cap (empty = no cap), the soft threshold, the
// currency and the price of a step attempt per step type, one more type to price, all
// saved with PUT /api/v1/billing. Only the values changed are sent (the server keeps
// the others). The server's check is the only one: a value that is not a plain number is
// sent as typed, and a 400's message shows beside the field it names (`prices.http`).
import { useState } from 'preact/hooks';
import { api, asApiError, type Billing, type BillingUpdate } from '../../api';
import { priceRows } from '../../billing';
import { showToast } from '../../components/Toasts';

// Step types the engine runs (a suggestion: the server refuses one it does not know).
const STEP_TYPES = ['noop', 'fail', 'http', 'shell', 'sleep', 'sleep_until', 'wait_for_event', 'workflow', 'agent_task', 'approval', 'form'];

const DECIMAL = /^\d+(\.\d+)?$/;

// A plain decimal as a JSON number; anything else as typed, for the server to refuse.
function amount(text: string): number | string {
  const t = text.trim();
  return DECIMAL.test(t) ? Number(t) : t;
}

interface Values {
  cap: string;
  threshold: string;
  currency: string;
  prices: Record<string, string>;
  newType: string;
  newPrice: string;
}

function initial(b: Billing): Values {
  return {
    cap: b.spend_cap === null ? '' : String(b.spend_cap),
    threshold: String(b.soft_threshold),
    currency: b.currency,
    prices: Object.fromEntries(priceRows(b.prices).map(([type, price]) => [type, String(price)])),
    newType: '',
    newPrice: '',
  };
}

// The update for what changed from `start`; an emptied price is 0 again.
function changes(start: Values, v: Values): BillingUpdate {
  const update: BillingUpdate = {};
  if (v.cap.trim() !== start.cap) {
    update.spend_cap = v.cap.trim() === '' ? null : amount(v.cap);
  }
  if (v.threshold.trim() !== start.threshold) {
    update.soft_threshold = amount(v.threshold);
  }
  if (v.currency.trim() !== start.currency) {
    update.currency = v.currency.trim();
  }
  const prices: Record<string, number | string> = {};
  for (const [type, text] of Object.entries(v.prices)) {
    if (text.trim() !== start.prices[type]) {
      prices[type] = text.trim() === '' ? 0 : amount(text);
    }
  }
  if (v.newType.trim() !== '') {
    prices[v.newType.trim()] = v.newPrice.trim() === '' ? 0 : amount(v.newPrice);
  }
  if (Object.keys(prices).length > 0) {
    update.prices = prices;
  }
  return update;
}

// The input a 400's `field` names: `spend_cap`, `soft_threshold`, `currency`,
// `prices.TYPE` (a listed type, or the one being added).
function fieldId(field: string | null, v: Values): string | null {
  const ids: Record<string, string> = { spend_cap: 'billing-cap', soft_threshold: 'billing-threshold', currency: 'billing-currency' };
  if (field === null) {
    return null;
  }
  if (ids[field]) {
    return ids[field];
  }
  const type = field.startsWith('prices.') ? field.slice('prices.'.length) : null;
  if (type !== null && type in v.prices) {
    return priceId(type);
  }
  if (type !== null && type === v.newType.trim()) {
    return 'billing-new-type';
  }
  return null;
}

const priceId = (type: string) => `billing-price-${type}`;

export function BillingForm(props: { billing: Billing; onSaved: (billing: Billing) => void }) {
  const [start] = useState(() => initial(props.billing));
  const [values, setValues] = useState(start);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ id: string | null; message: string } | null>(null);

  const set = (patch: Partial<Values>) => setValues((v) => ({ ...v, ...patch }));
  const setPrice = (type: string, text: string) => setValues((v) => ({ ...v, prices: { ...v.prices, [type]: text } }));

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const updated = await api.updateBilling(changes(start, values));
      showToast('success', 'Billing saved');
      props.onSaved(updated);
    } catch (err) {
      const apiError = asApiError(err);
      setError({ id: fieldId(apiError.field, values), message: apiError.message });
      showToast('error', 'Failed to save billing', apiError.message);
      setBusy(false);
    }
  };

  // The attributes of an input and its error line, when the error is its own.
  const errorFor = (id: string) => (error?.id === id ? error.message : null);
  const field = (id: string, label: string, value: string, onInput: (text: string) => void, hint?: string) => (
    <TextField
      id={id}
      label={label}
      value={value}
      onInput={onInput}
      hint={hint}
      error={errorFor(id)}
      disabled={busy}
      words={id === 'billing-new-type' || id === 'billing-currency'}
    />
  );

  return (
    <section class="card" aria-labelledby="billing-edit-title">
      <h2 id="billing-edit-title">Change the cap and prices</h2>
      <form class="billing-form" noValidate onSubmit={(e) => void save(e)}>
        {error && error.id === null && (
          <p class="banner banner--error" role="alert">
            {error.message}
          </p>
        )}
        <div class="billing-form__row">
          {field('billing-cap', 'Spend cap', values.cap, (cap) => set({ cap }), 'Empty: no cap.')}
          {field(
            'billing-threshold',
            'Soft threshold',
            values.threshold,
            (threshold) => set({ threshold }),
            'A fraction of the cap, above 0 and at most 1: 0.8 warns at 80%.',
          )}
          {field('billing-currency', 'Currency', values.currency, (currency) => set({ currency }), 'A 3-letter code.')}
        </div>
        <fieldset class="billing-form__prices">
          <legend>Price per step attempt</legend>
          <div class="billing-form__row">
            {Object.entries(values.prices).map(([type, text]) => (
              <div key={type}>{field(priceId(type), type, text, (t) => setPrice(type, t))}</div>
            ))}
          </div>
          <div class="billing-form__row">
            {field('billing-new-type', 'Add a step type', values.newType, (newType) => set({ newType }))}
            {field('billing-new-price', 'Its price', values.newPrice, (newPrice) => set({ newPrice }))}
          </div>
          <datalist id="billing-step-types">
            {STEP_TYPES.filter((t) => !(t in values.prices)).map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
        </fieldset>
        <button type="submit" class="button button--primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save'}
        </button>
      </form>
    </section>
  );
}

function TextField(props: {
  id: string;
  label: string;
  value: string;
  onInput: (text: string) => void;
  hint?: string;
  error: string | null;
  disabled: boolean;
  // A name, not an amount (the keyboard it asks for on a phone).
  words: boolean;
}) {
  const { id, error } = props;
  const describedBy = [props.hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ');
  return (
    <div class="field" data-field={id}>
      <label for={id}>{props.label}</label>
      <input
        id={id}
        type="text"
        inputMode={props.words ? 'text' : 'decimal'}
        list={id === 'billing-new-type' ? 'billing-step-types' : undefined}
        value={props.value}
        disabled={props.disabled}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy || undefined}
        onInput={(e) => props.onInput((e.target as HTMLInputElement).value)}
      />
      {props.hint && (
        <p class="hint muted" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
      {error && (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}
