/**
 * The source-host policy: which hosts and addresses the source controller may
 * connect to when it talks to a Git server or a registry on a tenant's behalf.
 * A GitRepository or OCIRepository URL is tenant input, so without a policy a
 * tenant could make the controller fetch from a cloud metadata endpoint or the
 * cluster's own apiserver (server-side request forgery).
 *
 * Rules are written as CIDR ranges (`10.0.0.0/8`), single addresses (`10.1.2.3`,
 * `::1`), addresses with a port (`10.1.2.3:6443`, `[::1]:6443`), host names
 * (`git.internal`), host names with a port, or a wildcard suffix
 * (`*.internal.example`). The decision for one connection:
 *
 * 1. a deny rule matching the host name, or any address it resolves to, refuses it;
 * 2. when allow rules exist, the host name or every resolved address must match one;
 * 3. anything else is allowed.
 *
 * Addresses are checked after DNS resolution, and {@link HostPolicy.lookupFor}
 * hands the checked addresses to the socket itself, so a name that resolves to
 * an allowed address when checked and a denied one when connecting (DNS
 * rebinding) gets no second lookup. IP literals in URLs skip DNS and are checked
 * by {@link HostPolicy.checkUrl}, which every request and every redirect runs.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Denied by every policy unless `defaults: false`: link-local ranges (the cloud
 * metadata endpoints live there: 169.254.169.254, fd00:ec2::254 on AWS IPv6) and
 * the unspecified addresses, which reach the local host on Linux.
 */
export const DEFAULT_DENIED_HOSTS: readonly string[] = [
  '169.254.0.0/16', 'fe80::/10', 'fd00:ec2::254', '0.0.0.0/8', '::/128',
];

/** A connection the policy refuses. Its message names the host, never a URL's path or credentials. */
export class HostDeniedError extends Error {
  override readonly name = 'HostDeniedError';
  /** Node-style code, so socket error handling can tell it from a network failure. */
  readonly code = 'ESOURCEHOSTDENIED';
  readonly host: string;

  constructor(host: string, why: string) {
    super(`the source host policy refuses ${host}: ${why}`);
    this.host = host;
  }
}

/** A rule that could not be read (a bad flag value). */
export class InvalidHostRuleError extends Error {
  override readonly name = 'InvalidHostRuleError';
}

type AddressRule = { readonly kind: 'address'; readonly text: string; readonly range: BlockList; readonly port?: number | undefined };
type NameRule = { readonly kind: 'name'; readonly text: string; readonly name: string; readonly wildcard: boolean; readonly port?: number | undefined };
type HostRule = AddressRule | NameRule;

