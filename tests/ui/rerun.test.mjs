// Rerun from a step in the browser: on a finished run each step has "Rerun from here";
// it opens the new run, which shows where it started and tags the copied steps. A run
// that is not finished, and a viewer, have no such control.
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

function threeSteps(id) {
  return {
    id,
    steps: [
      { id: 'a', type: 'noop', with: { value: { n: '${{ input.n }}' } } },
      { id: 'b', type: 'noop', with: { value: { a: '${{ steps.a.output }}', n: '${{ input.n }}' } } },
      { id: 'c', type: 'noop', with: { value: '${{ steps.b.output }}' } },
    ],
  };
}

function rerunButton(path) {
  return page.getByRole('button', { name: `Rerun from step ${path}`, exact: true });
}

test('rerun from a step opens the new run with the earlier steps copied', async () => {
  await env.server.putWorkflow(threeSteps('ui-rerun'));
  const run = await env.server.startRun('ui-rerun', { n: 1 });
  await env.server.waitRun(run.id, (r) => r.status === 'completed', 'completed');
  await page.goto(runUrl(run.id));
  await page.locator('.run__title .badge').filter({ hasText: 'Completed' }).waitFor();
  for (const path of ['a', 'b', 'c']) {
    await rerunButton(path).waitFor();
  }
  assert.equal(await page.locator('.timeline .tag', { hasText: 'Copied' }).count(), 0);

  await rerunButton('b').click();
  await toast(page, 'Workflow run replayed').waitFor();
  await page.waitForURL((u) => u.pathname.startsWith('/default/monitoring/workflow-runs/') && !u.pathname.endsWith(run.id));
  const newId = page.url().split('/').pop();
  const overview = page.getByRole('region', { name: 'Overview' });
  await overview.getByRole('link', { name: run.id }).waitFor();
  await overview.getByText('Replay from step').waitFor();

  const created = await env.server.waitRun(newId, (r) => r.status === 'completed', 'completed');
  assert.equal(created.replay_of, run.id);
  assert.equal(created.replay_from_step, 'b');
  assert.deepEqual(created.steps.map((s) => [s.path, s.copied]), [['a', true], ['b', false], ['c', false]]);
  const copied = page.locator('.timeline__item[data-step="a"] .tag', { hasText: 'Copied' });
  await copied.waitFor();
  assert.equal(await page.locator('.timeline .tag', { hasText: 'Copied' }).count(), 1);
  assert.deepEqual(page.foreignRequests, [], 'no request left the machine');
  assert.deepEqual(page.pageErrors, []);
});

test('no rerun control on a run that is not finished, nor for a viewer', async () => {
  await env.server.putWorkflow({
    id: 'ui-rerun-wait',
    steps: [
      { id: 'a', type: 'noop', with: { value: 1 } },
      { id: 'gate', type: 'wait_for_event', with: { event_type: 'go' } },
    ],
  });
  const waiting = await env.server.startRun('ui-rerun-wait', {});
  await env.server.waitRun(waiting.id, (r) => r.status === 'waiting', 'waiting');
  await page.goto(runUrl(waiting.id));
  await page.locator('.run__title .badge').filter({ hasText: 'Waiting' }).waitFor();
  await page.locator('.timeline__item[data-step="a"]').waitFor();
  assert.equal(await page.locator('.timeline__rerun').count(), 0);
  await env.server.ok('POST', `/api/v1/runs/${waiting.id}/cancel`, {});

  const finished = await env.server.startRun('ui-rerun', { n: 2 });
  await env.server.waitRun(finished.id, (r) => r.status === 'completed', 'completed');
  const viewer = await newPage(env.browser, env.server);
  await signIn(viewer, await env.server.createToken('viewer', 'ui-rerun-viewer'));
  await viewer.goto(runUrl(finished.id));
  await viewer.locator('.timeline__item[data-step="c"]').waitFor();
  assert.equal(await viewer.locator('.timeline__rerun').count(), 0);
  await viewer.context().close();
});
