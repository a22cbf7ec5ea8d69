// `trellis ui` in a real browser (Debian's chromium) against the test cluster, with both
// controllers as processes and a real registry: a Package installed, upgraded, failed and
// rolled back shows up in the overview as it happens (no reload); its page shows phases
// with health, the history and a revision diff; actions started from the page (rollback,
// unpin, suspend, resume, reconcile) change the cluster as the CLI would; a screenshot of
// each page is kept; the page logs no console error.
import { join } from 'node:path';
import anyTest, { type ExecutionContext } from 'ava';
import type { Page } from 'playwright-core';
import type { Package } from '../../../apply-controller/index.ts';
import { getCondition } from '../../../runtime/conditions.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { OciClient } from '../../../source-controller/oci/index.ts';
import { eventually, scratchDir, testNamespace, useCluster, withCluster, type TestCluster } from '../../support/cluster.ts';
import { startController, withControllers } from '../../support/controllers.ts';
import { useRegistry, withServers } from '../../support/servers.ts';
import { openBrowser, pushVersion, screenshot, startUi, watchedPage, type Version } from './support.ts';

const test = withControllers(withServers(withCluster(anyTest)));

/** An element, as the in-page functions below read it. */
interface InPageElement {
  getAttribute(name: string): string | null;
  querySelector(selector: string): { readonly textContent: string | null } | null;
}

/** The browser globals the in-page functions below use (tests are type-checked without the DOM library). */
interface InPage {
  readonly document: {
    querySelector(selector: string): { readonly textContent: string | null } | null;
    getElementById(id: string): { replaceChildren(): void } | null;
    readonly body: unknown;
  };
  readonly MutationObserver: new (callback: () => void) => { observe(target: unknown, options: object): void };
  marker?: boolean;
  states?: string[];
}

const v1: Version = { version: '1.0.0', greeting: 'one', image: 'nginx:1.25' };
const v2: Version = { version: '1.1.0', greeting: 'two', image: 'nginx:1.25' };
const bad: Version = { version: '1.2.0', greeting: 'three', image: 'nginx:fail' };

async function startControllers(cluster: TestCluster, ns: string): Promise<void> {
  const common = ['--kubeconfig', cluster.kubeconfigPath, '--metrics-addr', '', '--health-addr', '', '--watch-namespace', ns];
  await Promise.all([
    startController({ entry: 'source-controller/main.ts', name: 'e2e-ui-source',
      args: [...common, '--storage-path', join(scratchDir('ui-source-storage'), 'data'), '--artifact-addr', '127.0.0.1:0'] }),
    startController({ entry: 'apply-controller/main.ts', name: 'e2e-ui-apply', args: [...common, '--artifact-cache-dir', scratchDir('ui-apply-cache')] }),
  ]);
}

/** Waits until the element `selector` exists and its text matches `pattern` (no reload, no polling of the server). */
async function waitForText(page: Page, selector: string, pattern: RegExp, timeout = 90_000): Promise<void> {
  await page.waitForFunction(([sel, source, flags]) => {
    const el = (globalThis as unknown as InPage).document.querySelector(sel);
    return el !== null && new RegExp(source, flags).test(el.textContent ?? '');
  }, [selector, pattern.source, pattern.flags] as const, { timeout });
}

/** Marks the element `selector` with `data-drawn-before`: a redraw, which builds it anew, drops the mark. */
async function markDrawn(page: Page, selector: string): Promise<void> {
  await page.$eval(selector, (el) => { (el as unknown as { setAttribute: (name: string, value: string) => void }).setAttribute('data-drawn-before', ''); });
}

/** Clicks an action button, checks the confirmation says what will happen, confirms, and returns what the command said. */
async function confirmAction(t: ExecutionContext, page: Page, button: string, says: RegExp): Promise<string> {
  await page.evaluate(() => (globalThis as unknown as InPage).document.getElementById('action-result')?.replaceChildren());
  await page.click(button);
  await page.waitForSelector('dialog#confirm[open]');
  t.regex(await page.textContent('#confirm-text') ?? '', says);
  t.regex(await page.textContent('#confirm-command') ?? '', /^kubectl package /);
  await page.click('#confirm-ok');
  await page.waitForSelector('#action-result pre');
  return await page.textContent('#action-result pre') ?? '';
}

function packageOf(client: KubeClient, ns: string): () => Promise<Package | undefined> {
  return () => client.get<Package>({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'web' });
}

function releaseOnTeardown(t: ExecutionContext, client: KubeClient, ns: string): void {
  t.teardown(async () => {
    await client.patch({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'web' },
      { metadata: { finalizers: null } }).catch(() => undefined);
  });
}

