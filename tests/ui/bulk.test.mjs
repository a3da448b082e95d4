// Bulk actions on the runs list (docs/bulk.md): an operator cancels every run the
// list's filters match after confirming the count, with a reason, and watches the
// operation complete; runs outside the filters are left alone; an empty match cannot
// be confirmed; an operator ticks two runs of four (after ticking and clearing the whole
// page) and cancels exactly those; a viewer gets no bulk actions nor checkboxes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newPage, setup, signIn, toast, waitFor } from './harness.mjs';

const LIST = '/default/monitoring/workflow-runs';
let env;
const sleeping = [];
let other;

function sleepWorkflow(id) {
  return { id, kind: 'workflow', steps: [{ id: 'nap', type: 'sleep', with: { duration: '1h' } }] };
}

before(async () => {
  env = await setup();
  const { server } = env;
  await server.putWorkflow(sleepWorkflow('bulk-sleep'));
  await server.putWorkflow(sleepWorkflow('bulk-other'));
  for (let i = 0; i < 3; i++) {
    sleeping.push((await server.startRun('bulk-sleep', { i })).id);
  }
  other = (await server.startRun('bulk-other')).id;
  for (const id of [...sleeping, other]) {
    await server.waitRun(id, (r) => r.status === 'waiting', 'waiting');
  }
});

after(async () => {
  await env?.close();
});

test('an operator cancels every matching run after confirming the count', async () => {
  const page = await newPage(env.browser, env.server);
  await signIn(page, env.server.adminToken);
  await page.goto(`${LIST}?status=waiting&workflow_id=bulk-sleep`);
  await page.locator('tbody tr[data-run-id]').first().waitFor();
  const bulk = page.getByRole('group', { name: 'Bulk actions' });
  await bulk.getByRole('button', { name: 'Cancel all…' }).click();

  const dialog = page.getByRole('dialog', { name: 'Cancel 3 runs?' });
  await dialog.waitFor();
  await dialog.getByLabel('Reason for cancellation (optional)').fill('maintenance window');
  await dialog.getByRole('button', { name: 'Cancel 3 runs' }).click();
  await dialog.waitFor({ state: 'detached' });

  const progress = bulk.locator('.bulk__progress[data-status="completed"]');
  await progress.waitFor();
  assert.match(await progress.innerText(), /Cancel: 3 of 3 runs \(3 done, 0 skipped, 0 failed\) — completed/);
  await toast(page, 'Cancel: 3 runs done').waitFor();

  for (const id of sleeping) {
    const run = await env.server.getRun(id);
    assert.equal(run.status, 'cancelled');
    assert.equal(run.cancel.reason, 'maintenance window');
  }
  assert.equal((await env.server.getRun(other)).status, 'waiting');
  // The list, still filtered on waiting runs of bulk-sleep, empties.
  await waitFor(async () => (await page.locator('tbody tr[data-run-id]').count()) === 0, {
    desc: 'the cancelled runs to leave the waiting list',
  });

  // Nothing matches now: the dialog says so and cannot be confirmed.
  await bulk.getByRole('button', { name: 'Cancel all…' }).click();
  const none = page.getByRole('dialog', { name: 'Cancel 0 runs?' });
  await none.waitFor();
  assert.match(await none.innerText(), /No run matches these filters\./);
  assert.equal(await none.getByRole('button', { name: 'Cancel 0 runs' }).isDisabled(), true);
  await none.getByRole('button', { name: 'Keep them' }).click();
  await none.waitFor({ state: 'detached' });
  await page.close();
});

test('an operator ticks two runs of several and cancels exactly those', async () => {
  const { server } = env;
  await server.putWorkflow(sleepWorkflow('bulk-pick'));
  const runs = [];
  for (let i = 0; i < 4; i++) {
    runs.push((await server.startRun('bulk-pick', { i })).id);
  }
  for (const id of runs) {
    await server.waitRun(id, (r) => r.status === 'waiting', 'waiting');
  }
  const [first, second, third, fourth] = runs;

  const page = await newPage(env.browser, server);
  await signIn(page, server.adminToken);
  await page.goto(`${LIST}?workflow_id=bulk-pick`);
  for (const id of runs) {
    await page.locator(`tbody tr[data-run-id="${id}"]`).waitFor();
  }
  const bulk = page.getByRole('group', { name: 'Bulk actions' });
  await bulk.getByText('All matching runs:').waitFor();
  const box = (id) => page.getByRole('checkbox', { name: `Select ${id}` });
  const all = page.getByRole('checkbox', { name: 'Select all runs on this page' });

  // Select all on the page, then none: the bar follows.
  await all.check();
  await bulk.getByText('4 runs selected:').waitFor();
  for (const id of runs) {
    assert.equal(await box(id).isChecked(), true);
  }
  await all.uncheck();
  await bulk.getByText('All matching runs:').waitFor();
  assert.equal(await page.locator('tbody tr[data-selected]').count(), 0);

  // Two of the four.
  await box(second).check();
  await box(fourth).check();
  await bulk.getByText('2 runs selected:').waitFor();
  assert.equal(await all.evaluate((el) => el.indeterminate), true);
  assert.equal(await bulk.getByRole('button', { name: 'Cancel all…' }).count(), 0);
  await bulk.getByRole('button', { name: 'Cancel selected…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Cancel 2 runs?' });
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /Cancel the 2 runs you selected now\./);
  await dialog.getByLabel('Reason for cancellation (optional)').fill('picked by hand');
  await dialog.getByRole('button', { name: 'Cancel 2 runs' }).click();
  await dialog.waitFor({ state: 'detached' });

  const progress = bulk.locator('.bulk__progress[data-status="completed"]');
  await progress.waitFor();
  assert.match(await progress.innerText(), /Cancel: 2 of 2 runs \(2 done, 0 skipped, 0 failed\) — completed/);
  // The operation's filter was exactly the two runs ticked.
  const opId = await progress.getAttribute('data-operation-id');
  const { operation } = await server.ok('GET', `/api/v1/operations/${opId}`);
  assert.deepEqual([...operation.filter.run_ids].sort(), [second, fourth].sort());
  assert.deepEqual(Object.keys(operation.filter), ['run_ids']);
  for (const id of [second, fourth]) {
    const run = await server.getRun(id);
    assert.equal(run.status, 'cancelled');
    assert.equal(run.cancel.reason, 'picked by hand');
  }
  for (const id of [first, third]) {
    assert.equal((await server.getRun(id)).status, 'waiting');
  }
  // The selection is gone with the operation: the bar is back to every matching run.
  await bulk.getByText('All matching runs:').waitFor();
  assert.equal(await box(first).isChecked(), false);
  assert.deepEqual(page.pageErrors, []);
  await page.close();
});

test('a viewer gets no bulk actions', async () => {
  const token = await env.server.createToken('viewer', 'ui-bulk-viewer');
  const page = await newPage(env.browser, env.server);
  await signIn(page, token);
  await page.goto(LIST);
  await page.locator('tbody tr[data-run-id]').first().waitFor();
  assert.equal(await page.getByRole('group', { name: 'Bulk actions' }).count(), 0);
  assert.equal(await page.getByRole('checkbox').count(), 0);
  await page.close();
});
