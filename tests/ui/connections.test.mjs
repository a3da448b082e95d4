// Connections and reauthorization in the browser, against the real server and the fake
// OAuth provider (tests/support/oauth_provider.py): the red banner on every page (one,
// several, more than three), the connections pages, runs held before a call that would
// be refused (paused for reauth; waiting for reauth in agent mode) with their chip, pill
// and what to do, Reconnect through the real authorize → provider → callback flow, and
// what each role may do.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { blockingWorkflow, newPage, runUrl, setup, signIn, toast, waitFor } from './harness.mjs';

const NEEDS_REAUTH = 'Connection cannot be refreshed. Please reconnect your connection.';
const RUNS = '/default/monitoring/workflow-runs';

let env;

before(async () => {
  env = await setup({ oauth: true });
});

after(async () => {
  await env?.close();
});

function connectionUrl(id) {
  return `/default/connections/${id}`;
}

async function createConnection(name, app, opts) {
  return env.server.ok('POST', '/api/v1/connections', await env.provider.connection(name, app, opts));
}

// A connection whose refresh the provider refuses for good, refreshed once: it is in
// `error` before any run uses it.
async function brokenConnection(name, app) {
  const created = await createConnection(name, app, { working: false });
  const refreshed = await env.server.api('POST', `/api/v1/connections/${created.id}/refresh`, {});
  assert.equal(refreshed.status, 409, JSON.stringify(refreshed.json));
  assert.equal(refreshed.json.error.code, 'connection_needs_reauth');
  const connection = await env.server.ok('GET', `/api/v1/connections/${created.id}`);
  assert.equal(connection.status, 'error');
  return connection;
}

async function deleteConnection(id) {
  const resp = await env.server.api('DELETE', `/api/v1/connections/${id}`);
  assert.equal(resp.status, 204);
}

async function pageAs(role) {
  const token = role === 'admin' ? env.server.adminToken : await env.server.createToken(role, `conn-${role}`);
  const page = await newPage(env.browser, env.server);
  await signIn(page, token);
  return page;
}

function banner(page) {
  return page.locator('.reauth-banner');
}

// Opens `path` (reloads the page without one) and waits until the banner has the
// server's answer, so that no banner means there is none to show.
async function openWithBanner(page, path) {
  const answered = page.waitForResponse((r) => {
    const u = new URL(r.url());
    return u.pathname === '/api/v1/connections' && u.searchParams.get('status') === 'error';
  });
  await (path ? page.goto(path) : page.reload());
  assert.equal((await answered).status(), 200);
}

// The banner's rows as [title, href].
async function bannerRows(page) {
  return banner(page)
    .locator('li a')
    .evaluateAll((links) => links.map((a) => [a.textContent.trim(), a.getAttribute('href')]));
}

test('the banner: one connection, several, and more than three point to the bell', async () => {
  const page = await pageAs('admin');
  await openWithBanner(page, RUNS);
  assert.equal(await banner(page).count(), 0, 'no banner while every connection is active');

  const slack = await brokenConnection('team-chat', 'slack');
  await openWithBanner(page);
  await banner(page).getByText('A connection needs to be reauthorized', { exact: true }).waitFor();
  assert.deepEqual(await bannerRows(page), [['Slack reauth required', connectionUrl(slack.id)]]);
  await banner(page).getByText(slack.error.message).waitFor();
  // On every page of the workspace.
  for (const path of ['/default/workflows', '/default/monitoring/approvals', '/default/connections']) {
    await page.goto(path);
    await banner(page).getByText('A connection needs to be reauthorized').waitFor();
  }

  // The row leads to the connection's page, inside the app.
  await banner(page).getByRole('link', { name: 'Slack reauth required' }).click();
  await page.waitForURL(`**${connectionUrl(slack.id)}`);
  await page.getByRole('heading', { name: 'team-chat', level: 1 }).waitFor();

  const more = [await brokenConnection('source', 'github'), await brokenConnection('crm-eu', 'hubspot')];
  await page.reload();
  await banner(page).getByText('3 connections need to be reauthorized', { exact: true }).waitFor();
  const three = await bannerRows(page);
  assert.equal(three.length, 3);
  assert.deepEqual(
    three.map(([title]) => title).sort(),
    ['Github reauth required', 'Hubspot reauth required', 'Slack reauth required'],
  );
  assert.deepEqual(three.map(([, href]) => href).sort(), [slack, ...more].map((c) => connectionUrl(c.id)).sort());
  assert.equal(await banner(page).getByText(/more — see notifications/).count(), 0);

  more.push(await brokenConnection('payments', 'stripe'), await brokenConnection('wiki', 'notion'));
  await page.reload();
  await banner(page).getByText('5 connections need to be reauthorized', { exact: true }).waitFor();
  assert.equal((await bannerRows(page)).length, 3, 'three rows, the rest on one line');
  await banner(page).getByText('and 2 more — see notifications').waitFor();
  await banner(page).getByRole('button', { name: 'see notifications' }).click();
  // The bell lists every connection's notification, leading to the connection.
  const bell = page.getByRole('region', { name: 'Notifications' });
  for (const [c, app] of [[slack, 'Slack'], [more[0], 'Github'], [more[3], 'Notion']]) {
    const entry = bell.getByRole('link', { name: new RegExp(`^(Unread: )?${app} reauth required`) });
    await entry.waitFor();
    assert.equal(await entry.getAttribute('href'), connectionUrl(c.id));
  }
  assert.ok(
    await page.getByRole('button', { name: /^Notifications/ }).evaluate((el) => el === document.activeElement),
    'the bell has the focus',
  );

  // Gone when no connection is in error.
  for (const c of [slack, ...more]) {
    await deleteConnection(c.id);
  }
  await openWithBanner(page, RUNS);
  assert.equal(await banner(page).count(), 0, 'the banner gone');
  assert.deepEqual(page.pageErrors, []);
  await page.context().close();
});

