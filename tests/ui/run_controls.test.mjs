// Run controls in the browser: pause, resume and cancel a run with a step in flight,
// the cancel dialog, failures shown as toasts, a stale page, replay.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { blockingWorkflow, newPage, quickWorkflow, runUrl, setup, signIn, toast } from './harness.mjs';

let env;
let page;

before(async () => {
  env = await setup();
  page = await newPage(env.browser, env.server);
  await signIn(page, env.server.adminToken);
});

after(async () => {
  await env?.close();
});

// Starts a run whose first step stays in flight and opens its page.
async function openRunInFlight(name) {
  const url = env.target.hold(`/${name}`);
  await env.server.putWorkflow(blockingWorkflow(name, url));
  const started = await env.server.startRun(name, { customer: 'cus_42', amount: 1200 });
  const run = await env.server.waitStep(started.id, 'call', 'running');
  await page.goto(runUrl(run.id));
  await badge().filter({ hasText: 'Running' }).waitFor();
  return run;
}

function badge() {
  return page.locator('.run__title .badge');
}

function button(name) {
  return page.getByRole('group', { name: 'Run actions' }).getByRole('button', { name, exact: true });
}

test('pause shows the yellow badge with a pause icon, the toast and the Resume control', async () => {
  const run = await openRunInFlight('pause-me');
  assert.equal(await button('Resume').count(), 0);
  await button('Pause').click();

  await toast(page, 'Workflow run paused').waitFor();
  const paused = badge().filter({ hasText: 'Paused' });
  await paused.waitFor();
  assert.equal(await paused.getAttribute('data-status'), 'paused');
  assert.equal(await paused.locator('svg').count(), 1, 'the paused badge has an icon');
  const bg = await paused.evaluate((el) => getComputedStyle(el).backgroundColor);
  const [r, g, b] = bg.match(/\d+/g).map(Number);
  assert.ok(r > 200 && g > 180 && b < 170, `paused badge is yellow, got ${bg}`);

  await button('Resume').waitFor();
  assert.equal(await button('Pause').count(), 0, 'no Pause on a paused run');
  await button('Cancel').waitFor();
  await page.getByText('Paused by token:admin').waitFor();
  assert.equal((await env.server.getRun(run.id)).status, 'paused');

  // Resume returns it to running.
  await button('Resume').click();
  await toast(page, 'Workflow run resumed').waitFor();
  await badge().filter({ hasText: 'Running' }).waitFor();
  await button('Pause').waitFor();
  assert.equal((await env.server.getRun(run.id)).status, 'running');

  const running = await badge().evaluate((el) => getComputedStyle(el).backgroundColor);
  const [rr, rg, rb] = running.match(/\d+/g).map(Number);
  assert.ok(rb > 200 && rr < 230 && rb > rr, `running badge is blue, got ${running}`);
  env.target.release('/pause-me');
});

test('cancel through the dialog with a reason shows the reason and an outline badge', async () => {
  const run = await openRunInFlight('cancel-me');
  await button('Cancel').click();

  const dialog = page.getByRole('dialog', { name: 'Cancel workflow run?' });
  await dialog.waitFor();
  await dialog.getByText('This will cancel all pending and running steps. This action cannot be undone.').waitFor();
  const reason = dialog.getByLabel('Reason for cancellation (optional)');
  assert.ok(await reason.evaluate((el) => el === document.activeElement), 'the reason field has focus');
  await reason.fill('Customer asked to stop');
  await dialog.getByRole('button', { name: 'Cancel run' }).click();

  await toast(page, 'Workflow run cancelled').waitFor();
  await dialog.waitFor({ state: 'detached' });
  const cancelled = badge().filter({ hasText: 'Cancelled' });
  await cancelled.waitFor();
  const style = await cancelled.evaluate((el) => {
    const s = getComputedStyle(el);
    return { bg: s.backgroundColor, border: s.borderTopStyle, width: s.borderTopWidth };
  });
  assert.equal(style.bg, 'rgba(0, 0, 0, 0)', 'the cancelled badge is an outline');
  assert.equal(style.border, 'solid');

  await page.getByText('Cancelled by token:admin: Customer asked to stop').waitFor();
  const overview = page.getByRole('region', { name: 'Overview' });
  await overview.getByText('Customer asked to stop').waitFor();
  // The step in flight ended cancelled; the one after it stayed pending.
  const call = page.locator('[data-step="call"]');
  await call.getByText('workflow stopped by user').waitFor();
  assert.equal(await call.locator('.badge').getAttribute('data-status'), 'cancelled');
  assert.equal(await page.locator('[data-step="done"] .badge').getAttribute('data-status'), 'pending');
  // No controls but Replay and Refresh on a terminal run.
  for (const name of ['Pause', 'Resume', 'Cancel']) {
    assert.equal(await button(name).count(), 0, `no ${name} on a cancelled run`);
  }
  const stored = await env.server.getRun(run.id);
  assert.equal(stored.status, 'cancelled');
  assert.equal(stored.cancel.reason, 'Customer asked to stop');
});

