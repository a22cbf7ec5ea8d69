// The CLI conventions without a cluster: JSONPath templates, -o parsing and
// names, shell completion answers and scripts, the default version an install
// picks from tags, controller versions from Deployments, the line for an
// unreachable API server, --version, and diff's exit code for usage errors.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { completeWords, completionScript, type NameLookup } from '../../../cli/package/completion.ts';
import type { CommandIO } from '../../../cli/package/context.ts';
import { unreachableServer } from '../../../cli/package/errors.ts';
import { packageCommand, runPackageCli } from '../../../cli/package/index.ts';
import { formatLogLine, linesAbout } from '../../../cli/package/logs.ts';
import { JsonPathError, parseJsonPath } from '../../../cli/package/jsonpath.ts';
import { captureTerminal, objectName, parseOutputFormat, renderFormatted, type CapturedTerminal } from '../../../cli/package/output.ts';
import { highestVersion } from '../../../cli/package/registry.ts';
import { controllerVersion, imageVersion } from '../../../cli/package/version.ts';
import { TRELLIS_VERSION } from '../../../packages-cdk8s/trellis/version.ts';

function offline(): CommandIO & { term: CapturedTerminal } {
  const home = mkdtempSync(join(tmpdir(), 'kubectl-package-home-'));
  return { term: captureTerminal(), env: { HOME: home }, now: () => new Date('2026-01-10T12:00:00Z'), exit: () => undefined };
}

const pkg = (name: string, ready: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package',
  metadata: { name, namespace: 'shop', labels },
  spec: { sourceRef: { kind: 'OCIRepository', name } },
  status: { conditions: [{ type: 'Ready', status: ready, reason: 'R', message: `m-${name}` }], lastAppliedRevision: '1.0.0@sha256:abc' },
});
const list = { apiVersion: 'v1', kind: 'List', items: [pkg('web', 'True', { 'app.kubernetes.io/name': 'web' }), pkg('api', 'False')] };

test('jsonpath: fields, indexes, slices, wildcards, quoted keys, recursive descent, filters, range, literals', (t) => {
  const run = (template: string, root: unknown = list): string => parseJsonPath(template).execute(root);
  t.is(run('{.items[*].metadata.name}'), 'web api');
  t.is(run('{.items[0].metadata.name}'), 'web');
  t.is(run('{.items[-1].metadata.name}'), 'api');
  t.is(run('{.items[0:1].metadata.name}'), 'web');
  t.is(run('{$.kind}'), 'List');
  t.is(run("{.items[0].metadata.labels['app.kubernetes.io/name']}"), 'web');
  t.is(run('{..lastAppliedRevision}'), '1.0.0@sha256:abc 1.0.0@sha256:abc');
  t.is(run('{.items[?(@.status.conditions[0].status=="False")].metadata.name}'), 'api');
  t.is(run('{.items[*].status.conditions[?(@.type=="Ready")].status}'), 'True False');
  t.is(run('{range .items[*]}{.metadata.name}={.status.conditions[0].status}{"\\n"}{end}'), 'web=True\napi=False\n');
  t.is(run('name: {.metadata.name}', pkg('web', 'True')), 'name: web');
  t.is(run('{.spec.sourceRef}', pkg('web', 'True')), '{"kind":"OCIRepository","name":"web"}');
  t.is(run('{.metadata.missing}', pkg('web', 'True')), '', 'a missing field prints nothing, as kubectl does by default');
  t.is(run("'{.metadata.name}'", pkg('web', 'True')), 'web', 'one pair of quotes around the template is dropped');
  for (const bad of ['', '{.items[', '{range .items[*]}{.x}', '{end}', '{items}', '{.items[?(@.a=whatever)]}', '{.a[x]}']) {
    t.throws(() => parseJsonPath(bad), { instanceOf: JsonPathError }, bad);
  }
});

test('-o: every format kind is accepted, unknown ones and bad templates are refused naming the choices', (t) => {
  for (const format of ['table', 'wide', 'json', 'yaml', 'name', 'jsonpath={.metadata.name}'] as const) t.is(parseOutputFormat(format), format);
  t.throws(() => parseOutputFormat('xml'), { message: /must be one of table, wide, json, yaml, name, jsonpath=TEMPLATE/ });
  t.throws(() => parseOutputFormat('jsonpath={.a['), { message: /bad jsonpath template: unclosed/ });
  t.is(objectName(pkg('web', 'True')), 'package.apply.trellis.dev/web');
  t.is(objectName({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }), 'configmap/c');
  t.is(renderFormatted([pkg('web', 'True'), pkg('api', 'True')], 'name'), 'package.apply.trellis.dev/web\npackage.apply.trellis.dev/api\n');
  t.is(renderFormatted([pkg('web', 'True')], 'jsonpath={.metadata.name}'), 'web');
  t.is(renderFormatted([pkg('web', 'True')], 'jsonpath={.items[0].metadata.name}', true), 'web', 'a list command runs the template on the List');
});

