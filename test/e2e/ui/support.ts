/**
 * What the dashboard's browser tests share: `trellis ui` as a process against
 * the test cluster, Debian's chromium driven by playwright-core (installed by
 * `ensureDebianTool` on first use, never downloaded by playwright), a page that
 * records console errors, screenshots kept in the run folder, and a two-phase
 * bundle pushed to the test registry.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { stringify } from 'yaml';
import { startProcess, waitFor } from '../../../hack/lib/processes.ts';
import { ensureDebianTool, projectRoot } from '../../../hack/lib/system-tools.ts';
import { createDeterministicTarGz } from '../../../runtime/archive.ts';
import {
  parseReference, TRELLIS_ARTIFACT_TYPE, TRELLIS_CONFIG_MEDIA_TYPE, TRELLIS_CONTENT_MEDIA_TYPE, type OciClient,
} from '../../../source-controller/oci/index.ts';
import { runDir, scratchDir } from '../../support/cluster.ts';

/** A running `trellis ui`. */
export interface RunningUi {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  readonly port: number;
  /** What it wrote to stdout and stderr. */
  log(): string;
}

/**
 * Starts `trellis ui --port 0` (the checkout's, or `command` such as a built bundle)
 * with `kubeconfig`, stopped when the test ends; resolves once it printed its address.
 */
export async function startUi(t: ExecutionContext, kubeconfig: string, command: readonly string[] = [join(projectRoot, 'cli', 'trellis.ts')]): Promise<RunningUi> {
  const logFile = join(scratchDir('ui'), 'ui.log');
  const proc = startProcess('trellis-ui', process.execPath, [...command, 'ui', '--port', '0', '--kubeconfig', kubeconfig], { logFile, cwd: projectRoot });
  t.teardown(() => proc.stop(5_000));
  const log = (): string => { try { return readFileSync(logFile, 'utf8'); } catch { return ''; } };
  const url = await waitFor('trellis ui to print its address', () => Promise.resolve(/Trellis UI: (http:\S+)/.exec(log())?.[1]), { timeoutMs: 60_000, process: proc });
  return { url, port: Number(new URL(url).port), log };
}

/** Flags that keep chromium from reaching for the network it does not have here. */
const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

/** A headless Debian chromium with a fresh profile, closed when the test ends. */
export async function openBrowser(t: ExecutionContext): Promise<BrowserContext> {
  const executablePath = ensureDebianTool('chromium', 'chromium', (line) => t.log(line));
  const context = await chromium.launchPersistentContext(scratchDir('chromium-profile'), {
    executablePath, headless: true, args: CHROMIUM_FLAGS, viewport: { width: 1440, height: 900 },
  });
  t.teardown(() => context.close());
  return context;
}

/** A page whose console errors and uncaught exceptions are collected into `errors`. */
export async function watchedPage(context: BrowserContext): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  page.on('pageerror', (err) => errors.push(err.message));
  return { page, errors };
}

/** Where screenshots go: `TRELLIS_UI_SCREENSHOTS`, else `ui-screenshots/` in the test run's folder. */
export function screenshotDir(): string {
  const dir = process.env.TRELLIS_UI_SCREENSHOTS ?? join(runDir(), 'ui-screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Saves a full-page screenshot as `<name>.png` and says where. */
export async function screenshot(t: ExecutionContext, page: Page, name: string): Promise<void> {
  const path = join(screenshotDir(), `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  t.log(`screenshot: ${path}`);
}

/** One version of the test package: two phases (config, then apps). */
export interface Version {
  readonly version: string;
  /** `data.greeting` of the config phase's ConfigMap. */
  readonly greeting: string;
  /** The Deployment's image; the simulated node never readies `…:fail`. */
  readonly image: string;
}

/** Pushes a two-phase Trellis bundle of `v` to `<repo>:<version>`. */
export async function pushVersion(oci: OciClient, repo: string, v: Version): Promise<void> {
  const tree = scratchDir('ui-bundle');
  const phase = (name: string): Record<string, string> => ({ 'apply.trellis.dev/phase': name });
  const files: Record<string, unknown> = {
    'package.yaml': { apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageManifest', name: 'web', version: v.version, phases: ['config', 'apps'] },
    'manifests/config.yaml': { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config', annotations: phase('config') }, data: { greeting: v.greeting } },
    'manifests/web.yaml': {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', annotations: phase('apps') },
      spec: {
        replicas: 1, selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: v.image }] } },
      },
    },
  };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(tree, 'src', path)), { recursive: true });
    writeFileSync(join(tree, 'src', path), stringify(content));
  }
  const tarball = join(tree, 'content.tar.gz');
  await createDeterministicTarGz(join(tree, 'src'), tarball);
  await oci.pushArtifact(parseReference(repo), {
    artifactType: TRELLIS_ARTIFACT_TYPE,
    config: { mediaType: TRELLIS_CONFIG_MEDIA_TYPE, bytes: new TextEncoder().encode(JSON.stringify({ name: 'web', version: v.version })) },
    layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, file: tarball }],
    annotations: { 'org.opencontainers.image.version': v.version },
    tag: v.version,
  });
}
