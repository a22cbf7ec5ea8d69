// `trellis completion zsh` and `completion fish` in the real shells (Debian's
// zsh and fish, installed on first use like the other Debian tools), calling
// the real CLI back against the real apiserver: each script loads without a
// word on stderr, and completes subcommands, flag values and the names of the
// Packages in the cluster. zsh is driven through a pseudo-terminal (zsh/zpty)
// as a person types: the line, Tab, then a key bound to a widget that writes
// the edited line to a file; fish through `complete -C`, which runs the same
// completions fish runs on Tab.
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import anyTest, { type ExecutionContext } from 'ava';
import { runPackageCli } from '../../../cli/package/index.ts';
import { captureTerminal } from '../../../cli/package/output.ts';
import { ensureDebianTool } from '../../../hack/lib/system-tools.ts';
import { scratchDir, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';

// Serial: each test drives its shell with spawnSync, which blocks this worker's event loop, so a
// concurrent test's requests to the apiserver would time out while it waits.
const test = withCluster(anyTest);

interface Shells {
  /** The directory holding the `trellis` wrapper (first on PATH). */
  readonly bin: string;
  readonly env: NodeJS.ProcessEnv;
  readonly ns: string;
}

/** Two Packages (web, worker) in a fresh namespace, and a `trellis` executable that runs this checkout's CLI. */
async function setup(t: ExecutionContext): Promise<Shells> {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const home = scratchDir('home');
  for (const name of ['web', 'worker']) {
    const term = captureTerminal();
    const code = await runPackageCli(['install', name, `oci://127.0.0.1:5999/examples/${name}`, '--version', '^1', '-n', ns],
      { term, env: { KUBECONFIG: cluster.kubeconfigPath, HOME: home }, now: () => new Date(), exit: () => undefined });
    if (code !== 0) throw new Error(term.stderr());
  }
  const bin = scratchDir('bin');
  const trellis = join(bin, 'trellis');
  writeFileSync(trellis, `#!/bin/sh\nexec "${process.execPath}" "${resolve('cli/trellis.ts')}" "$@"\n`);
  chmodSync(trellis, 0o755);
  return { bin, ns, env: { PATH: `${bin}:/usr/bin:/bin`, KUBECONFIG: cluster.kubeconfigPath, HOME: home, TERM: 'xterm' } };
}

/** The completion script `trellis completion SHELL` prints, written to a file. */
function script(s: Shells, shell: 'zsh' | 'fish'): string {
  const r = spawnSync(join(s.bin, 'trellis'), ['completion', shell], { encoding: 'utf8', env: s.env });
  if (r.status !== 0) throw new Error(r.stderr);
  const file = join(scratchDir(`completion-${shell}`), `trellis.${shell}`);
  writeFileSync(file, r.stdout);
  return file;
}

const log = (line: string): void => { console.error(line); };

// The driver: an interactive `zsh -f` in a pseudo-terminal loads compinit and the script, binds ^T to a
// widget that writes $BUFFER to a file, then gets the typed line, Tab and ^T. Input is read in order, so
// the widget runs after the completion (which runs trellis) has finished. Prints what the terminal showed.
const ZSH_DRIVER = `
zmodload zsh/zpty || exit 3
out=$1 script=$2 line=$3
zpty z 'zsh -f -i'
zpty -w z "PS1='> '; autoload -Uz compinit; compinit -u -d \${out}.zcompdump; source \${script}; dump() { print -r -- \\"\\$BUFFER\\" > \${out}; BUFFER=; }; zle -N dump; bindkey '^T' dump"
zpty -w -n z "\${line}"$'\\t\\C-t'
zpty -w z 'exit'
while zpty -r z chunk; do print -rn -- "\${chunk}"; done
`;

/** Types `line` and Tab in an interactive zsh; returns the line after completion and what the terminal showed (listings). */
function zshTab(s: Shells, zsh: string, file: string, line: string): { line: string; screen: string } {
  const dir = scratchDir('zsh');
  const driver = join(dir, 'driver.zsh');
  writeFileSync(driver, ZSH_DRIVER);
  const out = join(dir, 'buffer');
  const r = spawnSync(zsh, ['-f', driver, out, file, line], { encoding: 'utf8', env: s.env, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`zsh driver exited ${r.status}: ${r.stderr}`);
  // eslint-disable-next-line no-control-regex
  const screen = r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\r\x07\x08]/g, '');
  return { line: readFileSync(out, 'utf8').replace(/\n$/, ''), screen };
}

test.serial('zsh: the script loads under compinit without errors and completes subcommands, -o formats and Package names from the cluster', async (t) => {
  const zsh = ensureDebianTool('zsh', 'zsh', log);
  const s = await setup(t);
  const file = script(s, 'zsh');

  const load = spawnSync(zsh, ['-f', '-c', `autoload -Uz compinit; compinit -u -d ${scratchDir('zcompdump')}/d; source ${file}; print -r -- $_comps[trellis]`],
    { encoding: 'utf8', env: s.env });
  t.is(load.status, 0, load.stderr);
  t.is(load.stderr, '', 'sourcing the script prints no error');
  t.is(load.stdout, '__trellis_complete\n', 'the function is registered for trellis');

  t.is(zshTab(s, zsh, file, 'trellis pa').line, 'trellis package ');
  t.is(zshTab(s, zsh, file, 'trellis package st').line, 'trellis package status ');
  t.is(zshTab(s, zsh, file, 'trellis package list -o w').line, 'trellis package list -o wide ');
  t.is(zshTab(s, zsh, file, `trellis package diff -n ${s.ns} wo`).line, `trellis package diff -n ${s.ns} worker `, 'a Package name read from the cluster');
  const both = zshTab(s, zsh, file, `trellis package status -n ${s.ns} w`);
  t.is(both.line, `trellis package status -n ${s.ns} w`, 'two candidates: nothing to insert');
  t.regex(both.screen, /\bweb +worker/, 'both Packages are listed');
  t.is(zshTab(s, zsh, file, `trellis package status -n ${s.ns} nothing-like-it`).line, `trellis package status -n ${s.ns} nothing-like-it`,
    'no candidate: the line is left alone');
});

test.serial('fish: the script loads without errors and completes subcommands, -o formats and Package names from the cluster', async (t) => {
  const fish = ensureDebianTool('fish', 'fish', log);
  const s = await setup(t);
  const file = script(s, 'fish');
  const complete = (line: string): string[] => {
    const r = spawnSync(fish, ['--no-config', '-c', `source ${file}; complete -C ${JSON.stringify(line)}`], { encoding: 'utf8', env: s.env });
    if (r.status !== 0 || r.stderr !== '') throw new Error(`fish exited ${r.status}: ${r.stderr}`);
    return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t')[0] ?? '');
  };

  const load = spawnSync(fish, ['--no-config', '-c', `source ${file}; and functions -q __trellis_complete; and echo loaded`], { encoding: 'utf8', env: s.env });
  t.is(load.status, 0, load.stderr);
  t.is(load.stderr, '', 'sourcing the script prints no error');
  t.is(load.stdout, 'loaded\n');

  t.deepEqual(complete('trellis pa'), ['package']);
  t.deepEqual(complete('trellis package st'), ['status']);
  t.deepEqual(complete('trellis package list -o w'), ['wide']);
  t.deepEqual(complete(`trellis package status -n ${s.ns} w`), ['web', 'worker'], 'Package names read from the cluster');
  t.deepEqual(complete(`trellis package diff -n ${s.ns} wo`), ['worker']);
  t.deepEqual(complete('trellis package status --kubeconfig /nonexistent w'), [], 'no cluster: no candidates, and no files either');
});
