/**
 * `kubectl package install NAME oci://host/repo`: writes the OCIRepository that
 * follows the package and the Package that applies it, with server-side apply
 * (field manager `kubectl-package`), so running it again with other flags
 * updates both and drops what is no longer given. `--set` is typed by the
 * package's own values schema, read from the registry; `--dry-run` prints the
 * two objects for committing to Git instead of writing them.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import semver from 'semver';
import { parse } from 'yaml';
import { isPlainObject, mergeValues, resolveValues, type Package, type Values } from '../../apply-controller/index.ts';
import type { OCIRepository, OciReference } from '../../source-controller/index.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import { refOf, type KubeObject } from '../../runtime/object.ts';
import { KubeConfigNotFoundError } from '../../runtime/kubeconfig.ts';
import { collect, parseDurationText, timeoutOption } from './args.ts';
import { examples, runAction, target, withClusterFlags, type ClusterFlags, type CommandIO } from './context.ts';
import { CliError } from './errors.ts';
import { createdByInstall, FIELD_MANAGER, installObjects, type InstallRef, type InstallSpec } from './objects.ts';
import { renderObjects } from './output.ts';
import { highestVersion, readRegistryPackage, readRegistryTags } from './registry.ts';
import { applyValueFlags } from '../values.ts';
import { SetValueError, setsWithoutSchema } from './set-values.ts';
import { installVerdict, pollUntil } from './wait.ts';

/** Flags of `install`. */
export interface InstallFlags extends ClusterFlags {
  readonly version?: string;
  readonly tag?: string;
  readonly digest?: string;
  /** `--values` files, in order. */
  readonly values?: readonly string[];
  readonly set?: readonly string[];
  readonly setJson?: readonly string[];
  readonly serviceAccount?: string;
  readonly insecure?: boolean;
  readonly interval?: string;
  readonly path?: string;
  readonly targetNamespace?: string;
  readonly wait?: boolean;
  /** Milliseconds. */
  readonly timeout?: number;
  readonly dryRun?: boolean;
}

function refFlag(flags: InstallFlags): InstallRef | undefined {
  const given = [
    flags.version !== undefined ? { semver: flags.version } : undefined,
    flags.tag !== undefined ? { tag: flags.tag } : undefined,
    flags.digest !== undefined ? { digest: flags.digest } : undefined,
  ].filter((r) => r !== undefined);
  if (given.length > 1) throw new CliError('give only one of --version, --tag and --digest');
  return given[0];
}

