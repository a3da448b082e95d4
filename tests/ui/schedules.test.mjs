// Schedules in the UI (server with --fake-clock, so a tick fires only when the test moves
// the server's time): an admin creates one through the New schedule form and finds it in
// the list, on its page (the next five fire times, as the API gives them) and on its
// workflow's page; the server's 400 shows beside the field it names (cron, time zone,
// input, workflow) and nothing is stored; pause and resume from the list; delete after a
// confirmation (Keep schedule and Escape keep it); an admin edits one on its page (the
// server's 400 beside the field, then the new next fire times; an edit of a schedule
// changed meanwhile is refused); a tick that fires shows as the last tick and its run; a
// viewer and an operator read without a button.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newPage, quickWorkflow, runUrl, setup, signIn, toast, waitFor } from './harness.mjs';

let env;

before(async () => {
  env = await setup({ fakeClock: true });
  await env.server.putWorkflow(quickWorkflow('nightly-report'));
  await env.server.putWorkflow(quickWorkflow('sync-crm'));
});

after(async () => {
  await env?.close();
});

async function pageAs(role) {
  const token = role === 'admin' ? env.server.adminToken : await env.server.createToken(role, `ui-${role}`);
  const page = await newPage(env.browser, env.server);
  await signIn(page, token);
  return page;
}

async function schedules() {
  return (await env.server.ok('GET', '/api/v1/schedules?limit=500')).items;
}

function createSchedule(body) {
  return env.server.ok('POST', '/api/v1/schedules', body);
}

const row = (page, id) => page.locator(`tr[data-schedule-id="${id}"]`);

// The message the server gives for `body` (a POST it refuses with 400 naming `field`).
async function refusal(body, field) {
  const resp = await env.server.api('POST', '/api/v1/schedules', body);
  assert.equal(resp.status, 400, JSON.stringify(resp.json));
  assert.equal(resp.json.error.field, field);
  return resp.json.error.message;
}

async function openForm(page) {
  await page.goto('/default/schedules');
  await page.getByRole('heading', { name: 'Schedules' }).waitFor();
  await page.getByRole('button', { name: 'New schedule' }).click();
  const dialog = page.getByRole('dialog', { name: 'New schedule' });
  await dialog.waitFor();
  // The workflows have loaded into the select.
  await dialog.getByLabel('Workflow').locator('option', { hasText: 'nightly-report' }).waitFor({ state: 'attached' });
  return dialog;
}