const NAME = /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/** `::ffff:10.1.2.3` and `10.1.2.3` are one address; the IPv4 form is what rules name. */
export function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  const dotted = /^(?:0{0,4}:){0,4}:?(?:0{0,4}:)?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted?.[1]) return dotted[1];
  // The URL parser writes `[::ffff:127.0.0.1]` as `[::ffff:7f00:1]`.
  const hex = /^(?:0{0,4}:){0,4}:?(?:0{0,4}:)?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex?.[1] && hex[2]) {
    const hi = parseInt(hex[1], 16);
    const lo = parseInt(hex[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return lower;
}

function familyOf(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 6 ? 'ipv6' : 'ipv4';
}

function parsePort(text: string, rule: string): number {
  const port = Number(text);
  if (!/^\d{1,5}$/.test(text) || port < 1 || port > 65535) throw new InvalidHostRuleError(`invalid port in host rule ${JSON.stringify(rule)}`);
  return port;
}

function addressRule(text: string, address: string, prefix: number | undefined, port?: number): AddressRule {
  const norm = normalizeAddress(address);
  const family = familyOf(norm);
  const bits = family === 'ipv4' ? 32 : 128;
  const length = prefix ?? bits;
  if (!Number.isInteger(length) || length < 0 || length > bits) throw new InvalidHostRuleError(`invalid prefix length in host rule ${JSON.stringify(text)}`);
  const range = new BlockList();
  range.addSubnet(norm, length, family);
  return { kind: 'address', text, range, port };
}

/** Reads one rule; throws {@link InvalidHostRuleError} for anything it cannot read. */
export function parseHostRule(input: string): HostRule {
  const text = input.trim();
  if (text === '') throw new InvalidHostRuleError('empty host rule');
  const bracketed = /^\[([0-9a-fA-F:.]+)(?:\/(\d{1,3}))?\](?::(\d+))?$/.exec(text);
  if (bracketed?.[1] && isIP(bracketed[1]) === 6) {
    return addressRule(text, bracketed[1], bracketed[2] === undefined ? undefined : Number(bracketed[2]),
      bracketed[3] === undefined ? undefined : parsePort(bracketed[3], text));
  }
  if (isIP(text) !== 0) return addressRule(text, text, undefined);
  const cidr4 = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})(?::(\d+))?$/.exec(text);
  if (cidr4?.[1] && cidr4[2] && isIP(cidr4[1]) === 4) {
    return addressRule(text, cidr4[1], Number(cidr4[2]), cidr4[3] === undefined ? undefined : parsePort(cidr4[3], text));
  }
  const cidr6 = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(text);
  if (cidr6?.[1] && cidr6[2] && isIP(cidr6[1]) === 6) return addressRule(text, cidr6[1], Number(cidr6[2]));
  const withPort = /^([^:]+):(\d+)$/.exec(text);
  const host = (withPort?.[1] ?? text).toLowerCase().replace(/\.$/, '');
  const port = withPort?.[2] === undefined ? undefined : parsePort(withPort[2], text);
  if (isIP(host) === 4) return addressRule(text, host, undefined, port);
  if (!NAME.test(host)) throw new InvalidHostRuleError(`host rule ${JSON.stringify(text)} is not a CIDR range, an address or a host name`);
  const wildcard = host.startsWith('*.');
  return { kind: 'name', text, name: wildcard ? host.slice(1) : host, wildcard, port };
}

function portMatches(rule: HostRule, port: number): boolean {
  return rule.port === undefined || rule.port === port;
}

function nameMatches(rule: HostRule, host: string, port: number): boolean {
  if (rule.kind !== 'name' || !portMatches(rule, port)) return false;
  return rule.wildcard ? host.endsWith(rule.name) : host === rule.name;
}

function addressMatches(rule: HostRule, address: string, port: number): boolean {
  if (rule.kind !== 'address' || !portMatches(rule, port)) return false;
  return rule.range.check(address, familyOf(address));
}

/** Options of {@link HostPolicy}. */
export interface HostPolicyOptions {
  /** When not empty, only hosts matching one of these are allowed. */
  readonly allow?: readonly string[] | undefined;
  /** Refused whatever `allow` says. */
  readonly deny?: readonly string[] | undefined;
  /** Include {@link DEFAULT_DENIED_HOSTS} (default true). */
  readonly defaults?: boolean | undefined;
  /** Resolves names (default: the system resolver, every address). */
  readonly resolve?: ((host: string) => Promise<readonly LookupAddress[]>) | undefined;
}

/** The default resolver: every address of the name, as the system resolver gives them. */
function systemResolve(host: string): Promise<readonly LookupAddress[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });
}

/** A source-host policy; see the module comment for the rules. */
export class HostPolicy {
  readonly #allow: readonly HostRule[];
  readonly #deny: readonly HostRule[];
  readonly #resolve: (host: string) => Promise<readonly LookupAddress[]>;

  constructor(opts: HostPolicyOptions = {}) {
    this.#allow = (opts.allow ?? []).map(parseHostRule);
    this.#deny = [...(opts.defaults === false ? [] : DEFAULT_DENIED_HOSTS), ...(opts.deny ?? [])].map(parseHostRule);
    this.#resolve = opts.resolve ?? systemResolve;
  }

