// Billing (/{ws}/billing): the workspace's spend this period against its cap, with a
// bar (yellow past the soft threshold, red once capped), the period, and the price of a
// step attempt by step type. Admins edit the cap, threshold, currency and prices below
// (BillingForm); everyone else reads. The data is the shell's (billing.ts), loaded when
// the page opens; a save replaces it everywhere.
import { type Billing } from '../../api';
import { capFraction, formatAmount, priceRows, useBilling } from '../../billing';
import { PageLoadState } from '../../components/LoadState';
import { MetaList } from '../../components/MetaList';
import { exactTime, relativeTime } from '../../format';
import { useSession } from '../../session';
import { BillingForm } from './BillingForm';

export function BillingPage() {
  const billing = useBilling();
  const session = useSession();
  const data = billing.data;
  if (!data) {
    return <PageLoadState noun="billing" error={billing.error} breadcrumb={null} />;
  }
  const admin = session.role === 'admin';
  return (
    <section class="page billing" aria-labelledby="billing-title">
      <div class="page__header">
        <h1 id="billing-title">Billing</h1>
      </div>
      {billing.error && (
        <p class="banner banner--error" role="alert">
          Could not refresh: {billing.error.message}
        </p>
      )}
      <SpendCard billing={data} />
      <PricesCard billing={data} />
      {admin ? (
        // A save (or a reload with other values) starts the form again from the answer.
        <BillingForm key={JSON.stringify(data)} billing={data} onSaved={(updated) => billing.set(() => updated)} />
      ) : (
        <p class="muted">Only an admin can change the spend cap and the prices.</p>
      )}
    </section>
  );
}

const percent = (fraction: number) => `${Math.round(fraction * 100)}%`;

function SpendCard(props: { billing: Billing }) {
  const b = props.billing;
  const fraction = capFraction(b);
  const stage = b.capped ? 'capped' : b.near_cap ? 'near' : 'ok';
  return (
    <section class="card" aria-labelledby="spend-title">
      <h2 id="spend-title">Spend this period</h2>
      <p class="spend-total">
        <strong data-testid="spend">{formatAmount(b.spend, b.currency)}</strong>
        {b.spend_cap === null ? (
          <span class="muted"> · no spend cap</span>
        ) : (
          <>
            {' of '}
            <strong data-testid="spend-cap">{formatAmount(b.spend_cap, b.currency)}</strong> cap
          </>
        )}
      </p>
      {fraction !== null && b.spend_cap !== null && (
        <div
          class={`spend-bar spend-bar--${stage}`}
          role="meter"
          aria-label="Spend against the cap"
          aria-valuemin={0}
          aria-valuemax={b.spend_cap}
          aria-valuenow={Math.min(b.spend, b.spend_cap)}
          aria-valuetext={`${formatAmount(b.spend, b.currency)} of ${formatAmount(b.spend_cap, b.currency)} (${percent(fraction)})`}
          data-stage={stage}
        >
          <div class="spend-bar__fill" style={{ width: `${fraction * 100}%` }} />
          <div class="spend-bar__threshold" style={{ left: `${Math.min(1, b.soft_threshold) * 100}%` }} title="Soft threshold" />
        </div>
      )}
      <p class="spend-stage" data-stage={stage}>
        {stageText(b, fraction)}
      </p>
      <MetaList
        rows={[
          ['Period start', <PeriodTime at={b.period_start} />],
          ['Period end', <PeriodTime at={b.period_end} />],
          ['Soft threshold', `${percent(b.soft_threshold)} of the cap (${b.soft_threshold})`],
          ['Currency', b.currency],
        ]}
      />
    </section>
  );
}

function stageText(b: Billing, fraction: number | null): string {
  if (b.spend_cap === null || fraction === null) {
    return 'Nothing stops for spend: every step attempt adds its price to the spend.';
  }
  if (b.capped) {
    return 'Capped: a step was refused at the cap this period. Workflows that tried are paused for safety until the cap is raised above the spend or the period rolls over.';
  }
  if (b.near_cap) {
    return `Near the cap: ${percent(fraction)} spent, past the soft threshold (${percent(b.soft_threshold)}). Nothing stops until the cap is reached.`;
  }
  return `${percent(fraction)} of the cap spent.`;
}

const UTC_FORMAT = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });

// A period boundary is a UTC calendar date: shown as such, relative after it.
function PeriodTime(props: { at: string }) {
  return (
    <>
      <time dateTime={props.at} title={exactTime(props.at)}>
        {UTC_FORMAT.format(new Date(props.at))} UTC
      </time>{' '}
      <span class="muted">({relativeTime(props.at)})</span>
    </>
  );
}

function PricesCard(props: { billing: Billing }) {
  const b = props.billing;
  return (
    <section class="card" aria-labelledby="prices-title">
      <h2 id="prices-title">Prices</h2>
      <p class="muted">What one step attempt adds to the spend, by step type.</p>
      <div class="table-wrap">
        <table class="table prices-table">
          <caption class="visually-hidden">Price of a step attempt by step type</caption>
          <thead>
            <tr>
              <th scope="col">Step type</th>
              <th scope="col">Price per attempt</th>
            </tr>
          </thead>
          <tbody>
            {priceRows(b.prices).map(([type, price]) => (
              <tr key={type} data-step-type={type}>
                <td>{type === 'default' ? 'default (any other type)' : <code>{type}</code>}</td>
                <td>{formatAmount(price, b.currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
