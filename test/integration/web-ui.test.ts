// The Temporal Web UI in a real browser: a small migration runs to the end on the local stack, then
// headless Chromium finds it in the Web UI through its typed search attributes and opens it; its static
// summary and its current details (the progress table the workflow publishes) must show. Screenshots go
// to test-artifacts/web-ui/.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { listMigrations, startMigration, staticSummary } from '../../src/client.js';
import { deleteNamespaces } from '../../src/dev/sample-app.js';
import type { MigrationRequestInput } from '../../src/domain/request.js';
import { freshArtifactsDir, launchChromium, openPage, saveScreenshot, webUiUrl } from '../support/browser.js';
import { kubeconfigFrom, stackEnv, startStackWorker, waitFor, type StackWorker } from '../support/stack.js';

const env = stackEnv();
const run = `ui-${randomBytes(3).toString('hex')}`;
const ns = `${run}-app`;
const migrationId = `${run}-migrate`;
const request: MigrationRequestInput = {
  source: { cluster: 'source' },
  target: { cluster: 'target' },
  storage: { bucket: 'kubeferry', prefix: `test/${run}` },
  namespaces: { include: [ns] },
  readiness: { pollInterval: '1s', timeout: '2m' },
};

let uiUrl: string;
let browser: Browser;
let page: Page;
let stack: StackWorker;
const screenshots: string[] = [];


before(async () => {
  // Fail before anything is created when the browser or the Web UI is missing.
  uiUrl = await webUiUrl();
  browser = await launchChromium();
  freshArtifactsDir('web-ui');
  page = await openPage(browser, uiUrl);
  // Loads the Web UI's scripts into the browser's cache while the worker bundles its workflows (a
  // warm-up only: what the test relies on is loaded again, and checked, below).
  const warmUp = page.goto(`${uiUrl}/namespaces/default/workflows`).catch(() => undefined);
  stack = await startStackWorker(run);
  await warmUp;
  const { source } = stack;
  await source.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
  await source.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: { metadata: { name: 'web-config' }, data: { GREETING: 'hello' } } });
  await source.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
    body: {
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        replicas: 1, selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'registry.example/web:1', envFrom: [{ configMapRef: { name: 'web-config' } }] }] },
        },
      },
    },
  });
});

after(async () => {
  await browser?.close();
  for (const file of [env.SOURCE_KUBECONFIG!, env.TARGET_KUBECONFIG!]) {
    await deleteNamespaces(kubeconfigFrom(file), [ns]).catch(() => undefined);
  }
  await stack?.stop();
});

/** Waits until a locator shows; a failure names what was expected, on which page. */
async function shows(locator: Locator, what: string, timeout = 20_000): Promise<Locator> {
  await locator.first().waitFor({ state: 'visible', timeout }).catch((err: Error) => {
    throw new Error(`the Web UI does not show ${what} at ${page.url()}: ${err.message.split('\n')[0]}`);
  });
  return locator.first();
}

/** Visible text, whitespace collapsed. */
const plain = async (locator: Locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();

describe('Temporal Web UI in headless Chromium', () => {
  it('finds a finished migration through its search attributes and shows its summary and current details', async () => {
    const result = await (await startMigration(stack.client, stack.config.temporal.taskQueue, migrationId, request)).result();
    assert.equal(result.status, 'Completed', JSON.stringify(result.progress.errors));
    assert.equal(result.progress.phase, 'completed');
    assert.ok(result.progress.objects.restored >= 3, `a Namespace, a ConfigMap and a Deployment restored: ${JSON.stringify(result.progress.objects)}`);
    // The Web UI lists from the same visibility store: wait until the migration is indexed as completed.
    const query = `MigrationId="${migrationId}" AND MigrationPhase="completed"`;
    await waitFor('the migration in visibility', async () => (await listMigrations(stack.client, query))[0], 30_000);

    try {
      // 1. The workflows list, narrowed by the typed search attributes in the URL.
      await page.goto(`${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
      const link = await shows(page.getByRole('link', { name: migrationId, exact: true }), `a link to workflow ${migrationId} in the filtered list`);
      const rows = page.getByRole('row').filter({ has: page.getByRole('link', { name: migrationId, exact: true }) });
      assert.equal(await rows.count(), 1, 'one row for the migration');
      const row = await plain(rows.first());
      assert.match(row, /COMPLETED/, row);
      assert.match(row, /migrateCluster/, row);
      // The query was taken as filters on the search attributes, not ignored.
      await shows(page.getByText(`MigrationId = "${migrationId}"`, { exact: true }), 'the MigrationId filter');
      await shows(page.getByText('MigrationPhase = "completed"', { exact: true }), 'the MigrationPhase filter');
      screenshots.push(await saveScreenshot(page, 'web-ui', 'workflows-list'));

      // 2. The migration itself, and its user metadata: the static summary set when it started, and
      // the current details the workflow published last (read by a query, answered by the still-running worker).
      await link.click();
      await page.waitForURL((url) => url.pathname.startsWith(`/namespaces/default/workflows/${migrationId}/`));
      await shows(page.getByRole('heading', { name: migrationId }), 'the migration id as the page heading');
      await (await shows(page.getByRole('tab', { name: 'User Metadata' }), 'the User Metadata tab')).click();
      await shows(page.getByRole('heading', { name: 'Summary', exact: true }), 'the Summary heading');
      await shows(page.getByRole('heading', { name: 'Current Details', exact: true }), 'the Current Details heading');

      // Each is markdown rendered in its own iframe (`/render?content=...`), named after its section.
      const summary = page.locator('iframe#user-metadata-summary').contentFrame();
      await shows(summary.getByText(staticSummary(request), { exact: true }), `the static summary "${staticSummary(request)}"`);

      const details = page.locator('iframe#user-metadata-current-details').contentFrame();
      const p = result.progress;
      await shows(details.getByText('completed', { exact: true }), 'the phase "completed" in the current details');
      const detailRow = async (name: string) => plain(await shows(details.getByRole('row').filter({ has: details.getByRole('cell', { name, exact: true }) }), `the "${name}" row of the current details`));
      assert.equal(await detailRow('objects'), `objects ${p.objects.restored} restored, ${p.objects.updated} updated, ${p.objects.skipped} skipped (${p.objects.differing} differ), ${p.objects.failed} failed of ${p.objects.total} (backed up ${p.objects.backedUp})`);
      assert.equal(await detailRow('waves'), `waves ${p.waves.done} of ${p.waves.total} done`);
      assert.equal(await detailRow('ready'), 'ready 1 of 1 workloads (100%)');
      screenshots.push(await saveScreenshot(page, 'web-ui', 'migration-user-metadata'));
    } catch (err) {
      await saveScreenshot(page, 'web-ui', 'failure').catch(() => undefined);
      throw err;
    }

    for (const file of screenshots) assert.ok(fs.statSync(file).size > 0, `${file} is empty`);
  });
});