test('an admin creates a schedule through the form; the list, its page and the workflow page show it', async () => {
  const page = await pageAs('admin');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Schedules' }).click();
  await page.waitForURL('**/default/schedules');
  await page.getByText('No schedules yet.', { exact: false }).waitFor();

  const dialog = await openForm(page);
  assert.equal(await dialog.getByLabel('Time zone').inputValue(), 'UTC');
  assert.equal(await dialog.getByLabel('Overlap').inputValue(), 'skip');
  assert.equal(await dialog.getByLabel('Catch-up', { exact: true }).inputValue(), 'latest');
  await dialog.getByLabel('Workflow').selectOption('nightly-report');
  await dialog.getByLabel('Cron').fill('30 9 * * MON-FRI');
  await dialog.getByLabel('Time zone').fill('Europe/Berlin');
  await dialog.getByLabel('Input (JSON)').fill('{"region": "eu", "rows": 3}');
  await dialog.getByLabel('Overlap').selectOption('allow');
  await dialog.getByLabel('Catch-up', { exact: true }).selectOption('all');
  await dialog.getByLabel('Max catch-up').fill('5');
  await dialog.getByRole('button', { name: 'Create schedule' }).click();
  await toast(page, 'Schedule created').waitFor();
  await dialog.waitFor({ state: 'detached' });

  const [stored] = await schedules();
  assert.equal(stored.workflow_id, 'nightly-report');
  assert.equal(stored.cron, '30 9 * * MON-FRI');
  assert.equal(stored.timezone, 'Europe/Berlin');
  assert.deepEqual(stored.input, { region: 'eu', rows: 3 });
  assert.equal(stored.overlap, 'allow');
  assert.equal(stored.catch_up, 'all');
  assert.equal(stored.max_catch_up, 5);
  assert.equal(stored.paused, false);
  assert.equal(stored.next_fire_times.length, 5);

  const r = row(page, stored.id);
  await r.waitFor();
  await r.getByText('30 9 * * MON-FRI').waitFor();
  await r.locator('.badge', { hasText: 'Active' }).waitFor();
  // The next fire time: relative with the exact time on hover, and 09:30 in Berlin.
  const next = r.locator('.fire-time time');
  assert.equal(await next.getAttribute('datetime'), stored.next_fire_times[0]);
  assert.match(await r.locator('.fire-time').innerText(), /09:30 Europe\/Berlin/);
  assert.equal((await r.locator('td').nth(5).innerText()).trim(), 'never');

  // Its page: the overview and the next five fire times, exactly the API's.
  await r.getByRole('link', { name: stored.id }).click();
  await page.getByRole('heading', { name: stored.id }).waitFor();
  const nextTimes = page.getByRole('region', { name: 'Next fire times' });
  await nextTimes.locator('li').nth(4).waitFor();
  assert.deepEqual(
    await nextTimes.locator('time').evaluateAll((els) => els.map((e) => e.getAttribute('datetime'))),
    stored.next_fire_times,
  );
  for (const text of await nextTimes.locator('li').allInnerTexts()) {
    assert.match(text, /^(in .+|tomorrow) · (Mon|Tue|Wed|Thu|Fri), .+ 09:30 Europe\/Berlin$/);
  }
  const overview = page.getByRole('region', { name: 'Overview' });
  await overview.getByRole('link', { name: 'nightly-report' }).waitFor();
  await overview.getByText('Allow: start beside the previous run').waitFor();
  await overview.getByText('All: every missed tick fires (up to the maximum): 5').waitFor();
  await page.getByRole('region', { name: 'Input of the runs it starts' }).getByText('"region": "eu"').waitFor();

  // The workflow's page lists it with its next fire time; the other workflow has none.
  await overview.getByRole('link', { name: 'nightly-report' }).click();
  const card = page.getByRole('region', { name: 'Schedules' });
  const item = card.locator(`li[data-schedule-id="${stored.id}"]`);
  await item.waitFor();
  assert.equal(await item.locator('time').getAttribute('datetime'), stored.next_fire_times[0]);
  await item.locator('.badge', { hasText: 'Active' }).waitFor();
  await page.goto('/default/workflows/sync-crm');
  await page.getByRole('region', { name: 'Schedules' }).getByText('No schedules start this workflow.').waitFor();

  // New schedule from the workflow's page opens the form with the workflow chosen.
  await page.getByRole('region', { name: 'Schedules' }).getByRole('link', { name: 'New schedule' }).click();
  const again = page.getByRole('dialog', { name: 'New schedule' });
  await again.getByLabel('Workflow').locator('option', { hasText: 'sync-crm' }).waitFor({ state: 'attached' });
  assert.equal(await again.getByLabel('Workflow').inputValue(), 'sync-crm');
  await again.getByRole('button', { name: 'Cancel' }).click();
  await again.waitFor({ state: 'detached' });
  assert.equal(new URL(page.url()).search, '');
  assert.equal((await schedules()).length, 1);
  assert.deepEqual(page.pageErrors, []);
  assert.deepEqual(page.foreignRequests, []);
  await page.context().close();
});