test('commands refuse formats they cannot print; install takes json and yaml only', async (t) => {
  const io = offline();
  t.is(await runPackageCli(['install', 'web', 'oci://r.example/web', '--tag', '1', '--dry-run', '-o', 'name'], io), 1);
  t.regex(io.term.stderr(), /must be one of json, yaml/);
  const io2 = offline();
  t.is(await runPackageCli(['status', 'web', '-o', 'wide'], io2), 1);
  t.regex(io2.term.stderr(), /must be one of table, json, yaml, jsonpath=TEMPLATE/);
});

const lookup: NameLookup = {
  packages: (flags) => Promise.resolve(flags.namespace === 'shop' ? ['web', 'worker', 'api'] : ['other']),
  namespaces: () => Promise.resolve(['default', 'shop']),
};

test('completion: subcommands, flags, -o formats, namespaces and Package names for the name argument', async (t) => {
  const root = packageCommand(offline());
  t.deepEqual(await completeWords(root, ['ge'], lookup), ['get']);
  t.true((await completeWords(root, [''], lookup)).includes('install'));
  t.false((await completeWords(root, [''], lookup)).some((w) => w.startsWith('__')), 'the hidden command is not offered');
  t.deepEqual(await completeWords(root, ['get', '-n', 'shop', 'w'], lookup), ['web', 'worker']);
  t.deepEqual(await completeWords(root, ['status', '--namespace=shop', ''], lookup), ['api', 'web', 'worker']);
  t.deepEqual(await completeWords(root, ['get', 'w'], lookup), [], 'names come from the namespace given');
  t.deepEqual(await completeWords(root, ['list', '-o', 'j'], lookup), ['json', 'jsonpath=']);
  t.deepEqual(await completeWords(root, ['list', '-n', ''], lookup), ['default', 'shop']);
  t.true((await completeWords(root, ['list', '--'], lookup)).includes('--selector'));
  t.true((await completeWords(root, ['list', '--'], lookup)).includes('--watch'));
  t.false((await completeWords(root, ['list', '--'], lookup)).includes('--version'), 'the group\'s own flags do not follow a subcommand');
  t.deepEqual(await completeWords(root, ['get', 'web', ''], lookup), [], 'one name only');
  t.deepEqual(await completeWords(root, ['completion', ''], lookup), ['bash', 'fish', 'zsh']);
  const failing: NameLookup = { packages: () => Promise.reject(new Error('no cluster')), namespaces: () => Promise.reject(new Error('x')) };
  t.deepEqual(await completeWords(root, ['get', ''], failing), [], 'a cluster that cannot be asked gives no names, no error');
});

test('completion scripts call the program back for every shell', (t) => {
  for (const shell of ['bash', 'zsh', 'fish'] as const) {
    const script = completionScript(shell, 'kubectl-package');
    t.regex(script, /kubectl-package __complete/, shell);
  }
  t.regex(completionScript('bash', 'trellis'), /^complete -o default -F __trellis_complete trellis$/m);
  t.regex(completionScript('zsh', 'trellis'), /^compdef __trellis_complete trellis$/m);
  t.regex(completionScript('fish', 'trellis'), /^complete -c trellis -f -a '\(__trellis_complete\)'$/m);
});

test('the default version of an install: the highest release among the tags, pre-releases only when nothing else', (t) => {
  t.deepEqual(highestVersion(['1.0.0', 'latest', 'v1.10.0', '1.9.0', '2.0.0-rc.1', 'main']), { tag: 'v1.10.0', version: '1.10.0' });
  t.deepEqual(highestVersion(['0.1.0-alpha', '0.2.0-beta']), { tag: '0.2.0-beta', version: '0.2.0-beta' });
  t.is(highestVersion(['latest', 'main', 'sha-123']), undefined);
});

