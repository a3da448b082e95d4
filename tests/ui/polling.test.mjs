// The run page reloads every 10 s while the run is pending, running or waiting, not
// while the tab is hidden, and never after a terminal status. Time is Playwright's fake
// clock, so "10 s" passes when the test says so; requests are counted two ways:
// Playwright's request events, and a counter the page keeps around fetch (exact at any
// instant). The server runs with --fake-clock, so a sleeping run wakes when the test
// moves the server's time.
// Before moving the clock, a test waits until the page's load has its answer (the page
// is aria-busy until then), so no tick falls while a load is still out.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { blockingWorkflow, countRunRequests, newPage, runUrl, setHidden, setup, signIn, waitFor } from './harness.mjs';

const POLL_MS = 10_000;

let env;

before(async () => {
  env = await setup({ fakeClock: true });
});

after(async () => {
  await env?.close();
});

// Counts the page's fetches of GET /api/v1/runs/{id} as they are made.
async function countFetches(page, runId) {
  await page.addInitScript((id) => {
    window.__runFetches = 0;
    const original = window.fetch.bind(window);
    window.fetch = (input, init) => {
      const url = new URL(typeof input === 'string' ? input : input.url, location.href);
      if ((init?.method ?? 'GET') === 'GET' && url.pathname === `/api/v1/runs/${id}`) {
        window.__runFetches++;
      }
      return original(input, init);
    };
  }, runId);
  return () => page.evaluate(() => window.__runFetches);
}

test('polls every 10 s while running, pauses in a hidden tab, stops at a terminal status', async () => {
  const page = await newPage(env.browser, env.server);
  await signIn(page, env.server.adminToken);
  const held = env.target.hold('/slow');
  await env.server.putWorkflow(blockingWorkflow('slow', held));
  const started = await env.server.startRun('slow');
  await env.server.waitStep(started.id, 'call', 'running');

  await page.clock.install();
  const fetches = await countFetches(page, started.id);
  const requests = countRunRequests(page, started.id);
  // The page marks itself aria-busy while a load waits for its answer; waiting for that
  // to end before moving the clock keeps every 10 s tick a real poll.
  const expectCount = async (n, why) => {
    assert.equal(await fetches(), n, `fetches: ${why}`);
    await waitFor(() => requests.count === n, { desc: `${n} GET requests (${why}), saw ${requests.count}` });
    await page.locator('section.run[aria-busy="false"]').waitFor();
  };

  await page.goto(runUrl(started.id));
  await page.locator('.run__title .badge', { hasText: 'Running' }).waitFor();
  await page.locator('section.run[aria-busy="false"]').waitFor();
  assert.ok((await fetches()) >= 1, 'the first load');

  // From here the page's time moves only when the test moves it. A hidden/visible round
  // arms the poll timer at a known instant (and loads at once).
  const now = await page.evaluate(() => Date.now());
  await page.clock.pauseAt(now + 1000);
  await setHidden(page, true);
  await setHidden(page, false);
  const base = await fetches();
  await expectCount(base, 'the load on becoming visible');

  await page.clock.runFor(POLL_MS - 500);
  await expectCount(base, 'nothing before 10 s');
  await page.clock.runFor(500);
  await expectCount(base + 1, 'one poll after 10 s');
  await page.clock.runFor(POLL_MS);
  await expectCount(base + 2, 'another after 20 s');

  // Hidden tab: no polls however long it stays hidden.
  await setHidden(page, true);
  await page.clock.runFor(6 * POLL_MS);
  await expectCount(base + 2, 'none while hidden');

  // Visible again: it loads at once, then every 10 s again.
  await setHidden(page, false);
  await expectCount(base + 3, 'a load on becoming visible');
  await page.clock.runFor(POLL_MS);
  await expectCount(base + 4, 'polling resumed');

  // The run finishes; the next poll sees it, and then polling stops.
  env.target.release('/slow');
  await env.server.waitRun(started.id, (r) => r.status === 'completed', 'completed');
  await page.clock.runFor(POLL_MS);
  await expectCount(base + 5, 'the poll that sees the terminal status');
  await page.locator('.run__title .badge', { hasText: 'Completed' }).waitFor();
  await page.clock.runFor(10 * POLL_MS);
  await expectCount(base + 5, 'no poll after a terminal status');
  // Becoming visible does not restart it either.
  await setHidden(page, true);
  await setHidden(page, false);
  await page.clock.runFor(3 * POLL_MS);
  await expectCount(base + 5, 'no poll after a terminal status, after a visibility change');

  // Refresh still loads on demand.
  await page.getByRole('button', { name: 'Refresh' }).click();
  await expectCount(base + 6, 'the Refresh button');
  await page.context().close();
});

