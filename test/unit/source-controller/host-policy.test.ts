// The source-host policy as plain data: rules read from flags, decisions for a
// host and the addresses it resolves to, the apiserver's own rules, and the
// lookup that hands the socket exactly the addresses it checked.
import test from 'ava';
import type { LookupAddress } from 'node:dns';
import {
  apiserverDenyRules, HostDeniedError, HostPolicy, InvalidHostRuleError, normalizeAddress, parseHostRule,
} from '../../../source-controller/net/host-policy.ts';
import { parseSourceControllerFlags, sourceHostPolicy } from '../../../source-controller/main.ts';

const denied = (policy: HostPolicy, host: string, port: number, addresses: string[] = []): string | undefined => {
  try {
    policy.check(host, port, addresses);
    return undefined;
  } catch (err) {
    if (err instanceof HostDeniedError) return err.message;
    throw err;
  }
};

test('rules: CIDRs, addresses, ports, host names and wildcards are read; anything else is refused', (t) => {
  for (const rule of ['10.0.0.0/8', '10.1.2.3', '10.1.2.3:6443', '127.0.0.0/8:6443', 'fd00::/8', '::1', '[::1]:6443',
    '[fe80::/10]:80', 'git.internal', 'git.internal:8443', '*.corp.example']) {
    t.notThrows(() => parseHostRule(rule), rule);
  }
  for (const rule of ['', '10.0.0.0/33', 'fe80::/129', 'host:0', 'host:99999', 'a b', 'http://x', '*', '10.0.0.0/8:x']) {
    t.throws(() => parseHostRule(rule), { instanceOf: InvalidHostRuleError }, rule);
  }
});

test('defaults: link-local (cloud metadata) and unspecified addresses are denied, also as IPv4-mapped IPv6; loopback is not', (t) => {
  const policy = new HostPolicy();
  t.regex(denied(policy, '169.254.169.254', 80) ?? '', /169\.254\.169\.254 matches the deny rule 169\.254\.0\.0\/16/);
  t.truthy(denied(policy, '::ffff:a9fe:a9fe', 80), 'the URL parser\'s spelling of ::ffff:169.254.169.254');
  t.truthy(denied(policy, 'fe80::1', 443));
  t.truthy(denied(policy, 'fd00:ec2::254', 80));
  t.truthy(denied(policy, '0.0.0.0', 80));
  t.truthy(denied(policy, 'metadata.internal', 80, ['10.0.0.7', '169.254.169.254']), 'one denied address of several is enough');
  t.is(denied(policy, '127.0.0.1', 8080), undefined);
  t.is(denied(policy, 'git.example', 443, ['93.184.216.34']), undefined);
  t.is(normalizeAddress('0:0:0:0:0:ffff:7f00:1'), '127.0.0.1');
  t.is(denied(new HostPolicy({ defaults: false }), '169.254.169.254', 80), undefined, 'without the defaults');
});

test('allow rules: only matching names, or names whose every address matches, pass; deny wins over allow', (t) => {
  const policy = new HostPolicy({ allow: ['*.corp.example', '10.0.0.0/8', 'registry.io:443'], deny: ['10.9.0.0/16', 'bad.corp.example'] });
  t.is(denied(policy, 'git.corp.example', 443, ['192.0.2.1']), undefined);
  t.is(denied(policy, 'elsewhere.org', 443, ['10.1.1.1']), undefined);
  t.regex(denied(policy, 'elsewhere.org', 443, ['10.1.1.1', '192.0.2.1']) ?? '', /192\.0\.2\.1 matches no allow rule/);
  t.truthy(denied(policy, 'registry.io', 80, ['192.0.2.1']), 'the allow rule names port 443 only');
  t.is(denied(policy, 'registry.io', 443, ['192.0.2.1']), undefined);
  t.regex(denied(policy, 'git.corp.example', 443, ['10.9.1.1']) ?? '', /10\.9\.0\.0\/16/);
  t.regex(denied(policy, 'bad.corp.example', 443, ['192.0.2.1']) ?? '', /bad\.corp\.example/);
  t.truthy(denied(policy, 'git.corp.example', 443, ['169.254.169.254']), 'the defaults still apply');
});

