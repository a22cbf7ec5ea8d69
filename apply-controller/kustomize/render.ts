/**
 * Rendering a kustomization with the real `kustomize build`, hardened for input
 * nobody vetted: the preflight check first (preflight.ts), then the binary with
 * its safe defaults made explicit (load restrictor root-only; no alpha, exec or
 * Helm plugins), an environment that cannot reach anything (an empty PATH, so no
 * `git` or `helm` is found; HTTP(S) proxies that refuse every connection; a
 * fresh, empty HOME and plugin folder), a deadline and an output cap.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { problem, type BundleProblem } from '../bundle/problems.ts';
import { checkKustomization } from './preflight.ts';
import { kustomizeSettings, locateKustomize, type KustomizeSettings } from './settings.ts';

/** What {@link renderKustomization} gives: the YAML stream kustomize printed, or why there is none. */
export type KustomizeRender =
  | { readonly ok: true; readonly yaml: string }
  | { readonly ok: false; readonly problems: readonly BundleProblem[] };

/** Options of {@link renderKustomization}. */
export interface RenderKustomizationOptions {
  /** Binary and limits; default the process-wide settings (settings.ts). */
  readonly settings?: KustomizeSettings | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Nothing listens here: a proxy that refuses every connection. */
const NO_PROXY_PORT = 'http://127.0.0.1:9';
const STDERR_LIMIT = 16 * 1024;

/**
 * Renders the kustomization in `dir` (relative to the artifact root `root`).
 * `file` is the kustomization's artifact-relative path, used in messages. Never
 * throws for a bad kustomization or a missing binary: they come back as problems.
 */
export async function renderKustomization(root: string, dir: string, file: string, opts: RenderKustomizationOptions = {}): Promise<KustomizeRender> {
  const settings = opts.settings ?? kustomizeSettings();
  const refused = await checkKustomization(root, dir, { maxKustomizations: settings.maxKustomizations });
  if (refused.length > 0) return { ok: false, problems: refused };
  const binary = await locateKustomize(settings.binary);
  if (binary === undefined) return notAvailable(file, settings.binary, 'ENOENT');
  const home = await mkdtemp(join(tmpdir(), 'trellis-kustomize-'));
  try {
    return await runBuild(root, dir, file, home, { ...settings, binary }, opts.signal);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

function notAvailable(file: string, binary: string, code: string): KustomizeRender {
  return { ok: false, problems: [problem('KustomizeNotAvailable', `the folder holds a kustomization, and the kustomize binary "${binary}" cannot be run (${code}); install kustomize 5 or point the apply controller's --kustomize-path (the CLI's TRELLIS_KUSTOMIZE) at it`, { file })] };
}

function isolatedEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: '', HOME: home, XDG_CONFIG_HOME: home, KUSTOMIZE_PLUGIN_HOME: join(home, 'plugins'),
    HTTP_PROXY: NO_PROXY_PORT, HTTPS_PROXY: NO_PROXY_PORT, http_proxy: NO_PROXY_PORT, https_proxy: NO_PROXY_PORT,
    NO_PROXY: '', no_proxy: '', GIT_TERMINAL_PROMPT: '0',
  };
}

function runBuild(root: string, dir: string, file: string, home: string, settings: KustomizeSettings, signal: AbortSignal | undefined): Promise<KustomizeRender> {
  const fail = (reason: BundleProblem['reason'], detail: string): KustomizeRender => ({ ok: false, problems: [problem(reason, detail, { file })] });
  const args = ['build', posix.join('.', dir), '--load-restrictor', 'LoadRestrictionsRootOnly'];
  return new Promise((resolve) => {
    const child = spawn(settings.binary, args, { cwd: root, env: isolatedEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let stopped: string | undefined;
    const stop = (why: string): void => {
      stopped ??= why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => stop(`kustomize build ran longer than ${settings.timeoutMs / 1000} s and was stopped`), settings.timeoutMs);
    const onAbort = (): void => stop('the render was cancelled');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > settings.maxOutputBytes) stop(`kustomize build printed more than ${settings.maxOutputBytes} bytes and was stopped`);
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < STDERR_LIMIT) stderr += chunk.toString('utf8');
    });
    const settle = (result: KustomizeRender): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(result);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      settle(err.code === 'ENOENT' || err.code === 'EACCES'
        ? notAvailable(file, settings.binary, err.code)
        : fail('KustomizeFailed', `kustomize build could not start: ${err.message}`));
    });
    child.on('close', (code) => {
      if (stopped !== undefined) settle(fail('KustomizeFailed', stopped));
      else if (code !== 0) settle(fail('KustomizeFailed', `kustomize build failed: ${cleanStderr(stderr, root)}`));
      else settle({ ok: true, yaml: Buffer.concat(out).toString('utf8') });
    });
  });
}

/** kustomize's error, on one line, with the artifact's absolute path taken out. */
function cleanStderr(stderr: string, root: string): string {
  const text = stderr.split(root + '/').join('').split(root).join('.').replace(/^Error:\s*/m, '').replace(/\s+/g, ' ').trim();
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text || 'no message';
}