test('a paused run is not polled; resuming it starts polling again', async () => {
  const page = await newPage(env.browser, env.server);
  await signIn(page, env.server.adminToken);
  const held = env.target.hold('/held');
  await env.server.putWorkflow(blockingWorkflow('held', held));
  const started = await env.server.startRun('held');
  await env.server.waitStep(started.id, 'call', 'running');
  await env.server.ok('POST', `/api/v1/runs/${started.id}/pause`, {});

  await page.clock.install();
  const fetches = await countFetches(page, started.id);
  await page.goto(runUrl(started.id));
  await page.locator('.run__title .badge', { hasText: 'Paused' }).waitFor();
  assert.equal(await fetches(), 1);
  await page.clock.runFor(3 * POLL_MS);
  assert.equal(await fetches(), 1, 'no polls while paused');

  await page.getByRole('button', { name: 'Resume' }).click();
  await page.locator('.run__title .badge', { hasText: 'Running' }).waitFor();
  const afterResume = await waitFor(async () => (await fetches()) >= 2 && fetches(), { desc: 'the reload after resume' });
  await page.clock.runFor(POLL_MS);
  await waitFor(async () => (await fetches()) >= afterResume + 1, { desc: 'a poll 10 s after resuming' });
  env.target.release('/held');
  await page.context().close();
});

test('a waiting run is polled and shows its wake-up without a Refresh', async () => {
  const page = await newPage(env.browser, env.server);
  await signIn(page, env.server.adminToken);
  await env.server.putWorkflow({
    id: 'napper',
    kind: 'workflow',
    steps: [
      { id: 'nap', type: 'sleep', with: { duration: '1h' } },
      { id: 'after', type: 'noop', with: { value: { woke: true } } },
    ],
  });
  const started = await env.server.startRun('napper');
  await env.server.waitRun(started.id, (r) => r.status === 'waiting' && r.wait?.kind === 'timer', 'asleep');

  await page.clock.install();
  const fetches = await countFetches(page, started.id);
  const idle = () => page.locator('section.run[aria-busy="false"]').waitFor();
  await page.goto(runUrl(started.id));
  await page.locator('.run__title .badge', { hasText: 'Waiting' }).waitFor();
  await page.locator('.banner--waiting', { hasText: 'Waiting for a timer (step nap) until in 1 hour.' }).waitFor();
  await idle();
  const base = await fetches();

  // Asleep for an hour, and polled all the same.
  await page.clock.runFor(POLL_MS);
  await waitFor(async () => (await fetches()) === base + 1, { desc: 'a poll of the waiting run' });
  await idle();

  // The timer fires on the server: the next poll shows the run awake and done, with no
  // Refresh and no reload of the page.
  await env.server.advanceClock(3_600_000);
  await env.server.waitRun(started.id, (r) => r.status === 'completed', 'completed');
  await page.clock.runFor(POLL_MS);
  await page.locator('.run__title .badge', { hasText: 'Completed' }).waitFor();
  await page.locator('[data-step="after"] .badge[data-status="completed"]').waitFor();
  assert.equal(await fetches(), base + 2, 'the wake-up came with the next poll');
  assert.equal(await page.locator('.banner--waiting').count(), 0);

  // Finished: no more polls.
  await idle();
  await page.clock.runFor(3 * POLL_MS);
  assert.equal(await fetches(), base + 2, 'no poll after the terminal status');
  assert.deepEqual(page.pageErrors, []);
  await page.context().close();
});
