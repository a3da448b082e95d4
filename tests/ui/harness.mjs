// Browser-test harness: starts the real `stepwell serve` on a temporary data dir (port 0)
// serving the built UI, a local HTTP target whose requests can be held open (so a step
// stays in flight), and Debian's headless Chromium driven by playwright-core. Tests of
// connections also start the fake OAuth 2.0 provider (tests/support/oauth_provider.py).
//
// Every wait is bounded and polls a condition; nothing sleeps to synchronise.
//
// Environment:
//   STEPWELL_BIN     the server binary (default: build/stepwell under the repository)
//   STEPWELL_UI_DIR  the UI build to serve (default: web/dist)
//   CHROMIUM_BIN     the browser (default: /usr/bin/chromium)
//   SW_UI_KEEP       keep the servers' data directories
//   SW_SCREENSHOTS   write docs/screenshots/*.png (screenshots.test.mjs)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WEB_DIR = path.join(REPO_ROOT, 'web');

// playwright-core is a devDependency of web/ (installed by `make ui`).
const require = createRequire(path.join(WEB_DIR, 'package.json'));
const { chromium } = require('playwright-core');

const SERVER_START_MS = 30_000;
export const WAIT_MS = 15_000;

function resolveFromRepo(value, fallback) {
  const p = value || fallback;
  return path.isAbsolute(p) ? p : path.join(REPO_ROOT, p);
}

export function stepwellBin() {
  return resolveFromRepo(process.env.STEPWELL_BIN, 'build/stepwell');
}

export function uiDir() {
  return resolveFromRepo(process.env.STEPWELL_UI_DIR, 'web/dist');
}

