// The approvals inbox in the browser: a pending approval listed with what it gates
// (Irreversible in solid red, time left, N of M), the run page's *Awaiting approval*
// pill leading to it, approving (the run then completes) and denying with a comment
// (the run fails), a decision made elsewhere meanwhile (409: the server's message and a
// reload), and a viewer, who sees the inbox without the buttons.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newPage, runUrl, setup, signIn, toast } from './harness.mjs';

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

const INBOX = '/default/monitoring/approvals';

// A workflow gated by an approval; the step after it runs only when approved.
function gatedWorkflow(id, approval = {}) {
  return {
    id,
    kind: 'workflow',
    steps: [
      {
        id: 'approve',
        type: 'approval',
        with: { message: 'Charge ${{ input.customer }} ${{ input.amount }} EUR?', expires_in: '24h', ...approval },
      },
      { id: 'charge', type: 'noop', with: { value: { charged: true } } },
    ],
  };
}

// Starts a run of `wf` and waits until it waits for its approval; returns the run.
async function startGated(wf, input) {
  const started = await env.server.startRun(wf, input);
  return env.server.waitRun(started.id, (r) => r.status === 'waiting' && r.wait?.kind === 'approval', 'awaiting approval');
}

function card(approvalId) {
  return page.locator(`li[data-approval-id="${approvalId}"]`);
}

test('the inbox lists a pending approval; approving it from there completes the run', async () => {
  await env.server.putWorkflow(gatedWorkflow('charge', { reversibility: 'irreversible' }));
  const run = await startGated('charge', { customer: 'ACME', amount: 4200 });
  const approvalId = run.wait.approval_id;

  // The run page: the pill beside the status badge leads to the inbox.
  await page.goto(runUrl(run.id));
  const pill = page.locator('.run__title').getByRole('link', { name: 'Awaiting approval', exact: true });
  await pill.waitFor();
  await pill.click();
  await page.waitForURL(`**${INBOX}?run_id=${run.id}`);
  await page.getByRole('heading', { name: 'Approvals', exact: true }).waitFor();

  const item = card(approvalId);
  await item.getByRole('heading', { name: 'Charge ACME 4200 EUR?' }).waitFor();
  assert.equal(await item.getAttribute('data-status'), 'pending');
  await item.getByRole('link', { name: run.id }).waitFor();
  await item.getByRole('link', { name: 'charge', exact: true }).waitFor();
  await item.getByText('0 of 1 approvals').waitFor();
  await item.getByText(/^2[34] h \d+ min left$/).waitFor();

  // Irreversible cannot be missed: solid red, an icon, and a warning sentence.
  const rev = item.locator('[data-reversibility="irreversible"]');
  assert.equal((await rev.textContent()).trim(), 'Irreversible');
  assert.equal(await rev.locator('svg').count(), 1);
  const [r, g, b] = (await rev.evaluate((el) => getComputedStyle(el).backgroundColor)).match(/\d+/g).map(Number);
  assert.ok(r > 150 && g < 60 && b < 60, `Irreversible is red, got rgb(${r}, ${g}, ${b})`);
  await item.getByText('Approving lets an action run that cannot be undone.').waitFor();

  await item.getByLabel('Comment (optional)').fill('Checked the invoice');
  await item.getByRole('button', { name: 'Approve' }).click();
  await toast(page, 'Approved').waitFor();
  await item.locator('.badge', { hasText: 'Approved' }).waitFor();
  assert.equal(await item.getByRole('button', { name: 'Approve' }).count(), 0, 'no buttons once decided');
  const decisions = item.getByRole('list', { name: 'Decisions' });
  await decisions.getByText('Checked the invoice').waitFor();
  await decisions.getByText(/via ui/).waitFor();

  const done = await env.server.waitRun(run.id, (r) => r.status === 'completed', 'completed');
  const step = done.steps.find((s) => s.id === 'approve');
  assert.equal(step.output.decision, 'approved');
  assert.equal(step.output.comment, 'Checked the invoice');
  assert.deepEqual(page.pageErrors, []);
});

