// Runs a Trellis entry point on Node 24, whatever Node started it.
//
// Written in plain JavaScript that Node 20 can run, because that is what a fresh
// Debian machine ships. When the running Node is older than 24 it installs Node 24
// from the npm registry's `node` package into .tools/ (once) and re-runs itself
// with it. On Node 24 it installs the project's dependencies when they are missing
// or older than package-lock.json, then runs the entry point in this process.
//
// Usage: node hack/bootstrap.mjs <script.ts|.js> [args...]
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { constants } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REQUIRED_MAJOR = 24;

function say(line) {
  process.stderr.write(`[trellis] ${line}\n`);
}

function major(version) {
  return Number(version.replace(/^v/, '').split('.')[0]);
}

/** Path of a Node >= 24 binary, installing one into .tools/ when needed. */
export function node24Path() {
  if (major(process.version) >= REQUIRED_MAJOR) return process.execPath;
  const local = join(root, '.tools', 'node_modules', '.bin', 'node');
  if (existsSync(local)) {
    const probe = spawnSync(local, ['--version'], { encoding: 'utf8' });
    if (probe.status === 0 && major(probe.stdout.trim()) >= REQUIRED_MAJOR) return local;
  }
  say(`Node ${process.version} is older than ${REQUIRED_MAJOR}: installing Node ${REQUIRED_MAJOR} into .tools/ (once)`);
  const npm = spawnSync('npm', ['install', '--prefix', join(root, '.tools'), '--no-save', '--no-audit',
    '--no-fund', '--loglevel=error', `node@${REQUIRED_MAJOR}`], { stdio: ['ignore', 'inherit', 'inherit'] });
  const probe = spawnSync(local, ['--version'], { encoding: 'utf8' });
  if (npm.status !== 0 || probe.status !== 0) {
    say(`could not install Node ${REQUIRED_MAJOR} from the npm registry; install Node ${REQUIRED_MAJOR}+ and retry`);
    process.exit(1);
  }
  return local;
}

function lockDigest() {
  const lock = join(root, 'package-lock.json');
  const pkg = join(root, 'package.json');
  const h = createHash('sha256');
  // Only what npm installs from: editing a script must not re-install node_modules under running tests.
  const manifest = JSON.parse(readFileSync(pkg, 'utf8'));
  const { dependencies, devDependencies, optionalDependencies, peerDependencies, overrides } = manifest;
  h.update(JSON.stringify({ dependencies, devDependencies, optionalDependencies, peerDependencies, overrides }));
  if (existsSync(lock)) h.update(readFileSync(lock));
  return h.digest('hex');
}

/** Installs dependencies when node_modules is missing or was installed from another lock file. */
function ensureDependencies() {
  const stamp = join(root, 'node_modules', '.trellis-installed');
  const want = lockDigest();
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return;
  // Several commands started at once (tests, lint) must not run npm ci over each other.
  const lock = join(root, '.trellis-install.lock');
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) rmSync(lock, { recursive: true, force: true });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
  let installed = true;
  try {
    if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== want) installed = install(stamp, want);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  if (!installed) {
    say('npm could not install the dependencies (see above)');
    process.exit(1);
  }
}

/** Runs npm ci (or install) and writes the stamp; false when npm failed. */
function install(stamp, want) {
  const hasLock = existsSync(join(root, 'package-lock.json'));
  say(`installing dependencies (npm ${hasLock ? 'ci' : 'install'})`);
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  const r = spawnSync('npm', [hasLock ? 'ci' : 'install', '--no-audit', '--no-fund', '--loglevel=error'],
    { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env });
  if (r.status !== 0) return false;
  writeFileSync(stamp, want);
  return true;
}

/** Re-runs this bootstrap under `node`, forwarding signals and the exit code. */
function reexec(node, args) {
  say(`running on Node ${REQUIRED_MAJOR} from .tools/ (system Node is ${process.version})`);
  const env = { ...process.env, PATH: `${dirname(node)}:${process.env.PATH ?? ''}` };
  const child = spawn(node, [fileURLToPath(import.meta.url), ...args], { stdio: 'inherit', env });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    // The child is in our process group and gets terminal signals itself; forward
    // the others (a `kill` aimed at us) and wait for it to finish cleanly.
    process.on(sig, () => { if (sig !== 'SIGINT') child.kill(sig); });
  }
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 1)));
}

/**
 * Runs `script` (relative to the project root) with `args` on Node 24, installing
 * Node 24 and the dependencies first when needed.
 */
export async function run(script, args) {
  if (major(process.version) < REQUIRED_MAJOR) {
    reexec(node24Path(), [script, ...args]);
    return;
  }
  ensureDependencies();
  const target = resolve(root, script);
  if (!existsSync(target) || !statSync(target).isFile()) {
    say(`no such entry point: ${script}`);
    process.exit(2);
  }
  process.argv = [process.execPath, target, ...args];
  await import(pathToFileURL(target).href);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [script, ...args] = process.argv.slice(2);
  if (!script) {
    say('usage: node hack/bootstrap.mjs <script> [args...]');
    process.exit(2);
  }
  await run(script, args);
}
