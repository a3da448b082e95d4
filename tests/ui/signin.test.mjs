// Sign-in with a pasted token (session cookie), deep links, sign-out; and how the
// server serves the build (hashed assets cached for a year, index.html for deep links).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newPage, setup, signIn } from './harness.mjs';

let env;

before(async () => {
  env = await setup();
});

after(async () => {
  await env?.close();
});

test('a wrong token is refused; the right one opens the runs list; sign-out ends the session', async () => {
  const page = await newPage(env.browser, env.server);
  await page.goto('/');
  await page.getByRole('heading', { name: 'Sign in to Stepwell' }).waitFor();
  await page.getByLabel('API token').fill('sw_not-a-real-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'That token is not valid' }).waitFor();

  await page.getByLabel('API token').fill(env.server.adminToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/default/monitoring/workflow-runs');
  await page.getByRole('heading', { name: 'Workflow runs' }).waitFor();
  await page.getByText('default · admin').waitFor();
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'stepwell_session');
  assert.ok(session, 'a session cookie');
  assert.equal(session.httpOnly, true);
  assert.ok(!cookies.some((c) => c.value.includes(env.server.adminToken)), 'the token itself is not stored');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL('**/sign-in');
  await page.getByRole('heading', { name: 'Sign in to Stepwell' }).waitFor();
  const check = await page.request.get('/api/v1/session');
  assert.equal(check.status(), 401, 'the session is gone on the server');
  await page.goto('/default/monitoring/workflow-runs');
  await page.getByRole('heading', { name: 'Sign in to Stepwell' }).waitFor();
  assert.deepEqual(page.foreignRequests, []);
  await page.context().close();
});

test('a deep link asks to sign in and then shows the page it links to', async () => {
  await env.server.putWorkflow({ id: 'deep', kind: 'workflow', steps: [{ id: 'a', type: 'noop', with: { value: 1 } }] });
  const run = await env.server.startRun('deep');
  const page = await newPage(env.browser, env.server);
  await signIn(page, env.server.adminToken, { path: `/default/monitoring/workflow-runs/${run.id}` });
  await page.getByRole('heading', { name: run.id }).waitFor();
  assert.equal(new URL(page.url()).pathname, `/default/monitoring/workflow-runs/${run.id}`);

  // Reloading a deep link works (the server answers index.html for it).
  await page.reload();
  await page.getByRole('heading', { name: run.id }).waitFor();
  await page.context().close();
});

test('the server serves the build: index.html without cache, hashed assets for a year', async () => {
  const index = await fetch(env.server.url + '/default/monitoring/workflow-runs/run_x');
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  assert.match(index.headers.get('content-security-policy'), /default-src 'self'/);
  const html = await index.text();
  const asset = html.match(/src="(\/assets\/[^"]+\.js)"/)[1];
  assert.doesNotMatch(html, /<script>(?!<\/script>)/, 'no inline script');
  const js = await fetch(env.server.url + asset);
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.match(js.headers.get('content-type'), /javascript/);
});