test('N of M: one approval of two leaves it pending, the second approves it', async () => {
  await env.server.putWorkflow(gatedWorkflow('two-keys', { required: 2, reversibility: 'safe' }));
  const run = await startGated('two-keys', { customer: 'Initech', amount: 10 });
  const approvalId = run.wait.approval_id;
  // A second principal (the page is the admin's): the same one twice would be refused.
  const operator = await env.server.createToken('operator', 'second-approver');
  await env.server.ok('POST', `/api/v1/approvals/${approvalId}/decision`, { decision: 'approve' }, { token: operator });

  await page.goto(`${INBOX}?status=pending`);
  const item = card(approvalId);
  await item.getByText('1 of 2 approvals').waitFor();
  await item.locator('[data-reversibility="safe"]', { hasText: 'Safe' }).waitFor();
  await item.getByRole('list', { name: 'Decisions' }).getByText('via api').waitFor();

  await item.getByRole('button', { name: 'Approve' }).click();
  await toast(page, 'Approved').waitFor();
  await env.server.waitRun(run.id, (r) => r.status === 'completed', 'completed');
});

test('deny with a comment: the gated step never runs and the run fails', async () => {
  await env.server.putWorkflow(gatedWorkflow('refund'));
  const run = await startGated('refund', { customer: 'Globex', amount: 99 });
  const approvalId = run.wait.approval_id;

  await page.goto(INBOX);
  const item = card(approvalId);
  await item.locator('[data-reversibility="recoverable"]', { hasText: 'Recoverable' }).waitFor();
  await item.getByLabel('Comment (optional)').fill('Not a customer of ours');
  await item.getByRole('button', { name: 'Deny' }).click();
  await toast(page, 'Denied').waitFor();
  await item.locator('.badge', { hasText: 'Denied' }).waitFor();
  await item.getByText('Not a customer of ours').waitFor();

  const failed = await env.server.waitRun(run.id, (r) => r.status === 'failed', 'failed');
  assert.equal(failed.error.code, 'approval_denied');
  assert.notEqual(failed.steps.find((s) => s.id === 'charge')?.status, 'completed');

  // Pending first: a new pending approval is listed above the denied one.
  const next = await startGated('refund', { customer: 'Hooli', amount: 5 });
  await page.getByRole('button', { name: 'Refresh' }).click();
  await card(next.wait.approval_id).waitFor();
  const ids = await page.locator('li[data-approval-id]').evaluateAll((els) => els.map((e) => e.dataset.approvalId));
  assert.ok(ids.indexOf(next.wait.approval_id) < ids.indexOf(approvalId), 'pending before denied');
});

test('a decision made elsewhere meanwhile: the server says why, and the inbox reloads', async () => {
  await env.server.putWorkflow(gatedWorkflow('race'));
  const run = await startGated('race', { customer: 'Umbrella', amount: 1 });
  const approvalId = run.wait.approval_id;

  await page.goto(`${INBOX}?run_id=${run.id}`);
  const item = card(approvalId);
  await item.getByRole('button', { name: 'Approve' }).waitFor();
  await env.server.ok('POST', `/api/v1/approvals/${approvalId}/decision`, { decision: 'deny', comment: 'too late' });

  await item.getByRole('button', { name: 'Approve' }).click();
  const failure = toast(page, 'Failed to approve');
  await failure.waitFor();
  assert.ok((await failure.locator('.toast__detail').textContent()).length > 0, 'the server message is shown');
  await item.locator('.badge', { hasText: 'Denied' }).waitFor();
  assert.equal(await item.getByRole('button', { name: 'Approve' }).count(), 0);
});

test('a viewer sees the inbox without the buttons', async () => {
  await env.server.putWorkflow(gatedWorkflow('viewer-sees'));
  const run = await startGated('viewer-sees', { customer: 'Stark', amount: 3 });
  const viewer = await newPage(env.browser, env.server);
  await signIn(viewer, await env.server.createToken('viewer', 'ui-viewer'));
  await viewer.goto(`${INBOX}?run_id=${run.id}`);
  const item = viewer.locator(`li[data-approval-id="${run.wait.approval_id}"]`);
  await item.getByRole('heading', { name: 'Charge Stark 3 EUR?' }).waitFor();
  assert.equal(await item.getByRole('button').count(), 0);
  assert.equal(await item.getByLabel('Comment (optional)').count(), 0);
  await viewer.context().close();
});