test("the server's 400 shows beside the field it names, and nothing is stored", async () => {
  const before = (await schedules()).length;
  const page = await pageAs('admin');
  const dialog = await openForm(page);
  const fieldError = (label) => dialog.locator('.field', { has: page.getByLabel(label, { exact: true }) }).locator('.field-error');

  // A cron field out of range.
  await dialog.getByLabel('Workflow').selectOption('nightly-report');
  await dialog.getByLabel('Cron').fill('61 * * * *');
  await dialog.getByRole('button', { name: 'Create schedule' }).click();
  await toast(page, 'Failed to create schedule').waitFor();
  const cronMessage = await refusal({ workflow_id: 'nightly-report', cron: '61 * * * *' }, 'cron');
  const cronError = dialog.locator('#schedule-cron-error');
  await cronError.waitFor();
  assert.equal(await cronError.innerText(), cronMessage);
  assert.equal(await dialog.getByLabel('Cron').getAttribute('aria-invalid'), 'true');
  assert.match(await dialog.getByLabel('Cron').getAttribute('aria-describedby'), /schedule-cron-error/);
  // It takes the focus, and it is the only field with an error.
  await waitFor(() => dialog.getByLabel('Cron').evaluate((el) => el === document.activeElement), { desc: 'focus on Cron' });
  assert.equal(await dialog.locator('.field-error').count(), 1);
  assert.equal(await dialog.locator('[aria-invalid="true"]').count(), 1);

  // A cron that never fires.
  await dialog.getByLabel('Cron').fill('0 0 30 2 *');
  await dialog.getByRole('button', { name: 'Create schedule' }).click();
  await cronError.getByText("cron expression '0 0 30 2 *' never fires").waitFor();

  // An unknown zone: the error moves to Time zone.
  await dialog.getByLabel('Cron').fill('*/15 * * * *');
  await dialog.getByLabel('Time zone').fill('Mars/Olympus_Mons');
  await dialog.getByRole('button', { name: 'Create schedule' }).click();
  const zoneMessage = await refusal({ workflow_id: 'nightly-report', cron: '*/15 * * * *', timezone: 'Mars/Olympus_Mons' }, 'timezone');
  await dialog.locator('#schedule-timezone-error').getByText(zoneMessage).waitFor();
  assert.equal(await cronError.count(), 0);
  assert.equal(await dialog.getByLabel('Cron').getAttribute('aria-invalid'), null);

  // An input that is not JSON is sent as typed: the server says it is not an object.
  await dialog.getByLabel('Time zone').fill('America/New_York');
  await dialog.getByLabel('Input (JSON)').fill('{region: eu}');
  await dialog.getByRole('button', { name: 'Create schedule' }).click();
  await dialog.locator('#schedule-input-error').getByText("'input' must be a JSON object").waitFor();

  // A maximum out of range, and no workflow chosen.
  await dialog.getByLabel('Input (JSON)').fill('{}');
  await dialog.getByLabel('Max catch-up').fill('5000');
  await dialog.getByRole('button', { name: 'Create schedule' }).click();
  await dialog.locator('#schedule-max-catch-up-error').getByText("'max_catch_up' must be an integer from 1 to 1000").waitFor();
  await dialog.getByLabel('Max catch-up').fill('100');
  await dialog.getByLabel('Workflow').selectOption('');
  await dialog.getByRole('button', { name: 'Create schedule' }).click();
  await dialog.locator('#schedule-workflow-id-error').getByText("'workflow_id' is required").waitFor();

  assert.equal((await schedules()).length, before);
  assert.equal(await fieldError('Overlap').count(), 0);
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await page.context().close();
});

