// Work in flight on the run page: a step in a retry back-off (its earlier attempts, the
// next attempt, Pause and Cancel, a pause that holds the retry), a parent waiting on a
// child run (links both ways, the child runs list), an agent task. The server runs with
// `--allow-shell` (a `shell` step running `false` fails with exit code 1) and
// `--fake-clock` (a 1 h back-off passes when the test moves the server's clock).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { blockingWorkflow, newPage, runUrl, setup, signIn, toast, waitFor } from './harness.mjs';

let env;
let page;

before(async () => {
  env = await setup({ fakeClock: true, allowShell: true });
  page = await newPage(env.browser, env.server);
  await signIn(page, env.server.adminToken);
});

after(async () => {
  await env?.close();
});

function badge() {
  return page.locator('.run__title .badge');
}

function actions() {
  return page.getByRole('group', { name: 'Run actions' }).getByRole('button');
}

function button(name) {
  return page.getByRole('group', { name: 'Run actions' }).getByRole('button', { name, exact: true });
}

async function actionNames() {
  return (await actions().allTextContents()).map((t) => t.trim()).sort();
}

test('a retry back-off shows the attempts, "Attempt 2 of 3", Pause and Cancel; pausing holds it', async () => {
  await env.server.putWorkflow({
    id: 'flaky',
    kind: 'workflow',
    steps: [
      {
        id: 'sync',
        type: 'shell',
        with: { argv: ['false'] },
        retry: { max_attempts: 3, backoff: 'fixed', initial: '1h', max: '1h' },
      },
    ],
  });
  const started = await env.server.startRun('flaky');
  const run = await env.server.waitRun(
    started.id,
    (r) => r.status === 'waiting' && r.wait?.kind === 'retry' && r.wait.attempt === 2,
    'retry back-off before attempt 2',
  );
  assert.deepEqual([...run.allowed_actions].sort(), ['cancel', 'pause']);

  await page.goto(runUrl(run.id));
  await badge().filter({ hasText: 'Waiting' }).waitFor();
  assert.deepEqual(await actionNames(), ['Cancel', 'Pause', 'Refresh']);

  // The step says when the next attempt is and why the last one failed.
  const step = page.locator('[data-step="sync"]');
  const wait = step.locator('.timeline__wait');
  await wait.filter({ hasText: /^Attempt 2 of 3 in 1 hour — last error: exited with code 1 \(exit_code\)$/ }).waitFor();
  const next = wait.locator('time');
  assert.equal(await next.getAttribute('datetime'), run.wait.next_attempt_at);
  assert.ok((await next.getAttribute('title')).includes(run.wait.next_attempt_at), 'the exact time on hover');
  await page.locator('.banner--waiting', { hasText: 'Waiting for a retry back-off (step sync): Attempt 2 of 3 in 1 hour' }).waitFor();

  // The earlier attempts are folded until opened.
  const history = step.locator('details.timeline__attempts');
  await history.locator('summary', { hasText: 'Previous attempts (1)' }).waitFor();
  const first = history.locator('li[data-attempt="1"]');
  assert.equal(await first.isVisible(), false, 'the attempts are collapsed');
  await history.locator('summary').click();
  await first.waitFor();
  assert.match(await first.innerText(), /^Attempt 1 · failed after \d+ ms · exited with code 1 \(exit_code\)/);

  // Pause: the yellow badge, the retry held; Resume and Cancel offered.
  await button('Pause').click();
  await toast(page, 'Workflow run paused').waitFor();
  const paused = badge().filter({ hasText: 'Paused' });
  await paused.waitFor();
  const bg = await paused.evaluate((el) => getComputedStyle(el).backgroundColor);
  const [r, g, b] = bg.match(/\d+/g).map(Number);
  assert.ok(r > 200 && g > 180 && b < 170, `paused badge is yellow, got ${bg}`);
  await wait.getByText('held while the run is paused').waitFor();
  assert.deepEqual(await actionNames(), ['Cancel', 'Refresh', 'Resume']);
  assert.equal((await env.server.getRun(run.id)).status, 'paused');

  // The back-off ends while the run is paused: no attempt starts. The resume answers
  // with the run waiting again and attempt 2 still to come (an attempt made during the
  // pause would have failed and moved the wait to attempt 3).
  await env.server.advanceClock(3_600_000);
  const resumeAnswer = page.waitForResponse((resp) => resp.url().endsWith(`/api/v1/runs/${run.id}/resume`));
  await button('Resume').click();
  const resumed = await (await resumeAnswer).json();
  assert.equal(resumed.status, 'waiting');
  assert.equal(resumed.wait.attempt, 2, 'no attempt ran while paused');
  await toast(page, 'Workflow run resumed').waitFor();

  // The next attempt fails too: the page shows attempt 3 of 3 and two earlier attempts.
  // (The server's clock is now an hour ahead of the browser's: the next attempt is
  // "in 2 hours" here, so the test reads the exact time.)
  const third = await waitFor(
    async () => {
      await env.server.advanceClock(1_000);
      const r = await env.server.getRun(run.id);
      return r.wait?.kind === 'retry' && r.wait.attempt === 3 ? r : null;
    },
    { desc: 'the back-off before attempt 3', every: 100 },
  );
  await button('Refresh').click();
  await wait.filter({ hasText: /^Attempt 3 of 3 in \d+ hours — last error: exited with code 1/ }).waitFor();
  assert.equal(await wait.locator('time').getAttribute('datetime'), third.wait.next_attempt_at);
  await history.locator('summary', { hasText: 'Previous attempts (2)' }).waitFor();
  await history.locator('li[data-attempt="2"]').getByText('exited with code 1').waitFor();
  assert.deepEqual(page.pageErrors, []);
});