test('a Package installed, upgraded, failed and rolled back, watched and steered in the browser', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = new KubeClient(cluster.kubeConfig, { qps: 0 });
  releaseOnTeardown(t, client, ns);
  const registry = await useRegistry();
  const oci = new OciClient({ insecure: true });
  t.teardown(() => oci.close());
  const repo = `oci://${registry.host}/e2e/ui-${ns}`;
  await pushVersion(oci, repo, v1);
  const [ui, browser] = await Promise.all([startUi(t, cluster.kubeconfigPath), openBrowser(t), startControllers(cluster, ns)]);
  const { page, errors } = await watchedPage(browser);
  await page.goto(ui.url);
  await page.waitForSelector('table.packages');
  // Marks this document: a reload would lose it. Records every state the row shows.
  await page.evaluate((selector) => {
    const w = globalThis as unknown as InPage;
    const states: string[] = [];
    w.marker = true;
    w.states = states;
    new w.MutationObserver(() => {
      const state = w.document.querySelector(selector)?.textContent;
      if (state && states.at(-1) !== state) states.push(state);
    }).observe(w.document.body, { subtree: true, childList: true, characterData: true });
  }, `tr[data-package="${ns}/web"] [data-field="state"]`);

  const row = `tr[data-package="${ns}/web"]`;
  await client.create({
    apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', metadata: { name: 'web', namespace: ns },
    spec: { url: repo, ref: { semver: '^1.0' }, interval: '1s', insecure: true },
  });
  await client.create({
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name: 'web', namespace: ns },
    spec: { sourceRef: { kind: 'OCIRepository', name: 'web' }, interval: '1m', retryInterval: '2s', timeout: '6s', rollback: { onFailure: true } },
  });
  await waitForText(page, `${row} [data-field="source-revision"]`, /^1\.0\.0@sha256:/);
  await waitForText(page, `${row} [data-field="state"]`, /^Ready$/);
  await waitForText(page, `${row} [data-field="revision"]`, /^1/);

  await pushVersion(oci, repo, v2);
  await waitForText(page, `${row} [data-field="source-revision"]`, /^1\.1\.0@sha256:/);
  await waitForText(page, `${row} [data-field="state"]`, /^Ready$/);
  // Drift: someone edits a managed object; the correction shows up as the row's last event.
  await client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'web-config' }, { data: { greeting: 'tampered' } });
  await waitForText(page, `${row} [data-field="message"]`, /^DriftCorrected: .*ConfigMap/);
  await screenshot(t, page, 'overview');

  await pushVersion(oci, repo, bad);
  await waitForText(page, `${row} [data-field="message"]`, /RolledBack|rolled back/i);
  await waitForText(page, `${row} [data-field="revision"]`, /^2/);
  const seen = await page.evaluate(() => (globalThis as unknown as InPage).states ?? []);
  const firstReady = seen.indexOf('Ready');
  t.true(firstReady >= 0 && seen.slice(firstReady).some((s) => s !== 'Ready'),
    `the row showed Ready, then the rollouts and the failure, as they happened: ${seen.join(' -> ')}`);
  t.log(`states seen: ${seen.join(' -> ')}`);
  t.true(await page.evaluate(() => (globalThis as unknown as InPage).marker === true), 'the page was never reloaded');

  // The Package page: phases with health, the history timeline, a diff between revisions.
  await page.click(`${row} a`);
  await page.waitForSelector('ol.timeline li[data-revision="3"]');
  // Each object's health as the apply controller judges it (the rolled-back Deployment may still be settling).
  await waitForText(page, 'li[data-phase="config"] li[data-object="ConfigMap/web-config"] [data-field="health"]', /^Current$/);
  await waitForText(page, 'li[data-phase="apps"] li[data-object="Deployment/web"] [data-field="health"]', /^Current$/);
  t.deepEqual(await page.$$eval('ol.timeline > li', (items) => (items as unknown as InPageElement[]).map((li) =>
    `${li.getAttribute('data-revision') ?? ''}:${li.querySelector('[data-field="phase"]')?.textContent ?? ''}`
    + `${li.querySelector('[data-field="current"]') ? ':current' : ''}${li.querySelector('[data-field="rolled-back"]') ? ':rolled-back' : ''}`)),
  ['3:Failed', '2:Available:current:rolled-back', '1:Superseded']);
  t.regex(await page.textContent('li[data-revision="3"] [data-field="source"]') ?? '', /^1\.2\.0@sha256:/);
  await page.selectOption('#diff-from', '1');
  await page.selectOption('#diff-to', '2');
  await page.click('#diff-compare');
  await page.waitForSelector('#revision-diff li[data-diff="phase apps"]');
  t.regex(await page.textContent('#revision-diff li[data-diff="source"]') ?? '', /1\.0\.0@sha256:\w+ → 1\.1\.0@sha256:/);
  t.is(await page.textContent('#revision-diff li[data-diff="phase config"]'), 'phase config: changed (1 objects)');
  t.is(await page.textContent('#revision-diff li[data-diff="phase apps"]'), 'phase apps: unchanged (1 objects)');
  t.regex(await page.textContent('#revision-diff li[data-diff="values"]') ?? '', /unchanged/);
  await waitForText(page, '[data-section="drift"] tbody', /DriftCorrected.*ConfigMap/);
  await page.click('#plan-preview');
  await waitForText(page, '#plan', /Source 1\.2\.0@sha256:\w+: 2 to create or change, 0 to delete/);
  await screenshot(t, page, 'package');

  // Roll back to revision 1 from the timeline: the pin is written and the cluster follows.
  const getPackage = packageOf(client, ns);
  const rolled = await confirmAction(t, page, 'li[data-revision="1"] button[data-action="rollback"]', /pinned to revision #1 .*re-applies/s);
  t.regex(rolled, /rolled back: pinned to revision 1/);
  const pinned = await eventually(async () => {
    const p = await getPackage();
    return p?.status?.currentRevision === 1 && getCondition(p.status.conditions, 'Ready')?.status === 'True' ? p : undefined;
  }, 60_000);
  t.is(pinned.spec.rollback?.revision, 1);
  const config = await client.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'web-config' });
  t.is(config?.data?.greeting, 'one', 'the cluster runs revision 1 again');
  await waitForText(page, '[data-field="revision"]', /^1 pinned to #1/);

  // A confirmation dismissed from the keyboard sends nothing.
  await page.focus('button[data-action="suspend"]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('dialog#confirm[open]');
  await page.keyboard.press('Escape');
  await page.waitForSelector('dialog#confirm', { state: 'hidden' });
  t.false((await getPackage())?.spec.suspend, 'Escape cancelled the suspend');

  // A live redraw while a button is held down waits for its release: replacing the button
  // between the press and the release would send the click to nobody.
  // The button is marked once pressed: a redraw already under way before the press may replace it.
  // hover, not a box measured once: it waits out a redraw that replaces the button while it is found.
  await page.hover('button[data-action="suspend"]');
  await page.mouse.down();
  await markDrawn(page, 'button[data-action="suspend"]');
  const refetched = page.waitForResponse((r) => new URL(r.url()).pathname === `/api/packages/${ns}/web`, { timeout: 60_000 });
  await client.patch({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'web' }, { metadata: { labels: { held: 'yes' } } });
  await (await refetched).finished();
  await page.waitForTimeout(200);
  t.truthy(await page.$('button[data-action="suspend"][data-drawn-before]'), 'no redraw while the button is held');
  await page.mouse.up();
  await page.waitForSelector('dialog#confirm[open]', { timeout: 5_000 });
  await page.click('#confirm-cancel');
  await page.waitForSelector('dialog#confirm', { state: 'hidden' });
  await page.waitForSelector('button[data-action="suspend"]:not([data-drawn-before])', { timeout: 5_000 });
  t.false((await getPackage())?.spec.suspend, 'Cancel sent nothing');

  // Unpin, suspend, resume, reconcile: each the CLI's request.
  t.regex(await confirmAction(t, page, 'button[data-action="unpin"]', /follows OCIRepository/), /unpinned/);
  await eventually(async () => (await getPackage())?.spec.rollback?.revision === undefined, 10_000);
  t.regex(await confirmAction(t, page, 'button[data-action="suspend"]', /stops applying/), /suspended/);
  t.true((await getPackage())?.spec.suspend);
  await waitForText(page, 'h1 [data-field="state"]', /^Suspended$/);
  t.regex(await confirmAction(t, page, 'button[data-action="resume"]', /manages .* again/), /resumed/);
  t.false((await getPackage())?.spec.suspend);
  await page.check('#with-source');
  // A live redraw (the Package changed) builds the action bar anew: the tick must survive it.
  await markDrawn(page, '#with-source');
  await client.patch({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'web' }, { metadata: { labels: { redraw: 'yes' } } });
  await page.waitForSelector('#with-source:not([data-drawn-before])', { timeout: 60_000 });
  t.true(await page.isChecked('#with-source'), '"with its source" is still ticked after a redraw');
  t.regex(await confirmAction(t, page, 'button[data-action="reconcile"]', /source OCIRepository/), /ocirepository.*reconcile requested[\s\S]*package.*reconcile requested/);
  t.truthy((await getPackage())?.metadata.annotations?.['reconcile.trellis.dev/requestedAt']);

  await page.click('a[data-nav="sources"]');
  await waitForText(page, `tr[data-source="OCIRepository/${ns}/web"] [data-field="revision"]`, /^1\.2\.0@sha256:/);
  await screenshot(t, page, 'sources');
  await page.click(`tr[data-source="OCIRepository/${ns}/web"] a`);
  await waitForText(page, 'dd[data-field="digest"]', /^sha256:[0-9a-f]{64}$/);
  await screenshot(t, page, 'source');
  t.deepEqual(errors, [], 'no console errors');
});
