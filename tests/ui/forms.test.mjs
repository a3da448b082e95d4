// A run waiting for a form, in the browser: the form rendered from its JSON Schema (a
// text field, a number, a select from `enum`, a checkbox, required markers), invalid data
// answered with the server's message beside the field it concerns (and nothing changes),
// then a valid submission that becomes the step's output and lets the run complete. A
// viewer sees the fields without a Submit button.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newPage, runUrl, setup, signIn, toast } from './harness.mjs';

let env;
let page;

before(async () => {
  env = await setup();
  page = await newPage(env.browser, env.server);
  await signIn(page, env.server.adminToken);
  await env.server.putWorkflow({
    id: 'onboard',
    kind: 'workflow',
    steps: [
      {
        id: 'details',
        type: 'form',
        with: {
          message: 'Tell us about the new customer',
          schema: {
            type: 'object',
            required: ['name', 'age'],
            properties: {
              name: { type: 'string', title: 'Name' },
              age: { type: 'integer', title: 'Age', minimum: 18 },
              plan: { type: 'string', title: 'Plan', enum: ['free', 'pro'] },
              vip: { type: 'boolean', title: 'VIP', description: 'Priority support' },
            },
          },
        },
      },
      { id: 'welcome', type: 'noop', with: { value: { sent: true } } },
    ],
  });
});

after(async () => {
  await env?.close();
});

async function startForm() {
  const started = await env.server.startRun('onboard', {});
  return env.server.waitRun(started.id, (r) => r.status === 'waiting' && r.wait?.kind === 'form', 'waiting for the form');
}

function field(name) {
  return page.locator(`.schema-form__field[data-field="${name}"]`);
}

test('a field error shows beside its field; a valid submission completes the run', async () => {
  const run = await startForm();
  await page.goto(runUrl(run.id));
  const form = page.getByRole('region', { name: 'Form' });
  await form.getByText('Tell us about the new customer').waitFor();

  // Inputs from the schema, required ones marked and first.
  assert.deepEqual(await page.locator('.schema-form__field').evaluateAll((els) => els.map((e) => e.dataset.field)), [
    'name',
    'age',
    'plan',
    'vip',
  ]);
  assert.equal(await form.getByLabel('Name').getAttribute('type'), 'text');
  assert.equal(await form.getByLabel('Age').getAttribute('type'), 'number');
  assert.deepEqual(await form.getByLabel('Plan').locator('option').allTextContents(), ['—', 'free', 'pro']);
  assert.equal(await form.getByLabel('VIP').getAttribute('type'), 'checkbox');
  assert.equal(await field('name').locator('.required').count(), 1);
  assert.equal(await field('age').locator('.required').count(), 1);
  assert.equal(await field('plan').locator('.required').count(), 0);

  await form.getByLabel('Name').fill('Ada');
  await form.getByLabel('Age').fill('12');
  await form.getByLabel('Plan').selectOption('pro');
  await form.getByLabel('VIP').check();
  await form.getByRole('button', { name: 'Submit' }).click();

  await toast(page, 'Failed to submit the form').waitFor();
  const ageError = field('age').locator('.field-error');
  await ageError.waitFor();
  assert.ok((await ageError.textContent()).length > 0);
  assert.equal(await form.getByLabel('Age').getAttribute('aria-invalid'), 'true');
  assert.equal(await field('name').locator('.field-error').count(), 0, 'only the wrong field is marked');
  assert.equal((await env.server.getRun(run.id)).status, 'waiting', 'invalid data changes nothing');

  await form.getByLabel('Age').fill('36');
  await form.getByRole('button', { name: 'Submit' }).click();
  await toast(page, 'Form submitted').waitFor();
  await page.locator('.run__title .badge', { hasText: 'Completed' }).waitFor();
  assert.equal(await page.getByRole('region', { name: 'Form' }).count(), 0, 'the form is gone once submitted');

  const done = await env.server.getRun(run.id);
  assert.deepEqual(done.steps.find((s) => s.id === 'details').output, { name: 'Ada', age: 36, plan: 'pro', vip: true });
  assert.deepEqual(page.pageErrors, []);
});

test('a viewer sees the form without a Submit button', async () => {
  const run = await startForm();
  const viewer = await newPage(env.browser, env.server);
  await signIn(viewer, await env.server.createToken('viewer', 'ui-viewer'));
  await viewer.goto(runUrl(run.id));
  const form = viewer.getByRole('region', { name: 'Form' });
  await form.getByLabel('Name').waitFor();
  assert.ok(await form.getByLabel('Name').isDisabled());
  assert.equal(await form.getByRole('button', { name: 'Submit' }).count(), 0);
  await viewer.context().close();
});