test('a parent waiting on a child links to it, and the child links back', async () => {
  const held = env.target.hold('/child-call');
  await env.server.putWorkflow(blockingWorkflow('child-wf', held));
  await env.server.putWorkflow({
    id: 'parent-wf',
    kind: 'workflow',
    steps: [{ id: 'sub', type: 'workflow', with: { workflow: 'child-wf', input: { order: 7 } } }],
  });
  const started = await env.server.startRun('parent-wf');
  const parent = await env.server.waitRun(started.id, (r) => r.wait?.kind === 'child', 'waiting for its child');
  const childId = parent.wait.child_run_id;
  await env.server.waitStep(childId, 'call', 'running');

  await page.goto(runUrl(parent.id));
  await badge().filter({ hasText: 'Waiting' }).waitFor();
  const step = page.locator('[data-step="sub"]');
  await step.locator('.timeline__wait', { hasText: 'Waiting for child run' }).getByRole('link', { name: childId }).waitFor();
  await step.locator('.timeline__meta', { hasText: 'Child run' }).getByRole('link', { name: childId }).waitFor();
  await page.locator('.banner--waiting').getByRole('link', { name: childId }).waitFor();
  const children = page.getByRole('region', { name: 'Child runs' });
  const row = children.locator(`li[data-run-id="${childId}"]`);
  await row.locator('.badge[data-status="running"]').waitFor();
  assert.equal(await children.locator('li').count(), 1);

  // To the child, and back through its "Parent run".
  await step.locator('.timeline__wait').getByRole('link', { name: childId }).click();
  await page.waitForURL(`**${runUrl(childId)}`);
  const overview = page.getByRole('region', { name: 'Overview' });
  const back = overview.locator('.meta__row', { hasText: 'Parent run' }).getByRole('link', { name: parent.id });
  await back.waitFor();
  await overview.getByText(`(run:${parent.id})`).waitFor();
  assert.equal(await page.getByRole('region', { name: 'Child runs' }).count(), 0, 'the child has no children');
  await back.click();
  await page.waitForURL(`**${runUrl(parent.id)}`);
  await page.getByRole('region', { name: 'Child runs' }).waitFor();

  // The child ends, the parent completes with its output; the list shows the new status.
  env.target.release('/child-call');
  await env.server.waitRun(parent.id, (r) => r.status === 'completed', 'completed');
  await button('Refresh').click();
  await badge().filter({ hasText: 'Completed' }).waitFor();
  await page.getByRole('region', { name: 'Child runs' }).locator(`li[data-run-id="${childId}"] .badge[data-status="completed"]`).waitFor();

  // At a phone's width the long run ids wrap instead of widening the page.
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page overflows by ${overflow} px at 390 px`);
  await page.setViewportSize({ width: 1280, height: 900 });

  // In the runs list the child says whose it is.
  await page.goto('/default/monitoring/workflow-runs');
  const childRow = page.locator(`tr[data-run-id="${childId}"]`);
  await childRow.getByText('child of').getByRole('link', { name: parent.id }).waitFor();
  assert.equal(await page.locator(`tr[data-run-id="${parent.id}"]`).getByText('child of').count(), 0);
  assert.deepEqual(page.foreignRequests, [], 'no request left the machine');
  assert.deepEqual(page.pageErrors, []);
});

test('an agent task shows its queue and task id', async () => {
  await env.server.putWorkflow({
    id: 'agent-wf',
    kind: 'workflow',
    steps: [{ id: 'work', type: 'agent_task', with: { queue: 'billing-q' } }],
  });
  const started = await env.server.startRun('agent-wf');
  const run = await env.server.waitRun(started.id, (r) => r.wait?.kind === 'agent', 'waiting for an agent');
  await page.goto(runUrl(run.id));
  const step = page.locator('[data-step="work"]');
  await step.locator('.timeline__wait', { hasText: 'Waiting for an agent on queue billing-q' }).waitFor();
  await step.locator('.timeline__meta', { hasText: `Task ${run.wait.task_id}` }).waitFor();
  await page.locator('.banner--waiting', { hasText: 'Waiting for an agent on queue billing-q (step work).' }).waitFor();
  assert.deepEqual(page.pageErrors, []);
});
