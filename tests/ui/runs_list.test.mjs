// The runs list: badges per status, status chips (with Paused for reauth), the
// workflow filter, search by run id, cursor pages, relative times, live updates, and
// a phone-width layout.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { blockingWorkflow, newPage, quickWorkflow, runUrl, setup, signIn, waitFor } from './harness.mjs';

const LIST = '/default/monitoring/workflow-runs';
let env;
let page;
const runs = {};

before(async () => {
  env = await setup();
  const { server, target } = env;
  await server.putWorkflow(quickWorkflow('list-quick'));
  await server.putWorkflow(blockingWorkflow('list-slow', target.hold('/list-slow')));
  await server.putWorkflow({ id: 'list-fail', kind: 'workflow', steps: [{ id: 'boom', type: 'fail', with: { message: 'card declined' } }] });
  await server.putWorkflow({ id: 'list-sleep', kind: 'workflow', steps: [{ id: 'nap', type: 'sleep', with: { duration: '1h' } }] });

  runs.completed = (await server.startRun('list-quick')).id;
  runs.failed = (await server.startRun('list-fail')).id;
  runs.waiting = (await server.startRun('list-sleep')).id;
  runs.running = (await server.startRun('list-slow')).id;
  runs.paused = (await server.startRun('list-slow')).id;
  runs.cancelled = (await server.startRun('list-slow')).id;
  await server.waitRun(runs.completed, (r) => r.status === 'completed', 'completed');
  await server.waitRun(runs.failed, (r) => r.status === 'failed', 'failed');
  await server.waitRun(runs.waiting, (r) => r.status === 'waiting', 'waiting');
  for (const id of [runs.running, runs.paused, runs.cancelled]) {
    await server.waitStep(id, 'call', 'running');
  }
  await server.ok('POST', `/api/v1/runs/${runs.paused}/pause`, {});
  await server.ok('POST', `/api/v1/runs/${runs.cancelled}/cancel`, { reason: 'test' });

  page = await newPage(env.browser, env.server);
  await signIn(page, server.adminToken);
});

after(async () => {
  await env?.close();
});

function rows() {
  return page.locator('tbody tr[data-run-id]');
}

async function shownIds() {
  return rows().evaluateAll((trs) => trs.map((tr) => tr.dataset.runId));
}

async function waitShown(expected, desc) {
  const want = [...expected].sort().join(',');
  await waitFor(async () => (await shownIds()).sort().join(',') === want, { desc });
}

test('every status has its own badge; the Run ID opens the detail', async () => {
  await page.goto(LIST);
  await waitShown(Object.values(runs), 'all six runs');
  // Newest first.
  assert.deepEqual(await shownIds(), [runs.cancelled, runs.paused, runs.running, runs.waiting, runs.failed, runs.completed]);
  const looks = {};
  for (const [status, id] of Object.entries(runs)) {
    const badge = page.locator(`tr[data-run-id="${id}"] .badge`);
    assert.equal(await badge.getAttribute('data-status'), status);
    looks[status] = await badge.evaluate((el) => {
      const s = getComputedStyle(el);
      return `${s.backgroundColor}|${s.borderTopColor}|${s.color}`;
    });
  }
  assert.equal(new Set(Object.values(looks)).size, 6, `distinct badges: ${JSON.stringify(looks)}`);
  assert.equal(await page.locator(`tr[data-run-id="${runs.paused}"] .badge svg`).count(), 1);

  // Relative time, exact time on hover.
  const time = page.locator(`tr[data-run-id="${runs.completed}"] time`);
  assert.match(await time.innerText(), /just now|seconds? ago|minutes? ago/);
  assert.match(await time.getAttribute('title'), /\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\)/);

  await page.getByRole('link', { name: runs.waiting }).click();
  await page.waitForURL(`**${runUrl(runs.waiting)}`);
  await page.getByText('Waiting for a timer').first().waitFor();
  await page.locator('[data-step="nap"]').getByText('Waits for a timer').waitFor();
});