// Polls `fn` until it returns a truthy value; fails after `timeout` ms with `desc`.
export async function waitFor(fn, { timeout = WAIT_MS, desc = 'condition', every = 25 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await fn();
    if (value) {
      return value;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${desc}`);
    }
    await new Promise((r) => setTimeout(r, every));
  }
}

// One `stepwell serve` process.
export class Server {
  // `allowShell` enables `shell` steps; `fakeClock` makes the server's time move only
  // through POST /api/v1/testing/clock/advance (advanceClock).
  static async start({ fakeClock = false, allowShell = false } = {}) {
    const bin = stepwellBin();
    if (!existsSync(bin)) {
      throw new Error(`stepwell binary not found at ${bin}; build it or set STEPWELL_BIN`);
    }
    const ui = uiDir();
    if (!existsSync(path.join(ui, 'index.html'))) {
      throw new Error(`the UI is not built (${ui}/index.html is missing); run make ui`);
    }
    const server = new Server();
    server.dataDir = mkdtempSync(path.join(tmpdir(), 'stepwell-ui-'));
    server.adminToken = 'sw_' + randomBytes(32).toString('base64url');
    const args = ['serve', '--data-dir', server.dataDir, '--listen', '127.0.0.1:0',
      '--allow-private-targets', '--ui-dir', ui];
    if (fakeClock) {
      args.push('--fake-clock');
    }
    if (allowShell) {
      args.push('--allow-shell');
    }
    server.log = [];
    server.proc = spawn(bin, args, {
      cwd: server.dataDir,
      env: { ...process.env, STEPWELL_ADMIN_TOKEN: server.adminToken },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [server.proc.stdout, server.proc.stderr]) {
      stream.on('data', (chunk) => server.log.push(chunk.toString()));
    }
    let exited = null;
    server.proc.on('exit', (code) => {
      exited = code;
    });
    const file = path.join(server.dataDir, 'listen-address');
    const address = await waitFor(
      () => {
        if (exited !== null) {
          throw new Error(`stepwell exited with ${exited}:\n${server.log.join('')}`);
        }
        if (!existsSync(file)) {
          return null;
        }
        const text = readFileSync(file, 'utf8');
        return text.endsWith('\n') ? text.trim() : null;
      },
      { timeout: SERVER_START_MS, desc: 'the server to listen' },
    ).catch((err) => {
      server.proc.kill('SIGKILL');
      throw new Error(`${err.message}; server output:\n${server.log.join('')}`);
    });
    server.url = `http://${address}`;
    return server;
  }

  // An API call with a bearer token (the admin's unless `token` is given).
  async api(method, apiPath, body, { token = this.adminToken, headers = {} } = {}) {
    const init = { method, headers: { Authorization: `Bearer ${token}`, ...headers } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const resp = await fetch(this.url + apiPath, init);
    const text = await resp.text();
    return { status: resp.status, headers: resp.headers, json: text ? JSON.parse(text) : null };
  }

  async ok(method, apiPath, body, opts) {
    const resp = await this.api(method, apiPath, body, opts);
    if (resp.status >= 300) {
      throw new Error(`${method} ${apiPath} answered ${resp.status}: ${JSON.stringify(resp.json)}`);
    }
    return resp.json;
  }

  putWorkflow(definition) {
    return this.ok('PUT', `/api/v1/workflows/${definition.id}`, definition);
  }

  startRun(wf, input = {}) {
    return this.ok('POST', `/api/v1/workflows/${wf}/runs`, { input });
  }

  getRun(id) {
    return this.ok('GET', `/api/v1/runs/${id}`);
  }

  // Moves the server's fake clock (a server started with `fakeClock`).
  advanceClock(ms) {
    return this.ok('POST', '/api/v1/testing/clock/advance', { ms });
  }

  async createToken(role, name) {
    return (await this.ok('POST', '/api/v1/tokens', { role, name })).token;
  }

  // Polls the run until `pred(run)` holds.
  waitRun(id, pred, desc = 'run condition') {
    return waitFor(async () => {
      const run = await this.getRun(id);
      return pred(run) ? run : null;
    }, { desc: `${desc} on ${id}` });
  }

  waitStep(id, stepId, status) {
    return this.waitRun(
      id,
      (r) => (r.steps ?? []).some((s) => s.id === stepId && s.status === status),
      `step ${stepId} ${status}`,
    );
  }

  async close() {
    if (this.proc && this.proc.exitCode === null) {
      const done = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(timer);
    }
    if (!process.env.SW_UI_KEEP) {
      rmSync(this.dataDir, { recursive: true, force: true });
    }
  }
}

// A local HTTP server for `http` steps. A held path keeps every request open until
// released, so the step calling it stays in flight.
export class Target {
  static async start() {
    const target = new Target();
    target.held = new Map(); // path -> { waiting: [res], released: bool }
    target.hits = new Map();
    target.server = http.createServer((req, res) => {
      const p = req.url.split('?')[0];
      target.hits.set(p, (target.hits.get(p) ?? 0) + 1);
      const hold = target.held.get(p);
      if (hold && !hold.released) {
        hold.waiting.push(res);
        return;
      }
      target.answer(res, p);
    });
    await new Promise((r) => target.server.listen(0, '127.0.0.1', r));
    target.port = target.server.address().port;
    return target;
  }

  answer(res, p) {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ ok: true, path: p }));
  }

  url(p) {
    return `http://127.0.0.1:${this.port}${p}`;
  }

  hold(p) {
    this.held.set(p, { waiting: [], released: false });
    return this.url(p);
  }

  release(p) {
    const hold = this.held.get(p);
    hold.released = true;
    for (const res of hold.waiting.splice(0)) {
      if (!res.destroyed) {
        this.answer(res, p);
      }
    }
  }

  waitForRequest(p, count = 1) {
    return waitFor(() => (this.hits.get(p) ?? 0) >= count, { desc: `request ${count} to ${p}` });
  }

  async close() {
    for (const p of this.held.keys()) {
      this.release(p);
    }
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

const PROVIDER_SCRIPT = path.join(REPO_ROOT, 'tests/support/oauth_provider.py');
const PROVIDER_CLIENT_ID = 'stepwell-test-client';
const PROVIDER_CLIENT_SECRET = 'stepwell-test-client-secret';

// The fake OAuth 2.0 provider as a process: a token endpoint, an authorize endpoint that
// consents by itself, a bearer-checked API under /api/, and /_control/ to steer it.
export class OAuthProvider {
  static async start() {
    const provider = new OAuthProvider();
    provider.log = [];
    provider.proc = spawn('python3', [PROVIDER_SCRIPT, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let exited = null;
    provider.proc.stdout.on('data', (chunk) => {
      out += chunk.toString();
    });
    provider.proc.stderr.on('data', (chunk) => provider.log.push(chunk.toString()));
    provider.proc.on('exit', (code) => {
      exited = code;
    });
    const port = await waitFor(() => {
      if (exited !== null) {
        throw new Error(`the OAuth provider exited with ${exited}:\n${provider.log.join('')}`);
      }
      return /^READY (\d+)$/m.exec(out)?.[1];
    }, { timeout: SERVER_START_MS, desc: 'the OAuth provider to listen' });
    provider.url = `http://127.0.0.1:${port}`;
    return provider;
  }

  async control(name, body = {}) {
    const resp = await fetch(`${this.url}/_control/${name}`, {
      method: name === 'stats' ? 'GET' : 'POST',
      headers: name === 'stats' ? {} : { 'Content-Type': 'application/json' },
      body: name === 'stats' ? undefined : JSON.stringify(body),
    });
    if (!resp.ok) {
      throw new Error(`provider ${name} answered ${resp.status}: ${await resp.text()}`);
    }
    return resp.json();
  }

  stats() {
    return this.control('stats');
  }

  apiUrl(p) {
    return `${this.url}/api/${p}`;
  }

  // The body of POST /api/v1/connections for a connection of this provider. `working`:
  // with a refresh token the provider issued (else one it never did, so the first refresh
  // is refused for good: invalid_grant); `authorize`: with the authorize URL Reconnect
  // needs.
  async connection(name, app, { working = true, authorize = true } = {}) {
    const refresh = working ? (await this.control('seed')).refresh_token : `rt-never-issued-${name}`;
    const oauth2 = {
      token_url: `${this.url}/token`,
      client_id: PROVIDER_CLIENT_ID,
      client_secret: PROVIDER_CLIENT_SECRET,
      refresh_token: refresh,
      scopes: ['contacts.read', 'contacts.write'],
    };
    if (authorize) {
      oauth2.authorize_url = `${this.url}/authorize`;
    }
    return { name, app, oauth2 };
  }

  async close() {
    if (this.proc && this.proc.exitCode === null) {
      const done = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await done;
    }
  }
}

// A workflow whose first step calls `url` and stays in flight while the target holds it.
export function blockingWorkflow(id, url) {
  return {
    id,
    kind: 'workflow',
    steps: [
      { id: 'call', type: 'http', timeout: '10m', with: { method: 'GET', url } },
      { id: 'done', type: 'noop', with: { value: { finished: true } } },
    ],
  };
}

export function quickWorkflow(id) {
  return { id, kind: 'workflow', steps: [{ id: 'only', type: 'noop', with: { value: { ok: true } } }] };
}

// Debian's Chromium, headless, as root: the flags keep it off the network it has no
// access to; Playwright gives it a fresh profile.
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

// A fresh browser context (own cookies) with a page; every request it makes is to `server`.
export async function newPage(browser, server, { viewport = { width: 1280, height: 900 } } = {}) {
  const context = await browser.newContext({ viewport, baseURL: server.url });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  page.foreignRequests = [];
  page.pageErrors = [];
  page.on('request', (req) => {
    if (!req.url().startsWith(server.url) && !req.url().startsWith('data:')) {
      page.foreignRequests.push(req.url());
    }
  });
  page.on('pageerror', (err) => page.pageErrors.push(String(err)));
  return page;
}

// Signs in through the sign-in page and waits for the runs list.
export async function signIn(page, token, { path: start = '/sign-in' } = {}) {
  await page.goto(start);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (start === '/sign-in') {
    await page.waitForURL('**/default/monitoring/workflow-runs');
    await page.getByRole('heading', { name: 'Workflow runs' }).waitFor();
  }
}

export function runUrl(runId) {
  return `/default/monitoring/workflow-runs/${runId}`;
}

// A toast with this exact title.
export function toast(page, title) {
  return page.locator('.toast').filter({ has: page.locator('.toast__title', { hasText: title }) });
}

// GET /api/v1/runs/{id} requests the page makes (the detail page's polls).
export function countRunRequests(page, runId) {
  const counter = { count: 0 };
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (req.method() === 'GET' && u.pathname === `/api/v1/runs/${runId}`) {
      counter.count++;
    }
  });
  return counter;
}

// Makes the page believe its tab is hidden (or visible again) and tells it so.
export function setHidden(page, hidden) {
  return page.evaluate((h) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

// Fixture for a test file: one server, one target, one browser, and with `oauth` the
// fake OAuth provider; closed after.
export async function setup({ fakeClock = false, allowShell = false, oauth = false } = {}) {
  const server = await Server.start({ fakeClock, allowShell });
  const target = await Target.start();
  const provider = oauth ? await OAuthProvider.start() : null;
  const browser = await launchBrowser();
  return {
    server,
    target,
    provider,
    browser,
    async close() {
      await browser.close().catch(() => {});
      await target.close().catch(() => {});
      await provider?.close().catch(() => {});
      await server.close();
    },
  };
}