test('the dialog keeps focus inside, and Escape keeps the run running', async () => {
  const run = await openRunInFlight('keep-me');
  await button('Cancel').click();
  const dialog = page.getByRole('dialog', { name: 'Cancel workflow run?' });
  await dialog.waitFor();

  const focused = () => page.evaluate(() => document.activeElement?.textContent?.trim() || document.activeElement?.id);
  const inside = () => page.evaluate(() => !!document.activeElement?.closest('dialog'));
  const seen = new Set();
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('Tab');
    assert.ok(await inside(), `focus left the dialog after ${i + 1} Tab presses`);
    seen.add(await focused());
  }
  assert.deepEqual([...seen].sort(), ['Cancel run', 'Keep running', 'cancel-reason']);
  await page.keyboard.press('Shift+Tab');
  assert.ok(await inside(), 'Shift+Tab stays inside');

  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await focused(), 'Cancel', 'focus returns to the Cancel button');
  assert.equal((await env.server.getRun(run.id)).status, 'running');

  // "Keep running" closes it too, without a request.
  await button('Cancel').click();
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Keep running' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await env.server.getRun(run.id)).status, 'running');
  env.target.release('/keep-me');
});

test('a stale page gets "State changed; please refresh" and reloads the run', async () => {
  const run = await openRunInFlight('stale');
  // Someone else pauses and resumes: the status is the same, the version is not.
  await env.server.ok('POST', `/api/v1/runs/${run.id}/pause`, {});
  await env.server.ok('POST', `/api/v1/runs/${run.id}/resume`, {});
  const seen = [];
  page.on('request', (req) => {
    if (req.url().endsWith(`/runs/${run.id}/pause`)) {
      seen.push(req.headers()['if-match']);
    }
  });
  const reloaded = page.waitForResponse(
    (r) => r.request().method() === 'GET' && new URL(r.url()).pathname === `/api/v1/runs/${run.id}`,
  );
  await button('Pause').click();
  await toast(page, 'State changed; please refresh').waitFor();
  assert.deepEqual(seen, [`"${run.version}"`], 'the control sent If-Match with the version on the page');
  await reloaded;
  assert.equal((await env.server.getRun(run.id)).status, 'running', 'the stale pause did nothing');

  // The page reloaded the run: the next click acts on the current version.
  const current = (await env.server.getRun(run.id)).version;
  await button('Pause').click();
  await badge().filter({ hasText: 'Paused' }).waitFor();
  assert.equal(seen[seen.length - 1], `"${current}"`);
  await toast(page, 'Workflow run paused').waitFor();
  env.target.release('/stale');
});

test('a failed control shows "Failed to ... workflow run" with the server message', async () => {
  const run = await openRunInFlight('fails');
  await page.route(`**/api/v1/runs/${run.id}/pause`, (route) =>
    route.fulfill({
      status: 503,
      contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'unavailable', message: 'The store is read-only' } }),
    }),
  );
  await button('Pause').click();
  const failed = toast(page, 'Failed to pause workflow run');
  await failed.waitFor();
  await failed.getByText('The store is read-only').waitFor();
  assert.equal(await failed.getAttribute('role'), 'alert');
  await page.unroute(`**/api/v1/runs/${run.id}/pause`);
  await badge().filter({ hasText: 'Running' }).waitFor();
  env.target.release('/fails');
});

test('replay of a finished run opens the new run', async () => {
  await env.server.putWorkflow(quickWorkflow('quick'));
  const run = await env.server.startRun('quick', { n: 1 });
  await env.server.waitRun(run.id, (r) => r.status === 'completed', 'completed');
  await page.goto(runUrl(run.id));
  await badge().filter({ hasText: 'Completed' }).waitFor();
  await page.getByRole('region', { name: 'Output' }).getByText('"ok": true').waitFor();
  await page.getByRole('region', { name: 'Trigger payload' }).getByText('"n": 1').waitFor();

  await button('Replay').click();
  await page.waitForURL((u) => u.pathname.startsWith('/default/monitoring/workflow-runs/') && !u.pathname.endsWith(run.id));
  const newId = page.url().split('/').pop();
  await page.getByRole('region', { name: 'Overview' }).getByRole('link', { name: run.id }).waitFor();
  assert.equal((await env.server.getRun(newId)).replay_of, run.id);
  assert.deepEqual(page.foreignRequests, [], 'no request left the machine');
  assert.deepEqual(page.pageErrors, []);
});