test('pause and resume from the list', async () => {
  const created = await createSchedule({ workflow_id: 'sync-crm', cron: '0 * * * *' });
  const page = await pageAs('admin');
  await page.goto('/default/schedules');
  const r = row(page, created.id);
  await r.locator('.badge', { hasText: 'Active' }).waitFor();

  await r.getByRole('button', { name: 'Pause' }).click();
  await toast(page, 'Schedule paused').waitFor();
  await r.locator('.badge', { hasText: 'Paused' }).waitFor();
  assert.equal(await r.locator('.fire-time').count(), 0);
  const paused = await env.server.ok('GET', `/api/v1/schedules/${created.id}`);
  assert.equal(paused.paused, true);
  assert.deepEqual(paused.next_fire_times, []);

  // Its page says why nothing is next.
  await page.goto(`/default/schedules/${created.id}`);
  await page.getByRole('region', { name: 'Next fire times' }).getByText('Paused: no tick fires until it is resumed', { exact: false }).waitFor();
  await page.getByRole('group', { name: `Actions of schedule ${created.id}` }).getByRole('button', { name: 'Resume' }).click();
  await toast(page, 'Schedule resumed').waitFor();
  await page.locator('.run__title .badge', { hasText: 'Active' }).waitFor();
  await page.getByRole('region', { name: 'Next fire times' }).locator('li').nth(4).waitFor();
  assert.equal((await env.server.ok('GET', `/api/v1/schedules/${created.id}`)).paused, false);

  await page.goto('/default/schedules');
  await row(page, created.id).locator('.badge', { hasText: 'Active' }).waitFor();
  await row(page, created.id).locator('.fire-time').waitFor();
  await page.context().close();
});

test('delete asks first; Keep schedule and Escape keep it', async () => {
  const created = await createSchedule({ workflow_id: 'sync-crm', cron: '15 3 * * *', timezone: 'Asia/Tokyo' });
  const page = await pageAs('admin');
  await page.goto('/default/schedules');
  const r = row(page, created.id);
  const confirm = page.getByRole('dialog', { name: 'Delete schedule?' });

  await r.getByRole('button', { name: 'Delete' }).click();
  await confirm.getByText(created.id).waitFor();
  await confirm.getByText('The runs it started stay.', { exact: false }).waitFor();
  await confirm.getByRole('button', { name: 'Keep schedule' }).click();
  await confirm.waitFor({ state: 'detached' });
  await r.getByRole('button', { name: 'Delete' }).click();
  await confirm.waitFor();
  await page.keyboard.press('Escape');
  await confirm.waitFor({ state: 'detached' });
  assert.equal((await env.server.api('GET', `/api/v1/schedules/${created.id}`)).status, 200);

  await r.getByRole('button', { name: 'Delete' }).click();
  await confirm.getByRole('button', { name: 'Delete schedule' }).click();
  await toast(page, 'Schedule deleted').waitFor();
  await r.waitFor({ state: 'detached' });
  assert.equal((await env.server.api('GET', `/api/v1/schedules/${created.id}`)).status, 404);

  // From its own page: back to the list.
  const other = await createSchedule({ workflow_id: 'sync-crm', cron: '45 4 * * *' });
  await page.goto(`/default/schedules/${other.id}`);
  await page.getByRole('button', { name: 'Delete' }).click();
  await confirm.getByRole('button', { name: 'Delete schedule' }).click();
  await toast(page, 'Schedule deleted').waitFor();
  await page.waitForURL('**/default/schedules');
  assert.equal((await env.server.api('GET', `/api/v1/schedules/${other.id}`)).status, 404);
  await page.context().close();
});

