// The workspace's billing (GET /api/v1/billing) as the whole app shares it: the shell
// loads it once per page it shows (a navigation, not a poll tick of that page) and
// provides it here, so the nav's indicator, the run viewer's notice and the billing
// page read one answer, and a change saved on the billing page shows everywhere at once.
// Also how an amount is written.
import { createContext } from 'preact';
import { useContext, useEffect, useRef } from 'preact/hooks';
import { api, type Billing } from './api';
import { useResource, type Resource } from './resource';

export const BillingContext = createContext<Resource<Billing> | null>(null);

// The shell's load: once when it mounts, again when it shows another page (`path`).
export function useBillingPerPage(path: string): Resource<Billing> {
  const billing = useResource(() => api.getBilling(), []);
  const { reload } = billing;
  const shownRef = useRef(path);
  useEffect(() => {
    if (shownRef.current !== path) {
      shownRef.current = path;
      void reload();
    }
  }, [path, reload]);
  return billing;
}

export function useBilling(): Resource<Billing> {
  const billing = useContext(BillingContext);
  if (!billing) {
    throw new Error('useBilling outside the signed-in shell');
  }
  return billing;
}

// The billing as last loaded; undefined before the first answer or when it cannot be
// loaded, so an indicator shows nothing rather than a guess.
export function useBillingData(): Billing | undefined {
  const billing = useBilling();
  return billing.error ? undefined : billing.data;
}

// An amount exactly as the API gives it (JSON numbers of at most 6 decimals print back
// as they were written), with the currency: `0.003 USD`.
export function formatAmount(amount: number, currency: string): string {
  return `${String(amount)} ${currency}`;
}

// How much of the cap is spent, from 0 to 1 (a spend past the cap fills the bar); null
// without a cap.
export function capFraction(billing: Billing): number | null {
  const cap = billing.spend_cap;
  if (cap === null) {
    return null;
  }
  if (cap <= 0) {
    return 1;
  }
  return Math.min(1, Math.max(0, billing.spend / cap));
}

// The billing's stage for the indicators: capped is the stronger one.
export function spendStage(billing: Billing | undefined): 'capped' | 'near' | null {
  if (!billing || billing.spend_cap === null) {
    return null;
  }
  if (billing.capped) {
    return 'capped';
  }
  return billing.near_cap ? 'near' : null;
}

// `default` first (the price of every step type not listed), then by name.
export function priceRows(prices: Record<string, number>): [string, number][] {
  const rest = Object.entries(prices)
    .filter(([type]) => type !== 'default')
    .sort(([a], [b]) => a.localeCompare(b));
  return [['default', prices.default ?? 0], ...rest];
}
