// Writes docs/screenshots/*.png from a real server and Chromium: `make screenshots` (or
// `npm run screenshots` in web/). The runs list (and two of its runs ticked), a paused
// run, the cancel dialog, the approvals inbox, a run awaiting approval, a form with a field error, the bell open;
// then workflows paused for safety (throughput on the workflow's page, spend on a run's
// page) and the billing page near its cap; then, with connections in error (so the red banner shows on those alone), the banner,
// the connections page, a connection's page and a run held for reauth; then, on a server
// of its own with a fake clock (so a tick fires when the script says), the schedules, a
// schedule's page, its Edit form, and the New schedule form with the server's error at
// the cron field.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, newPage, runUrl, setup, signIn, toast, waitFor as waitUntil } from './harness.mjs';

const OUT = path.join(REPO_ROOT, 'docs', 'screenshots');

const env = await setup({ oauth: true });
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
  await server.putWorkflow({ id: 'wire-transfer', kind: 'workflow', steps: [
    { id: 'approve', type: 'approval', with: { message: 'Wire ${{ input.amount }} EUR to ${{ input.payee }}?', reversibility: 'irreversible', required: 2, expires_in: '4h' } },
    { id: 'wire', type: 'noop', with: { value: { sent: true } } },
  ] });
  await server.putWorkflow({ id: 'deploy', kind: 'workflow', steps: [
    { id: 'gate', type: 'approval', with: { message: 'Deploy ${{ input.version }} to production?', on_timeout: 'escalate', escalate_to: { role: 'admin' } } },
  ] });
  await server.putWorkflow({ id: 'new-customer', kind: 'workflow', steps: [
    { id: 'details', type: 'form', with: { message: 'Tell us about the new customer', schema: {
      type: 'object',
      required: ['company', 'seats'],
      properties: {
        company: { type: 'string', title: 'Company' },
        seats: { type: 'integer', title: 'Seats', minimum: 1 },
        plan: { type: 'string', title: 'Plan', enum: ['starter', 'team', 'enterprise'] },
        invoice: { type: 'boolean', title: 'Pay by invoice', description: 'Otherwise by card' },
      },
    } } },
  ] });
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

  const waitFor = (run, kind) => server.waitRun(run.id, (r) => r.status === 'waiting' && r.wait?.kind === kind, kind);
  const wire = await waitFor(await start('wire-transfer', { amount: '48,000', payee: 'Northwind GmbH' }), 'approval');
  await server.ok('POST', `/api/v1/approvals/${wire.wait.approval_id}/decision`, { decision: 'approve', comment: 'Matches PO-1182' });
  await waitFor(await start('deploy', { version: 'v2.14.0' }), 'approval');
  const denied = await waitFor(await start('deploy', { version: 'v2.13.9' }), 'approval');
  await server.ok('POST', `/api/v1/approvals/${denied.wait.approval_id}/decision`, { decision: 'deny', comment: 'Freeze until Monday' });
  const form = await waitFor(await start('new-customer', {}), 'form');

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
  for (const run of [failed, waiting]) {
    await page.getByRole('checkbox', { name: `Select ${run.id}` }).check();
  }
  await page.getByRole('group', { name: 'Bulk actions' }).getByText('2 runs selected:').waitFor();
  await page.locator('body').evaluate(() => document.activeElement?.blur());
  await page.screenshot({ path: path.join(OUT, 'runs-selected.png') });

  await page.goto(runUrl(running.id));
  await page.getByRole('button', { name: 'Cancel' }).click();
  const dialog = page.getByRole('dialog', { name: 'Cancel workflow run?' });
  await dialog.getByLabel('Reason for cancellation (optional)').fill('Customer asked to stop');
  await page.screenshot({ path: path.join(OUT, 'cancel-dialog.png') });
  await page.keyboard.press('Escape');

  await page.goto('/default/monitoring/approvals');
  await page.locator(`li[data-approval-id="${wire.wait.approval_id}"]`).getByText('1 of 2 approvals').waitFor();
  await page.screenshot({ path: path.join(OUT, 'approvals-inbox.png'), fullPage: true });

  await page.goto(runUrl(wire.id));
  await page.getByRole('link', { name: 'Awaiting approval' }).waitFor();
  await page.screenshot({ path: path.join(OUT, 'run-awaiting-approval.png') });

  await page.goto(runUrl(form.id));
  const formRegion = page.getByRole('region', { name: 'Form' });
  await formRegion.getByLabel('Company').fill('Northwind GmbH');
  await formRegion.getByLabel('Seats').fill('0');
  await formRegion.getByLabel('Plan').selectOption('team');
  await formRegion.getByRole('button', { name: 'Submit' }).click();
  await formRegion.locator('.field-error').first().waitFor();
  await page.locator('body').evaluate(() => document.activeElement?.blur());
  await page.screenshot({ path: path.join(OUT, 'run-form.png') });

  await page.goto('/default/monitoring/approvals');
  await page.getByRole('button', { name: /^Notifications, \d+ unread/ }).click();
  await page.getByRole('region', { name: 'Notifications' }).locator('li').first().waitFor();
  await page.screenshot({ path: path.join(OUT, 'notifications.png') });
  await page.keyboard.press('Escape');

  await safetyScreenshots(env, page);
  await reauthScreenshots(env, page);
} finally {
  await env.close();
}
await scheduleScreenshots();
console.log(`wrote ${OUT}/*.png`);

