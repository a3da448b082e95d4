// Workflows paused for safety and the workspace's spend, as an operator sees them: the
// Paused (safety) badge with its warning triangle in the list (the reason on hover), the
// yellow banner on the workflow's page and on its runs' pages for both reasons, Resume
// workflow for a throughput hold (admins only) and Adjust cap for a spend hold (no
// resume), the near-cap notice in the run viewer and the top bar (loaded once per page,
// not per poll), and the billing page: spend against the cap with its bar, the period,
// the prices, an admin's edits (the server's 400 beside its field; raising the cap
// releases a spend-held workflow) and a viewer's read-only view.
//
// The tests run in order on one server: billing is the workspace's, so each test starts
// from the spend the previous ones left (every price is 0 until the near-cap test).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { blockingWorkflow, newPage, runUrl, setup, signIn, toast, waitFor } from './harness.mjs';

const THROUGHPUT = 'tripped the throughput cap (likely a loop or polling misconfig)';
const SPEND =
  'This workflow paused because the account spend cap was reached. Dispatch resumes after the cap is raised or the billing period rolls over.';
const POLL_MS = 10_000;

let env;
let viewerToken;

before(async () => {
  env = await setup();
  viewerToken = await env.server.createToken('viewer', 'ui-viewer');
});

after(async () => {
  await env?.close();
});

function noops(id, count, extra = {}) {
  const steps = Array.from({ length: count }, (_, i) => ({ id: `n${i + 1}`, type: 'noop', with: { value: i + 1 } }));
  return { id, kind: 'workflow', steps, ...extra };
}

// A loop of `iterations` noops under a limit of 5 steps a minute: it trips on the 6th.
function runaway(id, iterations) {
  return {
    id,
    kind: 'workflow',
    limits: { max_steps_per_minute: 5 },
    steps: [{ id: 'l', type: 'loop', with: { max_iterations: iterations }, steps: [{ id: 'n', type: 'noop', with: { value: 1 } }] }],
  };
}

async function pageAs(token) {
  const page = await newPage(env.browser, env.server);
  await signIn(page, token);
  return page;
}

function workflow(id) {
  return env.server.ok('GET', `/api/v1/workflows/${id}`);
}

function waitWorkflow(id, status) {
  return waitFor(async () => ((await workflow(id)).status === status ? true : null), { desc: `${id} ${status}` });
}

function billing() {
  return env.server.ok('GET', '/api/v1/billing');
}

// GET /api/v1/billing requests the page makes.
function countBillingRequests(page) {
  const counter = { count: 0 };
  page.on('request', (req) => {
    if (req.method() === 'GET' && new URL(req.url()).pathname === '/api/v1/billing') {
      counter.count++;
    }
  });
  return counter;
}

const banner = (page) => page.getByRole('region', { name: 'Workflow paused for safety' });
const spendNotice = (page) => page.getByRole('region', { name: 'Spend cap' });

test('a throughput hold: the triangle in the list, the banner on the workflow and its run, Resume workflow clears it', async () => {
  await env.server.putWorkflow(runaway('runaway', 8));
  await env.server.putWorkflow(noops('calm', 1));
  await env.server.putWorkflow(noops('switched-off', 1));
  await env.server.ok('POST', '/api/v1/workflows/switched-off/status', { status: 'disabled' });
  const run = await env.server.startRun('runaway');
  await waitWorkflow('runaway', 'paused_safety');

  const page = await pageAs(env.server.adminToken);
  await page.goto('/default/workflows');
  const badgeOf = (wf) => page.getByRole('row').filter({ has: page.getByRole('link', { name: wf, exact: true }) }).locator('.badge');
  const held = badgeOf('runaway');
  await held.waitFor();
  assert.equal(await held.innerText(), 'Paused (safety)');
  assert.equal(await held.locator('svg path').getAttribute('d'), 'M8 2l6.5 11.5h-13zM8 6.5v3M8 11.6v.1', 'the warning triangle');
  assert.equal(await held.getAttribute('title'), `Throughput cap: ${THROUGHPUT}`);
  assert.equal(await held.getAttribute('aria-label'), `Paused (safety): Throughput cap: ${THROUGHPUT}`);
  // Disabled is its own badge: no triangle, no yellow, no reason.
  const disabled = badgeOf('switched-off');
  assert.equal(await disabled.innerText(), 'Disabled');
  assert.equal(await disabled.getAttribute('data-status'), 'disabled');
  assert.notEqual(await disabled.locator('svg path, svg rect').first().getAttribute('d'), 'M8 2l6.5 11.5h-13zM8 6.5v3M8 11.6v.1');
  assert.equal(await disabled.getAttribute('title'), null);
  assert.equal(await badgeOf('calm').innerText(), 'Active');

  await page.getByRole('link', { name: 'runaway', exact: true }).click();
  await banner(page).waitFor();
  assert.match(await banner(page).innerText(), new RegExp(`Paused for safety: ${THROUGHPUT.replace(/[()]/g, '\\$&')}`));
  assert.equal(await banner(page).getByRole('link', { name: 'Adjust cap' }).count(), 0);
  assert.equal(await banner(page).getByRole('button', { name: 'Resume workflow' }).count(), 1);

  // The run's page: the same banner, naming the workflow.
  await page.goto(runUrl(run.id));
  await banner(page).waitFor();
  assert.match(await banner(page).innerText(), /Paused for safety: tripped the throughput cap/);
  assert.match(await banner(page).innerText(), /no step of this run starts until the hold is cleared/);
  await banner(page).getByRole('link', { name: 'runaway' }).waitFor();
  // No cap is set: no spend notice.
  assert.equal((await billing()).near_cap, false);
  assert.equal(await spendNotice(page).count(), 0);
  assert.equal(await page.locator('.spend-chip').count(), 0);

  // A viewer reads the banner without the button.
  const viewer = await pageAs(viewerToken);
  await viewer.goto(runUrl(run.id));
  await banner(viewer).waitFor();
  assert.equal(await banner(viewer).getByRole('button').count(), 0);
  assert.match(await banner(viewer).innerText(), /an admin resumes the workflow/);
  await viewer.context().close();

  // Resume from the run's page: the hold clears, the fresh window runs the last 3 noops.
  await banner(page).getByRole('button', { name: 'Resume workflow' }).click();
  await toast(page, 'Workflow resumed').waitFor();
  await banner(page).waitFor({ state: 'detached' });
  await env.server.waitRun(run.id, (r) => r.status === 'completed', 'completed');
  assert.equal((await workflow('runaway')).status, 'active');
  await page.goto('/default/workflows');
  assert.equal(await badgeOf('runaway').innerText(), 'Active');
  assert.deepEqual(page.pageErrors, []);
  await page.context().close();
});