test('status chips filter, including Paused for reauth', async () => {
  await page.goto(LIST);
  await waitShown(Object.values(runs), 'all runs');
  const chips = page.getByRole('group', { name: 'Filter by status' });
  const listRequest = () => page.waitForRequest((r) => new URL(r.url()).pathname === '/api/v1/runs');

  await chips.getByRole('button', { name: 'Paused', exact: true }).click();
  await waitShown([runs.paused], 'only the paused run');
  assert.equal(await chips.getByRole('button', { name: 'Paused', exact: true }).getAttribute('aria-pressed'), 'true');
  assert.match(page.url(), /status=paused/);

  const reauth = listRequest();
  await chips.getByRole('button', { name: 'Paused for reauth' }).click();
  const sent = new URL((await reauth).url()).searchParams;
  assert.equal(sent.get('status'), 'paused');
  assert.equal(sent.get('pause_reason'), 'reauth');
  await page.getByText('No workflow runs match these filters.').waitFor();
  assert.equal(await rows().count(), 0);

  await chips.getByRole('button', { name: 'Failed' }).click();
  await waitShown([runs.failed], 'only the failed run');
  await chips.getByRole('button', { name: 'All' }).click();
  await waitShown(Object.values(runs), 'all runs again');
});

test('the chips work from the keyboard, with a visible focus', async () => {
  await page.goto(LIST);
  await waitShown(Object.values(runs), 'all runs');
  const chips = page.getByRole('group', { name: 'Filter by status' });
  await chips.getByRole('button', { name: 'All' }).focus();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => {
    const el = document.activeElement;
    const s = getComputedStyle(el);
    return { text: el.textContent, outline: s.outlineStyle, width: s.outlineWidth };
  });
  assert.deepEqual(focused, { text: 'Running', outline: 'solid', width: '3px' });
  await page.keyboard.press('Enter');
  await waitShown([runs.running], 'only the running run');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Space');
  await waitShown(Object.values(runs), 'all runs again');
});

test('workflow filter and search by run id', async () => {
  await page.goto(LIST);
  await waitShown(Object.values(runs), 'all runs');
  await page.getByLabel('Workflow', { exact: true }).selectOption('list-slow');
  await waitShown([runs.running, runs.paused, runs.cancelled], 'the runs of list-slow');
  await page.getByLabel('Workflow', { exact: true }).selectOption('');
  await waitShown(Object.values(runs), 'all runs');

  await page.getByLabel('Search by run ID').fill(runs.failed.slice(-10));
  await waitShown([runs.failed], 'the run found by its id');
  assert.match(page.url(), /q=/);
  await page.getByLabel('Search by run ID').fill('');
  await waitShown(Object.values(runs), 'all runs');
});

test('cursor pages: older and newer', async () => {
  await page.goto(`${LIST}?limit=4`);
  const newest = [runs.cancelled, runs.paused, runs.running, runs.waiting];
  await waitShown(newest, 'the first page');
  await page.getByRole('button', { name: 'Older →' }).click();
  await waitShown([runs.failed, runs.completed], 'the second page');
  assert.equal(await page.getByRole('button', { name: 'Older →' }).count(), 0);
  await page.getByRole('button', { name: '← Newer' }).click();
  await waitShown(newest, 'the first page again');
});

test('the list updates itself every 10 s', async () => {
  const live = await newPage(env.browser, env.server);
  await signIn(live, env.server.adminToken);
  await live.clock.install();
  await live.goto(LIST);
  await live.locator(`tr[data-run-id="${runs.completed}"]`).waitFor();
  const fresh = (await env.server.startRun('list-quick')).id;
  await env.server.waitRun(fresh, (r) => r.status === 'completed', 'completed');
  assert.equal(await live.locator(`tr[data-run-id="${fresh}"]`).count(), 0);
  await live.clock.runFor(10_000);
  await live.locator(`tr[data-run-id="${fresh}"] .badge[data-status="completed"]`).waitFor();
  await live.context().close();
});

test('works at a phone width', async () => {
  const phone = await newPage(env.browser, env.server, { viewport: { width: 390, height: 844 } });
  await signIn(phone, env.server.adminToken);
  const fits = () => phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  await phone.locator(`tr[data-run-id="${runs.paused}"]`).waitFor();
  assert.ok(await fits(), 'the list fits the width');
  await phone.getByRole('link', { name: runs.paused }).click();
  await phone.getByRole('button', { name: 'Resume' }).waitFor();
  assert.ok(await fits(), 'the run page fits the width');
  await phone.getByRole('button', { name: 'Cancel' }).click();
  const dialog = phone.getByRole('dialog', { name: 'Cancel workflow run?' });
  await dialog.getByRole('button', { name: 'Keep running' }).click();
  assert.ok(await fits());
  await phone.context().close();
});