// A runaway loop held by its throughput limit (the workflow's page); a run held by the
// spend cap (its page); the cap raised so the spend sits at the soft threshold (billing).
async function safetyScreenshots({ server }, page) {
  const noop = (id) => ({ id, type: 'noop', with: { value: { ok: true } } });
  await server.putWorkflow({ id: 'poll-inbox', kind: 'workflow', limits: { max_steps_per_minute: 5 }, steps: [
    { id: 'poll', type: 'loop', with: { max_iterations: 1000 }, steps: [noop('check')] },
  ] });
  await server.startRun('poll-inbox', {});
  const status = async () => (await server.ok('GET', '/api/v1/workflows/poll-inbox')).status;
  await waitUntil(async () => (await status()) === 'paused_safety', { desc: 'poll-inbox paused for safety' });
  await page.goto('/default/workflows/poll-inbox');
  await page.getByRole('region', { name: 'Workflow paused for safety' }).waitFor();
  await page.screenshot({ path: path.join(OUT, 'workflow-safety.png') });

  await server.ok('PUT', '/api/v1/billing', { spend_cap: 0.05, prices: { default: 0.01, http: 0.002 } });
  await server.putWorkflow({ id: 'enrich-leads', kind: 'workflow', steps: ['a', 'b', 'c', 'd', 'e', 'f'].map(noop) });
  const held = await server.startRun('enrich-leads', { list: 'q4-webinar' });
  await server.waitRun(held.id, (r) => r.workflow_safety?.reason === 'spend_cap', 'held by the spend cap');
  await page.goto(runUrl(held.id));
  await page.getByRole('region', { name: 'Spend cap' }).waitFor();
  await page.screenshot({ path: path.join(OUT, 'run-spend-cap.png') });

  await server.ok('PUT', '/api/v1/billing', { spend_cap: 0.075 });
  await server.waitRun(held.id, (r) => r.status === 'completed', 'completed');
  await page.goto('/default/billing');
  await page.getByRole('meter', { name: 'Spend against the cap' }).waitFor();
  await page.screenshot({ path: path.join(OUT, 'billing.png'), fullPage: true });
}

// Connections in error, one of them holding a run: the banner (four in error, so three
// rows and the line to the bell), the connections page, the connection, the held run.
async function reauthScreenshots({ server, provider }, page) {
  const create = async (name, app, working) =>
    server.ok('POST', '/api/v1/connections', await provider.connection(name, app, { working }));
  await create('calendar', 'google', true);
  const crm = await create('crm', 'hubspot', false);
  for (const [name, app] of [['team-chat', 'slack'], ['source', 'github'], ['payments', 'stripe']]) {
    const broken = await create(name, app, false);
    await server.api('POST', `/api/v1/connections/${broken.id}/refresh`, {});
  }
  await server.putWorkflow({ id: 'sync-contacts', kind: 'workflow', steps: [
    { id: 'fetch', type: 'http', with: { method: 'GET', url: provider.apiUrl('contacts'), connection: 'crm' } },
    { id: 'store', type: 'noop', with: { value: { stored: true } } },
  ] });
  const held = await server.startRun('sync-contacts', { since: '2026-11-01' });
  await server.waitRun(held.id, (r) => r.status === 'paused' && r.pause?.reason === 'reauth', 'paused for reauth');

  await page.goto('/default/monitoring/workflow-runs');
  await page.locator('.reauth-banner').getByText('4 connections need to be reauthorized').waitFor();
  await page.locator(`tr[data-run-id="${held.id}"]`).waitFor();
  await page.screenshot({ path: path.join(OUT, 'reauth-banner.png') });

  await page.goto('/default/connections');
  await page.locator(`tr[data-connection-id="${crm.id}"]`).waitFor();
  await page.screenshot({ path: path.join(OUT, 'connections.png'), fullPage: true });

  await page.goto(`/default/connections/${crm.id}`);
  await page.getByRole('region', { name: 'Runs it holds' }).locator(`tr[data-run-id="${held.id}"]`).waitFor();
  await page.screenshot({ path: path.join(OUT, 'connection.png'), fullPage: true });

  await page.goto(runUrl(held.id));
  await page.locator('.reauth-hold').getByRole('link', { name: 'crm' }).waitFor();
  await page.screenshot({ path: path.join(OUT, 'run-held-reauth.png'), fullPage: true });
}