test('the connections page lists name, app, status, last error and expiry; chips filter', async () => {
  const ok = await createConnection('billing-api', 'stripe');
  const refreshed = await env.server.ok('POST', `/api/v1/connections/${ok.id}/refresh`, {});
  assert.ok(refreshed.expires_at, 'a refreshed connection knows when its token expires');
  const broken = await brokenConnection('crm-us', 'hubspot');

  const page = await pageAs('admin');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Connections' }).click();
  await page.waitForURL('**/default/connections');
  const row = (c) => page.locator(`tr[data-connection-id="${c.id}"]`);
  await row(ok).waitFor();
  await row(broken).waitFor();
  const cells = async (c) => row(c).locator('td').allInnerTexts();

  const [name, app, status, lastError, expires] = await cells(ok);
  assert.deepEqual([name, app, status.trim(), lastError.trim()], ['billing-api', 'stripe', 'Active', '—']);
  assert.match(expires, /in \d+ minutes|in 1 hour|in \d+ hours/);
  assert.equal(await row(ok).locator('.badge').getAttribute('data-status'), 'active');

  const brokenCells = await cells(broken);
  assert.equal(brokenCells[2].trim(), 'Needs reauth');
  assert.equal(await row(broken).locator('.badge').getAttribute('data-status'), 'error');
  assert.ok(brokenCells[3].includes(broken.error.message), brokenCells[3]);
  assert.match(await row(broken).locator('time').first().getAttribute('title'), /\(\d{4}-\d\d-\d\dT/);

  const chips = page.getByRole('group', { name: 'Filter by status' });
  await chips.getByRole('button', { name: 'Needs reauth' }).click();
  await page.waitForURL('**/default/connections?status=error');
  await waitFor(async () => (await page.locator('tr[data-connection-id]').count()) === 1, { desc: 'only the broken one' });
  await row(broken).waitFor();
  await chips.getByRole('button', { name: 'Active' }).click();
  await row(ok).waitFor();
  assert.equal(await row(broken).count(), 0);

  await row(ok).getByRole('link', { name: 'billing-api' }).click();
  await page.waitForURL(`**${connectionUrl(ok.id)}`);
  const overview = page.getByRole('region', { name: 'Overview' });
  await overview.getByText('contacts.read contacts.write').waitFor();
  await overview.getByText(`${env.provider.url}/token`).waitFor();
  const text = await page.locator('main').innerText();
  assert.ok(!text.includes('stepwell-test-client-secret'), 'no secret on the page');
  await deleteConnection(ok.id);
  await deleteConnection(broken.id);
  await page.context().close();
});

test('runs held for reauth: chip, pages, 409 on Resume, Reconnect through the provider, then on', async () => {
  const { server, provider } = env;
  const crm = await createConnection('crm', 'hubspot', { working: false });
  const call = (mode) => ({
    id: `contacts-${mode}`,
    kind: 'workflow',
    mode,
    steps: [
      { id: 'fetch', type: 'http', with: { method: 'GET', url: provider.apiUrl('contacts'), connection: 'crm' } },
      { id: 'done', type: 'noop', with: { value: { synced: true } } },
    ],
  });
  await server.putWorkflow(call('standard'));
  await server.putWorkflow(call('agent'));
  // An operator's pause, which the reauth chip must leave out.
  await server.putWorkflow(blockingWorkflow('slow', env.target.hold('/slow')));
  const operatorPaused = await server.startRun('slow');
  await server.waitStep(operatorPaused.id, 'call', 'running');
  await server.ok('POST', `/api/v1/runs/${operatorPaused.id}/pause`, {});

  const paused = await server.startRun('contacts-standard');
  const heldPaused = await server.waitRun(paused.id, (r) => r.status === 'paused', 'paused for reauth');
  assert.deepEqual(
    [heldPaused.pause.reason, heldPaused.pause.connection_id, heldPaused.pause.by],
    ['reauth', crm.id, 'system'],
  );
  const waiting = await server.startRun('contacts-agent');
  const heldWaiting = await server.waitRun(waiting.id, (r) => r.status === 'waiting', 'waiting for reauth');
  assert.deepEqual([heldWaiting.wait.kind, heldWaiting.wait.connection_id], ['reauth', crm.id]);
  assert.equal((await provider.stats()).api_calls, 0, 'held before the call');

  const page = await pageAs('admin');
  await banner(page).getByRole('link', { name: 'Hubspot reauth required' }).waitFor();

  // The chip lists exactly the runs paused for reauth.
  await page.goto(RUNS);
  await page.getByRole('group', { name: 'Filter by status' }).getByRole('button', { name: 'Paused for reauth' }).click();
  await page.waitForURL('**pause_reason=reauth**');
  await waitFor(
    async () =>
      (await page.locator('tbody tr[data-run-id]').evaluateAll((trs) => trs.map((tr) => tr.dataset.runId))).join() ===
      paused.id,
    { desc: 'only the reauth-paused run' },
  );
  await page.locator(`tr[data-run-id="${paused.id}"] .badge`, { hasText: 'Paused for reauth' }).waitFor();

  // The paused run: which connection holds it and what to do; Resume is refused.
  await page.goto(runUrl(paused.id));
  await page.locator('.run__title .badge', { hasText: 'Paused for reauth' }).waitFor();
  const hold = page.locator('.reauth-hold');
  await hold.getByRole('link', { name: 'crm' }).waitFor();
  assert.equal(await hold.getByRole('link', { name: 'crm' }).getAttribute('href'), connectionUrl(crm.id));
  await hold.getByText('Reconnect the connection, then resume this run.').waitFor();
  await hold.getByText('Hubspot reauth required').waitFor();
  await page.getByRole('button', { name: 'Resume' }).click();
  const refused = toast(page, 'Failed to resume workflow run');
  await refused.waitFor();
  assert.equal((await refused.locator('.toast__detail').innerText()).trim(), NEEDS_REAUTH);
  assert.equal((await server.getRun(paused.id)).status, 'paused');

  // The agent-mode run: the pill, and that it goes on by itself.
  await page.goto(runUrl(waiting.id));
  const pill = page.getByRole('link', { name: 'Awaiting reauth' });
  await pill.waitFor();
  assert.equal(await pill.getAttribute('href'), connectionUrl(crm.id));
  await page.locator('.reauth-hold').getByText('This run resumes by itself once the connection is reconnected.').waitFor();
  assert.deepEqual(await page.getByRole('group', { name: 'Run actions' }).getByRole('button').allInnerTexts(), [
    'Cancel',
    'Refresh',
  ]);

  // The connection's page: its error and the two runs it holds.
  await pill.click();
  await page.waitForURL(`**${connectionUrl(crm.id)}`);
  await page.getByRole('heading', { name: 'crm', level: 1 }).waitFor();
  await page.locator('.page__header .badge', { hasText: 'Needs reauth' }).waitFor();
  const held = page.getByRole('region', { name: 'Runs it holds' });
  await held.locator(`tr[data-run-id="${paused.id}"]`).waitFor();
  await held.locator(`tr[data-run-id="${waiting.id}"]`).getByText('Awaiting reauth').waitFor();
  assert.equal(await held.locator('tr[data-run-id]').count(), 2, 'not the operator-paused run');

  // Reconnect: the server's authorize URL, the provider's consent, the server's callback,
  // and back here.
  const requests = [];
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  await page.getByRole('button', { name: 'Reconnect' }).click();
  await toast(page, 'Connection reconnected').waitFor();
  await page.waitForURL((url) => url.pathname === connectionUrl(crm.id) && !url.search.includes('reconnected'));
  for (const step of [`/api/v1/connections/${crm.id}/authorize`, '/authorize', '/oauth/callback']) {
    assert.ok(requests.includes(step), `went through ${step}: ${requests.join(' ')}`);
  }
  assert.equal((await provider.stats()).code_grants, 1);
  await page.locator('.page__header .badge', { hasText: 'Active' }).waitFor();
  assert.equal((await server.ok('GET', `/api/v1/connections/${crm.id}`)).status, 'active');
  await waitFor(async () => (await banner(page).count()) === 0, { desc: 'the banner gone' });
  await openWithBanner(page);
  assert.equal(await banner(page).count(), 0, 'no banner after a reload either');

  // The agent-mode run went on by itself; the other one waits for Resume, which works now.
  await server.waitRun(waiting.id, (r) => r.status === 'completed', 'completed by itself');
  assert.equal((await server.getRun(paused.id)).status, 'paused');
  await page.goto(runUrl(paused.id));
  await page.locator('.reauth-hold').getByText('The connection is reconnected: resume this run.').waitFor();
  await page.getByRole('button', { name: 'Resume' }).click();
  await toast(page, 'Workflow run resumed').waitFor();
  const done = await server.waitRun(paused.id, (r) => r.status === 'completed', 'completed after Resume');
  assert.deepEqual(done.output, { synced: true });
  assert.ok((await provider.stats()).api_calls >= 2, 'both runs called the API');
  assert.deepEqual(page.pageErrors, []);

  env.target.release('/slow');
  await page.context().close();
});

test('only an admin gets Reconnect and Refresh now; a refused refresh or consent shows why', async () => {
  const healthy = await createConnection('calendar', 'google');
  const broken = await brokenConnection('tickets', 'zendesk');
  const manual = await brokenConnection('legacy', 'jira');
  await env.server.ok('POST', `/api/v1/connections/${manual.id}/reconnect`, {
    oauth2: { refresh_token: (await env.provider.control('seed')).refresh_token },
  });
  const noAuthorize = await createConnection('ledger', 'quickbooks', { authorize: false });

  const actions = (page) => page.getByRole('group', { name: 'Connection actions' });
  for (const role of ['viewer', 'operator']) {
    const page = await pageAs(role);
    await page.goto(connectionUrl(broken.id));
    await page.getByRole('heading', { name: 'tickets', level: 1 }).waitFor();
    await page.getByText(broken.error.message).first().waitFor();
    assert.equal(await actions(page).count(), 0, `${role}: no actions`);
    assert.equal(await page.getByRole('button', { name: 'Reconnect' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Refresh now' }).count(), 0);
    await page.getByText('An admin must reconnect it.').waitFor();
    await page.context().close();
  }

  const page = await pageAs('admin');
  await page.goto(connectionUrl(broken.id));
  await page.getByRole('heading', { name: 'tickets', level: 1 }).waitFor();
  assert.deepEqual(await actions(page).getByRole('button').allInnerTexts(), ['Reconnect', 'Refresh now']);
  await page.getByRole('button', { name: 'Refresh now' }).click();
  const refused = toast(page, 'Failed to refresh connection');
  await refused.waitFor();
  assert.equal((await refused.locator('.toast__detail').innerText()).trim(), NEEDS_REAUTH);

  // The provider refuses consent: the server's callback says so, and nothing changes.
  await env.provider.control('mode', { deny_authorize: true });
  await page.getByRole('button', { name: 'Reconnect' }).click();
  await page.getByRole('heading', { name: 'The connection was not authorized' }).waitFor();
  assert.match(await page.locator('body').innerText(), /access_denied/);
  await env.provider.control('mode', { deny_authorize: false });
  assert.equal((await env.server.ok('GET', `/api/v1/connections/${broken.id}`)).status, 'error');

  const before = (await env.provider.stats()).refresh_grants;
  await page.goto(connectionUrl(healthy.id));
  await page.getByRole('button', { name: 'Refresh now' }).click();
  await toast(page, 'Connection refreshed').waitFor();
  assert.equal((await env.provider.stats()).refresh_grants, before + 1);
  await page.locator('.page__header .badge', { hasText: 'Active' }).waitFor();

  // Reconnected through the API (new tokens): active, out of the banner.
  await openWithBanner(page, connectionUrl(manual.id));
  await page.locator('.page__header .badge', { hasText: 'Active' }).waitFor();
  await banner(page).waitFor();
  assert.deepEqual(await bannerRows(page), [['Zendesk reauth required', connectionUrl(broken.id)]]);

  // Without an authorize URL there is no flow to start.
  await page.goto(connectionUrl(noAuthorize.id));
  await page.getByRole('heading', { name: 'ledger', level: 1 }).waitFor();
  assert.ok(await page.getByRole('button', { name: 'Reconnect' }).isDisabled());
  assert.deepEqual(page.pageErrors, []);
  await page.context().close();
  for (const c of [healthy, broken, manual, noAuthorize]) {
    await deleteConnection(c.id);
  }
});

test('at a phone width the banner and the connections page fit', async () => {
  const broken = await brokenConnection('mail', 'gmail');
  const page = await newPage(env.browser, env.server, { viewport: { width: 390, height: 800 } });
  await signIn(page, env.server.adminToken);
  await page.goto('/default/connections');
  await page.locator(`tr[data-connection-id="${broken.id}"]`).waitFor();
  await banner(page).getByRole('link', { name: 'Gmail reauth required' }).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  await page.context().close();
  await deleteConnection(broken.id);
});
