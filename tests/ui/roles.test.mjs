// What each role sees: a viewer gets no controls at all; an operator gets the run
// controls the run allows; only an admin disables and enables a workflow.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { blockingWorkflow, newPage, quickWorkflow, runUrl, setup, signIn, toast } from './harness.mjs';

let env;
let inFlight;
let paused;
let finished;

before(async () => {
  env = await setup();
  await env.server.putWorkflow(blockingWorkflow('roles', env.target.hold('/roles')));
  await env.server.putWorkflow(quickWorkflow('roles-quick'));
  inFlight = (await env.server.startRun('roles')).id;
  paused = (await env.server.startRun('roles')).id;
  finished = (await env.server.startRun('roles-quick')).id;
  await env.server.waitStep(inFlight, 'call', 'running');
  await env.server.waitStep(paused, 'call', 'running');
  await env.server.ok('POST', `/api/v1/runs/${paused}/pause`, {});
  await env.server.waitRun(finished, (r) => r.status === 'completed', 'completed');
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

async function actionNames(page, runId, status) {
  await page.goto(runUrl(runId));
  await page.locator('.run__title .badge', { hasText: status }).waitFor();
  return page.getByRole('group', { name: 'Run actions' }).getByRole('button').allInnerTexts();
}

test('a viewer sees no controls', async () => {
  const page = await pageAs('viewer');
  await page.getByText('default · viewer').waitFor();
  assert.deepEqual(await actionNames(page, inFlight, 'Running'), ['Refresh']);
  assert.deepEqual(await actionNames(page, paused, 'Paused'), ['Refresh']);
  assert.deepEqual(await actionNames(page, finished, 'Completed'), ['Refresh']);

  await page.goto('/default/workflows/roles');
  await page.getByRole('heading', { name: 'roles', exact: true }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Disable' }).count(), 0);
  await page.context().close();
});

test('an operator sees the controls the run allows, and no workflow controls', async () => {
  const page = await pageAs('operator');
  assert.deepEqual(await actionNames(page, inFlight, 'Running'), ['Pause', 'Cancel', 'Refresh']);
  assert.deepEqual(await actionNames(page, paused, 'Paused'), ['Resume', 'Cancel', 'Refresh']);
  assert.deepEqual(await actionNames(page, finished, 'Completed'), ['Replay', 'Refresh']);

  await page.goto('/default/workflows/roles');
  await page.getByRole('heading', { name: 'roles', exact: true }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Disable' }).count(), 0);
  await page.context().close();
});

test('an admin disables and enables a workflow and reads its version history', async () => {
  const page = await pageAs('admin');
  const v2 = quickWorkflow('roles-quick');
  v2.steps[0].with.value = { ok: 'second version' };
  await env.server.putWorkflow(v2);

  await page.goto('/default/workflows');
  await page.getByRole('link', { name: 'roles-quick' }).click();
  await page.getByRole('heading', { name: 'roles-quick', exact: true }).waitFor();
  const definition = page.getByRole('region', { name: /Definition of version/ });
  await definition.getByText('second version').waitFor();
  await page.getByLabel('Version', { exact: true }).selectOption('1');
  await page.getByRole('region', { name: 'Definition of version 1' }).getByText('"ok": true').waitFor();
  await page.getByRole('region', { name: 'Recent runs' }).getByRole('link', { name: finished }).waitFor();

  await page.getByRole('button', { name: 'Disable' }).click();
  await toast(page, 'Workflow disabled').waitFor();
  await page.locator('.run__title .badge', { hasText: 'Disabled' }).waitFor();
  assert.equal((await env.server.ok('GET', '/api/v1/workflows/roles-quick')).status, 'disabled');
  const refused = await env.server.api('POST', '/api/v1/workflows/roles-quick/runs', { input: {} });
  assert.equal(refused.status, 409);

  await page.getByRole('button', { name: 'Enable' }).click();
  await toast(page, 'Workflow enabled').waitFor();
  await page.locator('.run__title .badge', { hasText: 'Active' }).waitFor();
  assert.equal((await env.server.ok('GET', '/api/v1/workflows/roles-quick')).status, 'active');
  await page.context().close();
});
