// The yellow spend indicators, shown only while GET /api/v1/billing says the workspace
// is `near_cap` (the soft threshold of its cap is reached) or `capped` (a dispatch was
// refused at the cap this period, the stronger wording): a notice in the run viewer and
// a small link in the top bar, both to the billing page. They read the billing the shell
// loads once per page (billing.ts), so a page that polls does not load it again.
import { formatAmount, spendStage, useBillingData } from '../billing';
import { onLinkClick } from '../router';
import { useSession, wsPath } from '../session';
import { WarningIcon } from './Icons';

// The run viewer's notice.
export function SpendNotice() {
  const billing = useBillingData();
  const session = useSession();
  const stage = spendStage(billing);
  if (!billing || !stage || billing.spend_cap === null) {
    return null;
  }
  const spent = `${formatAmount(billing.spend, billing.currency)} of the ${formatAmount(billing.spend_cap, billing.currency)} cap spent this period`;
  return (
    <section class={`spend-notice spend-notice--${stage}`} aria-label="Spend cap" data-stage={stage}>
      <WarningIcon />
      <p>
        {stage === 'capped' ? (
          <>
            <strong>Spend cap reached:</strong> no step of any workflow is dispatched past the cap until it is raised or
            the billing period rolls over ({spent}).
          </>
        ) : (
          <>
            <strong>Spend is near the cap:</strong> {spent}.
          </>
        )}{' '}
        <a href={wsPath(session, 'billing')} onClick={onLinkClick}>
          {stage === 'capped' ? 'Adjust cap' : 'Billing'}
        </a>
      </p>
    </section>
  );
}

// The top bar's link; the nav's own Billing link stays for every state.
export function SpendChip() {
  const billing = useBillingData();
  const session = useSession();
  const stage = spendStage(billing);
  if (!stage) {
    return null;
  }
  return (
    <a class={`spend-chip spend-chip--${stage}`} href={wsPath(session, 'billing')} onClick={onLinkClick} data-stage={stage}>
      <WarningIcon />
      {stage === 'capped' ? 'Spend cap reached' : 'Near spend cap'}
    </a>
  );
}