test('near the cap: the run viewer and the top bar say so, billing is loaded once per page', async () => {
  await env.server.ok('PUT', '/api/v1/billing', { spend_cap: 0.01, prices: { default: 0.001 } });
  const page = await pageAs(env.server.adminToken);
  // Under the threshold: nothing.
  await page.goto('/default/workflows');
  await page.getByRole('heading', { name: 'Workflows' }).waitFor();
  assert.equal(await page.locator('.spend-chip').count(), 0);

  const held = env.target.hold('/near');
  await env.server.putWorkflow(blockingWorkflow('near-blocking', held));
  await env.server.putWorkflow(noops('near-noops', 7));
  const blocking = await env.server.startRun('near-blocking');
  const seven = await env.server.startRun('near-noops');
  await env.server.waitStep(blocking.id, 'call', 'running');
  await env.server.waitRun(seven.id, (r) => r.status === 'completed', 'completed');
  const b = await billing();
  assert.equal(b.spend, 0.008);
  assert.equal(b.near_cap, true);
  assert.equal(b.capped, false);

  // The running run polls every 10 s (Playwright's clock); billing is not reloaded.
  await page.clock.install();
  const billingRequests = countBillingRequests(page);
  let runRequests = 0;
  page.on('request', (req) => {
    if (req.method() === 'GET' && new URL(req.url()).pathname === `/api/v1/runs/${blocking.id}`) {
      runRequests++;
    }
  });
  await page.goto(runUrl(blocking.id));
  await spendNotice(page).waitFor();
  assert.equal(await spendNotice(page).getAttribute('data-stage'), 'near');
  assert.match(await spendNotice(page).innerText(), /Spend is near the cap: 0\.008 USD of the 0\.01 USD cap spent this period/);
  const chip = page.locator('.spend-chip');
  assert.equal(await chip.innerText(), 'Near spend cap');
  assert.equal(await chip.getAttribute('href'), '/default/billing');
  await page.locator('section.run[aria-busy="false"]').waitFor();
  const before = runRequests;
  for (let i = 1; i <= 3; i++) {
    await page.clock.runFor(POLL_MS);
    await waitFor(() => runRequests >= before + i, { desc: `poll ${i}` });
    await page.locator('section.run[aria-busy="false"]').waitFor();
  }
  assert.equal(billingRequests.count, 1, 'one billing load for the page, none per poll');

  // Another page of the app loads it once more (and only once).
  await page.locator('nav[aria-label="Main"]').getByRole('link', { name: 'Billing' }).click();
  await page.getByRole('heading', { name: 'Billing', exact: true }).waitFor();
  await waitFor(() => billingRequests.count === 2, { desc: 'billing loaded for the billing page' });
  assert.equal(await page.locator('.spend-bar').getAttribute('data-stage'), 'near');
  await env.server.ok('POST', `/api/v1/runs/${blocking.id}/cancel`, { reason: 'done with it' });
  await page.context().close();
});