// Four schedules (one paused, one that has fired), a schedule's next five fire times, and
// the New schedule form refusing a cron field out of range.
async function scheduleScreenshots() {
  const env = await setup({ fakeClock: true });
  try {
    const { server } = env;
    const noop = (id) => ({ id, kind: 'workflow', steps: [{ id: 'run', type: 'noop', with: { value: { ok: true } } }] });
    for (const id of ['nightly-report', 'sync-crm', 'rotate-keys', 'digest-email']) {
      await server.putWorkflow(noop(id));
    }
    const create = (body) => server.ok('POST', '/api/v1/schedules', body);
    await create({ workflow_id: 'rotate-keys', cron: '0 3 1 * *', timezone: 'UTC', catch_up: 'none' });
    const paused = await create({ workflow_id: 'digest-email', cron: '0 8 * * MON', timezone: 'America/New_York' });
    await server.ok('POST', `/api/v1/schedules/${paused.id}/pause`, {});
    const fired = await create({ workflow_id: 'sync-crm', cron: '*/15 * * * *', timezone: 'UTC', overlap: 'cancel_previous' });
    // The server's clock is 15 minutes ahead now: the page's clock goes with it, so the
    // tick fired reads as past.
    const { now } = await server.advanceClock(15 * 60_000);
    await waitUntil(async () => (await server.ok('GET', `/api/v1/schedules/${fired.id}`)).last_run_id, { desc: 'sync-crm to fire' });
    const nightly = await create({
      workflow_id: 'nightly-report',
      cron: '30 2 * * MON-FRI',
      timezone: 'Europe/Berlin',
      input: { region: 'eu', format: 'pdf' },
      catch_up: 'all',
      max_catch_up: 3,
    });

    const page = await newPage(env.browser, server, { viewport: { width: 1280, height: 720 } });
    await page.clock.setSystemTime(new Date(now));
    await signIn(page, server.adminToken);
    await page.goto('/default/schedules');
    await page.locator(`tr[data-schedule-id="${fired.id}"] td`).nth(6).getByRole('link').waitFor();
    await page.screenshot({ path: path.join(OUT, 'schedules.png') });

    await page.goto(`/default/schedules/${nightly.id}`);
    await page.getByRole('region', { name: 'Next fire times' }).locator('li').nth(4).waitFor();
    await page.screenshot({ path: path.join(OUT, 'schedule.png'), fullPage: true });
    await page.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit schedule' });
    await edit.getByLabel('Cron').fill('0 6 * * MON-FRI');
    await page.screenshot({ path: path.join(OUT, 'schedule-edit.png') });
    await page.keyboard.press('Escape');

    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto('/default/schedules?new=nightly-report');
    const dialog = page.getByRole('dialog', { name: 'New schedule' });
    await dialog.getByLabel('Workflow').locator('option', { hasText: 'nightly-report' }).waitFor({ state: 'attached' });
    await dialog.getByLabel('Cron').fill('30 25 * * MON-FRI');
    await dialog.getByLabel('Time zone').fill('Europe/Berlin');
    await dialog.getByLabel('Input (JSON)').fill('{"region": "eu"}');
    await dialog.getByRole('button', { name: 'Create schedule' }).click();
    await dialog.locator('#schedule-cron-error').waitFor();
    await page.screenshot({ path: path.join(OUT, 'schedule-new.png') });
  } finally {
    await env.close();
  }
}