/** The `--values` files merged in order (later files win, key by key). */
export function readValuesFiles(files: readonly string[]): Values {
  let values: Values = {};
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new CliError(`--values ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(err)}`);
    }
    let doc: unknown;
    try {
      doc = parse(text, { version: '1.2', maxAliasCount: 100 });
    } catch (err) {
      throw new CliError(`--values ${file}: not valid YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
    if (doc === null || doc === undefined) continue;
    if (!isPlainObject(doc)) throw new CliError(`--values ${file}: expected a mapping of values at the top level`);
    values = mergeValues(values, doc);
  }
  return values;
}

/**
 * The values for `spec.values`: the files, then each `--set` typed by the
 * package's schema, checked against the schema. Reads the registry only when
 * values are given (a plain install works offline).
 */
async function valuesFor(io: CommandIO, spec: InstallSpec, flags: InstallFlags): Promise<Values | undefined> {
  const sets = [...flags.set ?? [], ...flags.setJson ?? []];
  const files = flags.values ?? [];
  if (sets.length === 0 && files.length === 0) return undefined;
  const base = readValuesFiles(files);
  const { repository, ref, source } = installObjects(spec);
  const pkg = await readRegistryPackage(repository, ref ?? { semver: '*' }, { insecure: source.spec.insecure === true, env: io.env });
  const schema = pkg.valuesSchema;
  if (!schema) {
    if (sets.length > 0) throw setsWithoutSchema(sets);
    if (Object.keys(base).length > 0) throw new CliError(`--values: the package at ${pkg.revision} declares no values`);
    return undefined;
  }
  try {
    if (sets.length > 0) return applyValueFlags(schema, base, flags);
  } catch (err) {
    if (err instanceof SetValueError) throw new CliError(err.message);
    throw err;
  }
  const resolved = resolveValues({ schema, values: base });
  if (!resolved.ok) throw new CliError(`the values do not fit the package's schema:\n  ${resolved.errors.map((e) => e.message).join('\n  ')}`);
  return base;
}

/**
 * The ref of an install given no version: the major version of the highest
 * released version among the repository's tags (`^1` when 1.4.0 is the
 * highest), said on stderr. `trellis push` writes version tags and never
 * `latest`, so following `latest` would wait forever; following the whole
 * major version takes new releases but never a breaking one. A repository
 * without version tags is followed at `latest` only when it has that tag.
 */
async function defaultRef(io: CommandIO, repository: OciReference, insecure: boolean, name: string): Promise<InstallRef> {
  const where = `oci://${repository.host}/${repository.repository}`;
  let tags: string[];
  try {
    tags = await readRegistryTags(repository, { insecure, env: io.env });
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    throw new CliError(`${err.message}\n(no --version given: install reads the tags to pick the highest version; --version RANGE, --tag or --digest installs without asking)`);
  }
  const highest = highestVersion(tags);
  if (highest) {
    const range = `^${semver.major(highest.version)}`;
    io.term.err(`note: no --version given: the highest version in ${where} is ${highest.version}; ${name} follows ${range} (new ${semver.major(highest.version)}.x releases are applied; --version changes this)\n`);
    return { semver: range };
  }
  if (tags.includes('latest')) {
    io.term.err(`note: no --version given and ${where} has no version tags: following its "latest" tag\n`);
    return { tag: 'latest' };
  }
  const shown = tags.slice(0, 5).join(', ');
  throw new CliError(`${where} has no tag that is a semantic version${tags.length > 0 ? ` (tags: ${shown}${tags.length > 5 ? ', …' : ''})` : ' (no tags at all: push one first)'}; give --tag or --digest`);
}

/** `created`, `configured` or `unchanged`, as kubectl apply says it. */
function applyVerb(before: KubeObject | undefined, after: KubeObject): string {
  if (!before) return 'created';
  return before.metadata?.resourceVersion === after.metadata?.resourceVersion ? 'unchanged' : 'configured';
}

async function applyObject<T extends KubeObject>(client: KubeClient, obj: T): Promise<{ verb: string; live: T }> {
  const before = await client.get<T>(refOf(obj));
  const live = await client.apply(obj, { fieldManager: FIELD_MANAGER, force: true });
  return { verb: applyVerb(before, live), live };
}

function resourceName(obj: KubeObject): string {
  const [group] = (obj.apiVersion ?? '').split('/');
  return `${(obj.kind ?? '').toLowerCase()}.${group ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** Runs `install`. */
export async function installPackage(io: CommandIO, name: string, url: string, flags: InstallFlags): Promise<void> {
  const ref = refFlag(flags);
  let namespace = flags.namespace;
  let cluster: ReturnType<typeof target> | undefined;
  try {
    cluster = target(io, flags);
    namespace = cluster.namespace;
  } catch (err) {
    // A dry run needs no cluster: it prints objects for Git.
    if (!(flags.dryRun && err instanceof KubeConfigNotFoundError)) throw err;
  }
  let spec: InstallSpec = {
    name, namespace: namespace ?? 'default', url, ref, serviceAccountName: flags.serviceAccount,
    insecure: flags.insecure, interval: flags.interval, path: flags.path, targetNamespace: flags.targetNamespace,
  };
  const checked = installObjects(spec); // checks name and URL before any registry or cluster call
  if (checked.ref === undefined) spec = { ...spec, ref: await defaultRef(io, checked.repository, checked.source.spec.insecure === true, name) };
  const values = await valuesFor(io, spec, flags);
  const objects = installObjects({ ...spec, values });

  if (flags.dryRun) {
    io.term.out(renderObjects([objects.source, objects.package], flags.output === 'json' ? 'json' : 'yaml'));
    return;
  }
  if (!cluster) throw new CliError('no cluster to install into');
  const { client } = cluster;
  const existing = await client.get<OCIRepository>(refOf(objects.source));
  if (existing && !createdByInstall(existing, name)) {
    throw new CliError(`OCIRepository ${spec.namespace}/${name} exists and was not created by "kubectl package install ${name}"; not overwriting it`);
  }
  const source = await applyObject(client, objects.source);
  io.term.out(`${resourceName(source.live)} ${source.verb}\n`);
  const pkg = await applyObject<Package>(client, objects.package);
  io.term.out(`${resourceName(pkg.live)} ${pkg.verb}\n`);
  const pinned = pkg.live.spec.rollback?.revision;
  if (pinned !== undefined) {
    io.term.err(`note: ${name} is pinned to revision ${pinned}; "kubectl package rollback ${name} --unpin" follows the source again\n`);
  }
  if (!flags.wait) return;
  const timeoutMs = flags.timeout ?? 300_000;
  const message = await pollUntil(io.term, async () => installVerdict(
    await client.get<OCIRepository>(refOf(objects.source)),
    await client.get<Package>(refOf(objects.package)),
  ), { timeoutMs, what: `waiting for ${name} to be installed` });
  io.term.out(`${message}\n`);
}

/** The `install` subcommand. */
export function installCommand(io: CommandIO): Command {
  const cmd = new Command('install')
    .description('install or upgrade a package from an OCI registry (an OCIRepository and a Package)')
    .argument('<name>', 'name of the Package (and of its OCIRepository)')
    .argument('<url>', 'the package\'s repository: oci://host/repo (a :tag or @digest may follow)')
    .option('--version <range>', 'follow the highest version in this semver range (e.g. \'^1.4\'; default: the major version of the highest version tag)')
    .option('--tag <tag>', 'follow this tag')
    .option('--digest <digest>', 'pin this manifest digest (sha256:…)')
    .option('-f, --values <file>', 'values from a YAML file (repeatable; later files win)', collect)
    .option('--set <key=value>', 'a value, typed by the package\'s schema: replicas=3, image.tag=1.2, hosts[0]=a.example (repeatable)', collect)
    .option('--set-json <key=json>', 'a value as JSON, any shape: extraConfigs=\'{"db": {"url": "x"}}\' (repeatable; before --set)', collect)
    .option('--service-account <name>', 'apply the package as this service account of the namespace')
    .option('--target-namespace <namespace>', 'namespace for the package\'s namespaced objects')
    .option('--path <dir>', 'folder inside the artifact to apply')
    .option('--interval <duration>', 'how often the source looks for a new version (default 5m)', parseDurationText)
    .option('--insecure', 'talk plain HTTP to the registry (implied for localhost and 127.0.0.1, as Docker does)')
    .option('--no-insecure', 'use HTTPS even for a loopback registry')
    .option('--wait', 'wait until the package is applied and Ready', false)
    .addOption(timeoutOption())
    .option('--dry-run', 'print the objects (for committing to Git) instead of writing them', false);
  withClusterFlags(cmd, { output: 'yaml', formats: ['json', 'yaml'] });
  return cmd
    .addHelpText('after', examples(
      'kubectl package install web oci://$TRELLIS_REGISTRY/examples/web --version \'^1\' --wait',
      'kubectl package install web oci://registry.example.com/team/web --tag 1.4.0 --set replicas=3 -n shop',
      'kubectl package install web oci://registry.example.com/team/web --version \'~1.4\' --dry-run -o yaml > web.yaml',
    ))
    .action(async (name: string, url: string, flags: InstallFlags) => {
      await runAction(io, () => installPackage(io, name, url, flags));
    });
}