test('the apiserver: the kubernetes Service ClusterIP on every port, the kubeconfig server on its port (every loopback spelling)', (t) => {
  const policy = new HostPolicy({ deny: apiserverDenyRules({ KUBERNETES_SERVICE_HOST: '10.96.0.1' }, 'https://127.0.0.1:6443') });
  t.truthy(denied(policy, '10.96.0.1', 443));
  t.truthy(denied(policy, '10.96.0.1', 8080));
  t.truthy(denied(policy, '127.0.0.1', 6443));
  t.truthy(denied(policy, '127.0.0.2', 6443));
  t.truthy(denied(policy, '::1', 6443));
  t.truthy(denied(policy, 'localhost', 6443));
  t.truthy(denied(policy, 'my-alias', 6443, ['127.0.0.1']));
  t.is(denied(policy, '127.0.0.1', 3000), undefined, 'other loopback ports (the test Git server, the registry) stay allowed');
  const remote = new HostPolicy({ deny: apiserverDenyRules({}, 'https://api.cluster.example:6443') });
  t.truthy(denied(remote, 'api.cluster.example', 6443, ['192.0.2.10']));
  t.is(denied(remote, 'api.cluster.example', 443, ['192.0.2.10']), undefined);
});

test('checkUrl sees IP literals (no lookup happens for them) and denied names before any connection', (t) => {
  const policy = new HostPolicy({ deny: ['git.blocked'] });
  t.throws(() => policy.checkUrl(new URL('http://169.254.169.254/latest/meta-data/')), { instanceOf: HostDeniedError });
  t.throws(() => policy.checkUrl(new URL('http://[::ffff:169.254.169.254]/')), { instanceOf: HostDeniedError });
  t.throws(() => policy.checkUrl(new URL('https://git.blocked/r.git')), { instanceOf: HostDeniedError });
  t.notThrows(() => policy.checkUrl(new URL('https://rebinding.example/r.git')), 'a name is checked by the lookup');
});

test('lookupFor resolves once, checks every address, and answers with exactly those addresses', async (t) => {
  let calls = 0;
  const answers: LookupAddress[][] = [[{ address: '192.0.2.5', family: 4 }], [{ address: '169.254.169.254', family: 4 }]];
  const policy = new HostPolicy({ resolve: () => Promise.resolve(answers[calls++] ?? []) });
  const lookup = policy.lookupFor(80);
  const call = (all: boolean): Promise<unknown[]> => new Promise((resolve) => {
    (lookup as unknown as (h: string, o: object, cb: (...a: unknown[]) => void) => void)('rebinding.example', { all }, (...args) => resolve(args));
  });
  const first = await call(true);
  t.is(first[0], null);
  t.deepEqual(first[1], [{ address: '192.0.2.5', family: 4 }]);
  const second = await call(false);
  t.true(second[0] instanceof HostDeniedError, 'the second answer (rebinding to metadata) is refused, not connected to');
  t.is(calls, 2);
});

test('flags: --source-host-allow/--source-host-deny are repeatable lists, checked at start; the defaults can be dropped', (t) => {
  const flags = parseSourceControllerFlags(['--source-host-deny', '10.0.0.0/8,git.internal', '--source-host-deny', '[::1]:22',
    '--source-host-allow', '*.corp.example'], {});
  t.deepEqual(flags.sourceHostDeny, ['10.0.0.0/8', 'git.internal', '[::1]:22']);
  t.deepEqual(flags.sourceHostAllow, ['*.corp.example']);
  t.true(flags.sourceHostDefaultDeny);
  t.throws(() => parseSourceControllerFlags(['--source-host-deny', '10.0.0.0/99'], {}, () => undefined));
  const policy = sourceHostPolicy(flags, 'https://127.0.0.1:6443');
  t.true(policy.describe().deny.includes('169.254.0.0/16'));
  t.true(policy.describe().deny.includes('127.0.0.0/8:6443'));
  const open = sourceHostPolicy(parseSourceControllerFlags(['--no-source-host-default-deny'], {}), 'https://127.0.0.1:6443');
  t.deepEqual(open.describe().deny, []);
});
