// Writes docs/screenshots/{runs-list,run-paused,cancel-dialog}.png from a real server
// and Chromium: `make screenshots` (or `npm run screenshots` in web/).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, newPage, runUrl, setup, signIn, toast } from './harness.mjs';

const OUT = path.join(REPO_ROOT, 'docs', 'screenshots');

const env = await setup();
try {
  const { server, target } = env;
  await server.putWorkflow({
    id: 'charge-customer',
    kind: 'workflow',
    steps: [
      { id: 'lookup', type: 'noop', with: { value: { customer: '${{ input.userId }}', plan: 'pro' } } },
      { id: 'charge', type: 'http', timeout: '10m', with: { method: 'POST', url: target.hold('/charge'), body: { amount: '${{ input.amount }}' } } },
      { id: 'receipt', type: 'noop', with: { value: { sent: true } } },
    ],
  });
  await server.putWorkflow({ id: 'nightly-report', kind: 'workflow', steps: [{ id: 'build', type: 'noop', with: { value: { rows: 1280 } } }] });
  await server.putWorkflow({ id: 'refund', kind: 'workflow', steps: [{ id: 'check', type: 'fail', with: { message: 'card declined', code: 'declined' } }] });
  await server.putWorkflow({ id: 'onboarding', kind: 'workflow', steps: [
    { id: 'welcome', type: 'noop', with: { value: 'hi' } },
    { id: 'await-signup', type: 'wait_for_event', with: { event_type: 'user-signed-up', timeout: '7d' } },
  ] });

  const start = (wf, input) => server.startRun(wf, input);
  const done = await start('nightly-report', {});
  await server.waitRun(done.id, (r) => r.status === 'completed', 'completed');
  const failed = await start('refund', { orderId: 'ord_77' });
  await server.waitRun(failed.id, (r) => r.status === 'failed', 'failed');
  const waiting = await start('onboarding', { userId: 'usr_9f2' });
  await server.waitRun(waiting.id, (r) => r.status === 'waiting', 'waiting');
  const cancelled = await start('charge-customer', { userId: 'usr_51c', amount: 990 });
  await server.waitStep(cancelled.id, 'charge', 'running');
  await server.ok('POST', `/api/v1/runs/${cancelled.id}/cancel`, { reason: 'Duplicate order' });
  const running = await start('charge-customer', { userId: 'usr_0a7', amount: 1500 });
  const paused = await start('charge-customer', { userId: 'usr_abc123', amount: 4200 });
  await server.waitStep(running.id, 'charge', 'running');
  await server.waitStep(paused.id, 'charge', 'running');

  mkdirSync(OUT, { recursive: true });
  const page = await newPage(env.browser, server, { viewport: { width: 1280, height: 820 } });
  await signIn(page, server.adminToken);

  // The paused run: paused through the UI, so its toast shows.
  await page.goto(runUrl(paused.id));
  await page.getByRole('button', { name: 'Pause' }).click();
  await toast(page, 'Workflow run paused').waitFor();
  await page.getByRole('button', { name: 'Resume' }).waitFor();
  await page.locator('body').evaluate(() => document.activeElement?.blur());
  await page.screenshot({ path: path.join(OUT, 'run-paused.png') });

  await page.goto('/default/monitoring/workflow-runs');
  await page.locator(`tr[data-run-id="${done.id}"]`).waitFor();
  await page.screenshot({ path: path.join(OUT, 'runs-list.png') });

  await page.goto(runUrl(running.id));
  await page.getByRole('button', { name: 'Cancel' }).click();
  const dialog = page.getByRole('dialog', { name: 'Cancel workflow run?' });
  await dialog.getByLabel('Reason for cancellation (optional)').fill('Customer asked to stop');
  await page.screenshot({ path: path.join(OUT, 'cancel-dialog.png') });
  console.log(`wrote ${OUT}/{runs-list,run-paused,cancel-dialog}.png`);
} finally {
  await env.close();
}