test("an admin edits a schedule on its page: the API's error beside the field, then the new next fire times", async () => {
  const created = await createSchedule({ workflow_id: 'sync-crm', cron: '0 9 * * *', input: { region: 'eu' }, overlap: 'allow' });
  const page = await pageAs('admin');
  await page.goto(`/default/schedules/${created.id}`);
  const nextTimes = page.getByRole('region', { name: 'Next fire times' });
  const shownTimes = () => nextTimes.locator('time').evaluateAll((els) => els.map((e) => e.getAttribute('datetime')));
  await nextTimes.locator('li').nth(4).waitFor();
  assert.deepEqual(await shownTimes(), created.next_fire_times);

  await page.getByRole('button', { name: 'Edit' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit schedule' });
  await dialog.waitFor();
  // Filled with the schedule; its workflow is shown, not chosen.
  assert.equal(await dialog.getByLabel('Cron').inputValue(), '0 9 * * *');
  assert.equal(await dialog.getByLabel('Time zone').inputValue(), 'UTC');
  assert.deepEqual(JSON.parse(await dialog.getByLabel('Input (JSON)').inputValue()), { region: 'eu' });
  assert.equal(await dialog.getByLabel('Overlap').inputValue(), 'allow');
  assert.equal(await dialog.getByLabel('Catch-up', { exact: true }).inputValue(), 'latest');
  assert.equal(await dialog.getByLabel('Max catch-up').inputValue(), '100');
  assert.equal(await dialog.locator('select#schedule-workflow-id').count(), 0);
  await dialog.getByText('sync-crm').waitFor();

  // A cron out of range: the server's own message beside Cron, and nothing changes.
  await dialog.getByLabel('Cron').fill('0 25 * * *');
  await dialog.getByRole('button', { name: 'Save changes' }).click();
  await toast(page, 'Failed to save schedule').waitFor();
  const refused = await env.server.api('PUT', `/api/v1/schedules/${created.id}`, { cron: '0 25 * * *' });
  assert.equal(refused.status, 400);
  assert.equal(refused.json.error.field, 'cron');
  const cronError = dialog.locator('#schedule-cron-error');
  await cronError.waitFor();
  assert.equal(await cronError.innerText(), refused.json.error.message);
  assert.equal(await dialog.getByLabel('Cron').getAttribute('aria-invalid'), 'true');
  const unchanged = await env.server.ok('GET', `/api/v1/schedules/${created.id}`);
  assert.equal(unchanged.cron, '0 9 * * *');
  assert.equal(unchanged.version, created.version);

  // A good cron and another zone: saved, and the page shows the new next fire times.
  await dialog.getByLabel('Cron').fill('*/20 * * * *');
  await dialog.getByLabel('Time zone').fill('Asia/Tokyo');
  await dialog.getByRole('button', { name: 'Save changes' }).click();
  await toast(page, 'Schedule saved').waitFor();
  await dialog.waitFor({ state: 'detached' });
  const saved = await env.server.ok('GET', `/api/v1/schedules/${created.id}`);
  assert.equal(saved.cron, '*/20 * * * *');
  assert.equal(saved.timezone, 'Asia/Tokyo');
  assert.deepEqual(saved.input, { region: 'eu' });
  assert.equal(saved.overlap, 'allow');
  assert.ok(saved.version > created.version);
  assert.notDeepEqual(saved.next_fire_times, created.next_fire_times);
  for (const at of saved.next_fire_times) {
    assert.equal(new Date(at).getUTCMinutes() % 20, 0, at);
  }
  await waitFor(async () => JSON.stringify(await shownTimes()) === JSON.stringify(saved.next_fire_times), {
    desc: 'the new next fire times on the page',
  });
  for (const text of await nextTimes.locator('li').allInnerTexts()) {
    assert.match(text, /:(00|20|40) Asia\/Tokyo$/);
  }
  await page.getByRole('region', { name: 'Overview' }).getByText('*/20 * * * *').waitFor();
  assert.deepEqual(page.pageErrors, []);
  await page.context().close();
});

test('an edit of a schedule changed meanwhile overwrites nothing and says so', async () => {
  const created = await createSchedule({ workflow_id: 'sync-crm', cron: '0 9 * * *' });
  const page = await pageAs('admin');
  await page.goto(`/default/schedules/${created.id}`);
  await page.getByRole('region', { name: 'Next fire times' }).locator('li').nth(4).waitFor();
  await page.getByRole('button', { name: 'Edit' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit schedule' });
  await dialog.waitFor();
  // Someone else changes it while the form is open.
  await env.server.ok('PUT', `/api/v1/schedules/${created.id}`, { cron: '0 10 * * *' });
  await dialog.getByLabel('Cron').fill('0 11 * * *');
  await dialog.getByRole('button', { name: 'Save changes' }).click();
  await toast(page, 'Failed to save schedule').waitFor();
  await dialog.getByRole('alert').getByText(`changed since version ${created.version}`, { exact: false }).waitFor();
  assert.equal((await env.server.ok('GET', `/api/v1/schedules/${created.id}`)).cron, '0 10 * * *');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await page.context().close();
});

test('a tick that fires shows as the last tick fired and its run', async () => {
  const created = await createSchedule({ workflow_id: 'nightly-report', cron: '* * * * *', input: { tick: true } });
  await env.server.advanceClock(61_000);
  const fired = await waitFor(async () => {
    const s = await env.server.ok('GET', `/api/v1/schedules/${created.id}`);
    return s.last_run_id ? s : null;
  }, { desc: 'the schedule to fire' });

  const page = await pageAs('viewer');
  await page.goto('/default/schedules');
  const r = row(page, created.id);
  assert.equal(await r.locator('td').nth(5).locator('time').getAttribute('datetime'), fired.last_fired_at);
  await r.getByRole('link', { name: fired.last_run_id }).click();
  await page.waitForURL(`**${runUrl(fired.last_run_id)}`);
  await page.getByRole('heading', { name: fired.last_run_id }).waitFor();
  const run = await env.server.getRun(fired.last_run_id);
  assert.equal(run.trigger.kind, 'schedule');
  assert.equal(run.trigger.schedule_id, created.id);
  await page.context().close();
});

test('a viewer and an operator read schedules without a button', async () => {
  const created = await createSchedule({ workflow_id: 'nightly-report', cron: '0 6 * * *' });
  for (const role of ['viewer', 'operator']) {
    const page = await pageAs(role);
    await page.goto('/default/schedules');
    await row(page, created.id).waitFor();
    await page.getByText('Only an admin can create, pause, resume or delete schedules.').waitFor();
    assert.equal(await page.locator('main').getByRole('button', { name: /New schedule|Pause|Resume|Delete/ }).count(), 0, role);
    assert.deepEqual(await page.locator('.schedules-table th').allInnerTexts(), [
      'Schedule', 'Workflow', 'Cron', 'State', 'Next fire', 'Last fired', 'Last run',
    ]);

    await page.goto(`/default/schedules/${created.id}`);
    await page.getByRole('region', { name: 'Next fire times' }).locator('li').nth(4).waitFor();
    assert.equal(await page.locator('main').getByRole('button', { name: /Edit|Pause|Resume|Delete/ }).count(), 0, role);

    await page.goto('/default/workflows/nightly-report');
    await page.getByRole('region', { name: 'Schedules' }).locator(`li[data-schedule-id="${created.id}"]`).waitFor();
    assert.equal(await page.getByRole('region', { name: 'Schedules' }).getByRole('link', { name: 'New schedule' }).count(), 0);

    // ?new= opens nothing for them.
    await page.goto('/default/schedules?new=nightly-report');
    await row(page, created.id).waitFor();
    assert.equal(await page.getByRole('dialog').count(), 0);
    await page.context().close();
  }
  // The server refuses them too.
  const viewer = await env.server.createToken('viewer', 'api-viewer');
  const refused = await env.server.api('POST', `/api/v1/schedules/${created.id}/pause`, {}, { token: viewer });
  assert.equal(refused.status, 403);
});

test('at a phone width nothing overflows', async () => {
  const page = await newPage(env.browser, env.server, { viewport: { width: 390, height: 844 } });
  await signIn(page, env.server.adminToken);
  await page.goto('/default/schedules');
  await page.locator('tr[data-schedule-id]').first().waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.equal(overflow, 0);
  await page.getByRole('button', { name: 'New schedule' }).click();
  await page.getByRole('dialog', { name: 'New schedule' }).waitFor();
  const dialogOverflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.equal(dialogOverflow, 0);
  await page.context().close();
});