  /** The rules, as given, for logs and `--help`. */
  describe(): { allow: string[]; deny: string[] } {
    return { allow: this.#allow.map((r) => r.text), deny: this.#deny.map((r) => r.text) };
  }

  /** Throws {@link HostDeniedError} unless a connection to `host` (a name or an address) at `addresses` is allowed. */
  check(host: string, port: number, addresses: readonly string[]): void {
    const name = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
    const literal = isIP(name) !== 0;
    const all = (literal ? [name, ...addresses] : addresses).map(normalizeAddress);
    const deniedName = literal ? undefined : this.#deny.find((r) => nameMatches(r, name, port));
    if (deniedName) throw new HostDeniedError(name, `the host matches the deny rule ${deniedName.text}`);
    for (const address of all) {
      const rule = this.#deny.find((r) => addressMatches(r, address, port));
      if (rule) throw new HostDeniedError(name, `${address} matches the deny rule ${rule.text}`);
    }
    if (this.#allow.length === 0) return;
    if (!literal && this.#allow.some((r) => nameMatches(r, name, port))) return;
    const outside = all.find((address) => !this.#allow.some((r) => addressMatches(r, address, port)));
    if (outside !== undefined || all.length === 0) {
      throw new HostDeniedError(name, `${outside ?? 'the host'} matches no allow rule`);
    }
  }

  /**
   * Checks the host of a URL before a request: its name against the name rules,
   * and an IP literal (which no lookup will see) against every rule. A name's
   * addresses are checked by the lookup of {@link lookupFor}.
   */
  checkUrl(url: URL): void {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = portOf(url);
    if (isIP(host) !== 0) {
      this.check(host, port, []);
      return;
    }
    this.#checkName(host, port);
  }

  /** Deny rules by name only (addresses come later, from the lookup). */
  #checkName(host: string, port: number): void {
    const name = host.toLowerCase().replace(/\.$/, '');
    const rule = this.#deny.find((r) => nameMatches(r, name, port));
    if (rule) throw new HostDeniedError(name, `the host matches the deny rule ${rule.text}`);
  }

  /**
   * A `lookup` for sockets to `port`: resolves the name, checks every address,
   * and answers with exactly the checked addresses, so the socket connects to an
   * address the policy saw. A refusal is the socket's error.
   */
  lookupFor(port: number): LookupFunction {
    return ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
      this.#resolve(hostname).then((addresses) => {
        this.check(hostname, port, addresses.map((a) => a.address));
        if (addresses.length === 0) throw Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' });
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]?.address, addresses[0]?.family);
      }).catch((err: unknown) => { callback(err); });
    }) as unknown as LookupFunction;
  }
}

/** The port a URL connects to. */
export function portOf(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/**
 * Deny rules for the cluster's own apiserver: the `kubernetes` Service's
 * ClusterIP (`KUBERNETES_SERVICE_HOST`, every port: the address serves nothing
 * else) and the server the controller's kubeconfig names (that host and port;
 * on a loopback address, the port on every loopback address, since a server on
 * 127.0.0.1 often listens on all of them).
 */
export function apiserverDenyRules(env: NodeJS.ProcessEnv, kubeServer: string | undefined): string[] {
  const rules: string[] = [];
  const serviceHost = env.KUBERNETES_SERVICE_HOST?.trim();
  if (serviceHost && isIP(serviceHost) !== 0) rules.push(serviceHost);
  if (kubeServer) {
    let url: URL | undefined;
    try { url = new URL(kubeServer); } catch { url = undefined; }
    if (url) {
      const host = url.hostname.replace(/^\[|\]$/g, '');
      const port = portOf(url);
      const loopback = host === 'localhost' || /^127\./.test(host) || host === '::1';
      // A server on a loopback address is reachable through every loopback address (and `localhost`) at its port.
      if (loopback) rules.push(`127.0.0.0/8:${port}`, `[::1]:${port}`, `localhost:${port}`);
      else rules.push(isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`);
    }
  }
  return [...new Set(rules)];
}