test('controller versions come from the Deployment: the version label, else the image tag or digest', (t) => {
  t.is(imageVersion('ghcr.io/trellis-dev/trellis:0.2.0'), '0.2.0');
  t.is(imageVersion('localhost:5000/trellis'), undefined);
  t.is(imageVersion('r.example/trellis@sha256:abc'), 'sha256:abc');
  const deployment = (labels: Record<string, string>) => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'apply-controller', labels },
    spec: { replicas: 2, template: { spec: { containers: [{ name: 'manager', image: 'r.example/trellis:0.3.0' }] } } },
    status: { readyReplicas: 1 },
  });
  t.deepEqual(controllerVersion('apply-controller', deployment({})), { name: 'apply-controller', image: 'r.example/trellis:0.3.0', version: '0.3.0', ready: '1/2' });
  t.is(controllerVersion('apply-controller', deployment({ 'app.kubernetes.io/version': '0.3.1' })).version, '0.3.1');
  t.deepEqual(controllerVersion('source-controller', undefined), { name: 'source-controller' });
});

test('an error reaching the API server names the server; other errors are left alone', (t) => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  t.is(unreachableServer(refused, 'https://127.0.0.1:1'),
    'error: cannot reach the Kubernetes API server at https://127.0.0.1:1 (ECONNREFUSED): is the cluster running, and is this the right kubeconfig context?');
  t.regex(unreachableServer(new Error('wrapped', { cause: refused }), 'https://k') ?? '', /at https:\/\/k \(ECONNREFUSED\)/);
  const tls = Object.assign(new Error('self-signed'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  t.regex(unreachableServer(tls, 'https://k') ?? '', /^error: no trusted TLS connection to the Kubernetes API server at https:\/\/k/);
  t.is(unreachableServer(new Error('forbidden'), 'https://k'), undefined);
});

test('--version prints the version; install --version RANGE stays install\'s own flag', async (t) => {
  const io = offline();
  t.is(await runPackageCli(['--version'], io), 0);
  t.regex(io.term.stdout(), new RegExp(`^trellis ${TRELLIS_VERSION.replace(/\./g, '\\.')} \\(Node\\.js v\\d+`));
  const io2 = offline();
  t.is(await runPackageCli(['install', 'web', 'oci://r.example/web', '--version', '^2', '--dry-run'], io2), 0, io2.term.stderr());
  t.regex(io2.term.stdout(), /semver: \^2/);
  const io3 = offline();
  t.is(await runPackageCli(['version', '--client'], io3), 0);
  t.regex(io3.term.stdout(), /^Client: +trellis /);
});

test('diff: a usage error exits 2, never 1 (which means "there are changes")', async (t) => {
  for (const argv of [['diff', 'web', '--bogus'], ['diff'], ['diff', 'web', '-o', 'xml']]) {
    const io = offline();
    t.is(await runPackageCli(argv, io), 2, argv.join(' '));
  }
  const io = offline();
  t.is(await runPackageCli(['diff', 'web'], io), 2, 'no cluster: an error');
  t.regex(io.term.stderr(), /no kubeconfig/);
  const other = offline();
  t.is(await runPackageCli(['get', 'web', '--bogus'], other), 1, 'other commands keep exit code 1');
});

test('logs: only the JSON lines about the Package and its source, formatted for a person', (t) => {
  const log = [
    '{"level":"info","time":"2026-12-03T10:00:01.000Z","kind":"Package","key":"shop/web","msg":"applied","reason":"Applied","revision":2}',
    '{"level":"info","time":"2026-12-03T10:00:02.000Z","kind":"Package","key":"shop/other","msg":"not this one"}',
    '{"level":"warn","time":"2026-12-03T10:00:03.000Z","kind":"OCIRepository","key":"shop/web","msg":"fetch failed","err":{"message":"connection refused"}}',
    '{"level":"info","time":"2026-12-03T10:00:04.000Z","kind":"GitRepository","key":"shop/web","msg":"another kind, same name"}',
    'a line that is not JSON',
    '{"broken json',
  ].join('\n');
  const lines = linesAbout(log, { objects: [{ kind: 'Package', key: 'shop/web' }, { kind: 'OCIRepository', key: 'shop/web' }] }, 'apply-controller');
  t.deepEqual(lines.map((l) => l.msg), ['applied', 'fetch failed']);
  t.is(formatLogLine(lines[0] ?? { controller: '' }), '2026-12-03T10:00:01.000Z INFO  apply-controller Package shop/web: applied  reason=Applied revision=2');
  t.is(formatLogLine(lines[1] ?? { controller: '' }), '2026-12-03T10:00:03.000Z WARN  apply-controller OCIRepository shop/web: fetch failed  err="connection refused"');
});
