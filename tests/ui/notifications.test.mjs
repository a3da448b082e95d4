// The notification bell in the browser: the unread count of the in-app notifications
// (an approval request makes one), the list of recent ones, choosing one marks it read
// (the count goes down) and follows its link, and the count is polled every 30 s.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newPage, setup, signIn, waitFor } from './harness.mjs';

let env;

before(async () => {
  env = await setup();
  await env.server.putWorkflow({
    id: 'gate',
    kind: 'workflow',
    steps: [{ id: 'approve', type: 'approval', with: { message: 'Ship order ${{ input.order }}?' } }],
  });
});

after(async () => {
  await env?.close();
});

async function unreadCount() {
  return (await env.server.ok('GET', '/api/v1/notifications?unread=true')).unread_count;
}

// Starts a gated run and waits for its notification; returns the new unread count.
async function requestApproval(order, before) {
  const started = await env.server.startRun('gate', { order });
  await env.server.waitRun(started.id, (r) => r.status === 'waiting', 'waiting');
  return waitFor(async () => {
    const n = await unreadCount();
    return n > before ? n : null;
  }, { desc: `a notification for order ${order}` });
}

test('the bell counts unread notifications; reading one lowers the count and follows its link', async () => {
  const page = await newPage(env.browser, env.server);
  await page.clock.install();
  let count = await requestApproval('A-1', 0);
  count = await requestApproval('B-2', count);
  assert.equal(count, 2);

  await signIn(page, env.server.adminToken);
  const bell = page.getByRole('button', { name: /^Notifications/ });
  await page.getByRole('button', { name: 'Notifications, 2 unread' }).waitFor();
  assert.equal((await page.locator('.bell__count').textContent()).trim(), '2');

  await bell.click();
  assert.equal(await bell.getAttribute('aria-expanded'), 'true');
  const panel = page.getByRole('region', { name: 'Notifications' });
  const items = panel.locator('li.bell__item--unread');
  await waitFor(async () => (await items.count()) === 2, { desc: 'two unread notifications listed' });
  const first = panel.locator('li[data-notification-id]').first();
  await first.locator('time').waitFor();
  const id = await first.getAttribute('data-notification-id');
  const listed = (await env.server.ok('GET', '/api/v1/notifications')).items.find((n) => n.id === id);
  await first.getByText(listed.title).waitFor();

  await first.getByRole(listed.link ? 'link' : 'button').click();
  await page.getByRole('button', { name: 'Notifications, 1 unread' }).waitFor();
  assert.equal(await panel.count(), 0, 'the list closes');
  if (listed.link) {
    await page.waitForURL((url) => (url.pathname + url.search).endsWith(listed.link) || url.href === listed.link);
  }
  const read = (await env.server.ok('GET', '/api/v1/notifications')).items.find((n) => n.id === id);
  assert.ok(read.read_at, 'marked read on the server');

  // A new notification shows at the next poll, 30 s on.
  await requestApproval('C-3', 1);
  await page.clock.runFor(30_000);
  await page.getByRole('button', { name: 'Notifications, 2 unread' }).waitFor();

  // Escape closes the list and gives the focus back to the bell.
  await bell.click();
  await page.getByRole('region', { name: 'Notifications' }).waitFor();
  await page.keyboard.press('Escape');
  assert.equal(await page.getByRole('region', { name: 'Notifications' }).count(), 0);
  assert.ok(await bell.evaluate((el) => el === document.activeElement));
  assert.deepEqual(page.pageErrors, []);
});
