// Bulk actions on the runs list (docs/bulk.md): an operator cancels every run the
// list's filters match after confirming the count, with a reason, and watches the
// operation complete; runs outside the filters are left alone; an empty match cannot
// be confirmed; a viewer gets no bulk actions.
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

test('a viewer gets no bulk actions', async () => {
  const token = await env.server.createToken('viewer', 'ui-bulk-viewer');
  const page = await newPage(env.browser, env.server);
  await signIn(page, token);
  await page.goto(LIST);
  await page.locator('tbody tr[data-run-id]').first().waitFor();
  assert.equal(await page.getByRole('group', { name: 'Bulk actions' }).count(), 0);
  await page.close();
});