test('a spend hold: the banner with Adjust cap and no resume; the billing page; an admin raises the cap and the workflow goes on', async () => {
  // Spend is 0.008: a cap of 0.009 leaves room for one more attempt.
  await env.server.ok('PUT', '/api/v1/billing', { spend_cap: 0.009 });
  await env.server.putWorkflow(noops('spendy', 3));
  const run = await env.server.startRun('spendy');
  await waitWorkflow('spendy', 'paused_safety');
  assert.equal((await workflow('spendy')).safety.reason, 'spend_cap');
  const b = await billing();
  assert.equal(b.spend, 0.009);
  assert.equal(b.capped, true);

  const page = await pageAs(env.server.adminToken);
  await page.goto('/default/workflows');
  const badge = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'spendy', exact: true }) }).locator('.badge');
  assert.equal(await badge.getAttribute('title'), `Spend cap: ${SPEND}`);

  await page.goto('/default/workflows/spendy');
  await banner(page).waitFor();
  assert.match(await banner(page).innerText(), /Paused for safety: This workflow paused because the account spend cap was reached\./);
  assert.equal(await banner(page).getByRole('button', { name: 'Resume workflow' }).count(), 0, 'no resume for spend');
  assert.equal(await page.locator('.spend-chip').innerText(), 'Spend cap reached');

  await page.goto(runUrl(run.id));
  await banner(page).waitFor();
  assert.equal(await banner(page).getByRole('button').count(), 0);
  assert.equal(await spendNotice(page).getAttribute('data-stage'), 'capped');
  assert.match(await spendNotice(page).innerText(), /Spend cap reached:/);

  // Adjust cap leads to the billing page: spend, cap, a red bar, period, prices.
  await banner(page).getByRole('link', { name: 'Adjust cap' }).click();
  await page.waitForURL('**/default/billing');
  await page.getByRole('heading', { name: 'Billing', exact: true }).waitFor();
  assert.equal(await page.getByTestId('spend').innerText(), '0.009 USD');
  assert.equal(await page.getByTestId('spend-cap').innerText(), '0.009 USD');
  const bar = page.getByRole('meter', { name: 'Spend against the cap' });
  assert.equal(await bar.getAttribute('data-stage'), 'capped');
  assert.equal(await bar.getAttribute('aria-valuetext'), '0.009 USD of 0.009 USD (100%)');
  const periodEnd = new Date(b.period_end);
  const overview = await page.locator('.billing .meta').innerText();
  assert.match(overview, new RegExp(`Period end\\s+${periodEnd.toLocaleString('en', { month: 'short', timeZone: 'UTC' })} 1, ${periodEnd.getUTCFullYear()}`));
  assert.match(overview, /Soft threshold\s+80% of the cap \(0\.8\)/);
  const defaultPrice = page.locator('.prices-table tr[data-step-type="default"]');
  assert.match(await defaultPrice.innerText(), /default \(any other type\)\s+0\.001 USD/);

  // The server's 400 beside the field it names; nothing changed.
  await page.getByLabel('Soft threshold').fill('1.5');
  await page.getByRole('button', { name: 'Save' }).click();
  await toast(page, 'Failed to save billing').waitFor();
  const thresholdError = page.locator('[data-field="billing-threshold"] .field-error');
  await thresholdError.waitFor();
  assert.ok((await thresholdError.innerText()).length > 0);
  assert.equal(await page.getByLabel('Soft threshold').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('[data-field="billing-cap"] .field-error').count(), 0);
  assert.equal((await billing()).soft_threshold, 0.8);

  // Raising the cap releases the workflow; the run goes on by itself.
  await page.getByLabel('Soft threshold').fill('0.8');
  await page.getByLabel('Spend cap').fill('1');
  await page.getByLabel('Add a step type').fill('http');
  await page.getByLabel('Its price').fill('0.0025');
  await page.getByRole('button', { name: 'Save' }).click();
  await toast(page, 'Billing saved').waitFor();
  assert.equal(await page.getByTestId('spend-cap').innerText(), '1 USD');
  await page.locator('.prices-table tr[data-step-type="http"]', { hasText: '0.0025 USD' }).waitFor();
  assert.equal(await page.getByRole('meter').getAttribute('data-stage'), 'ok');
  await page.locator('.spend-chip').waitFor({ state: 'detached' });
  await waitWorkflow('spendy', 'active');
  await env.server.waitRun(run.id, (r) => r.status === 'completed', 'completed');
  const after = await billing();
  assert.equal(after.spend_cap, 1);
  assert.equal(after.prices.http, 0.0025);
  assert.equal(after.capped, false);

  // An empty cap is no cap.
  await page.getByLabel('Spend cap').fill('');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('no spend cap').waitFor();
  assert.equal((await billing()).spend_cap, null);
  assert.equal(await page.getByRole('meter').count(), 0);
  assert.deepEqual(page.pageErrors, []);
  await page.context().close();
});

test('a viewer reads the billing page and cannot edit it', async () => {
  const page = await pageAs(viewerToken);
  await page.locator('nav[aria-label="Main"]').getByRole('link', { name: 'Billing' }).click();
  await page.getByRole('heading', { name: 'Billing', exact: true }).waitFor();
  await page.getByTestId('spend').waitFor();
  await page.getByRole('region', { name: 'Prices' }).waitFor();
  assert.equal(await page.getByRole('textbox').count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Save' }).count(), 0);
  await page.getByText('Only an admin can change the spend cap and the prices.').waitFor();
  await page.context().close();
});
