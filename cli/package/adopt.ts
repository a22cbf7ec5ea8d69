/**
 * `kubectl package adopt NAME -f DIR`: hands objects that were applied with
 * `kubectl apply` over to the Package NAME before (or after) it is created, without
 * recreating them. For each object DIR holds (read like a Package's bundle: plain
 * manifests or a kustomization) that exists in the cluster: the Package's labels
 * are added (collision protection then sees it as the Package's own), and the
 * fields kubectl's client-side apply owned move to the apply controller's field
 * manager (takeover.ts), so that a field later removed from the Package is removed
 * from the object. Objects of another Package, or controlled by another object,
 * are refused before anything is written. `--dry-run` only says what it would do.
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import {
  isPlainObject, loadBundle, PACKAGE_NAME_LABEL, PACKAGE_NAMESPACE_LABEL, packageLabels, summarizeProblems, type SourcedObject,
} from '../../apply-controller/index.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import type { KubeObject, ObjectRef } from '../../runtime/object.ts';
import { collect } from './args.ts';
import { examples, runAction, target, withClusterFlags, type ClusterFlags, type CommandIO } from './context.ts';
import { CliError } from './errors.ts';
import { FIELD_MANAGER } from './objects.ts';
import { CLIENT_SIDE_APPLY_MANAGER, takeOverPatch } from './takeover.ts';

/** The apply controller's field manager, which takes the fields over. */
const CONTROLLER_FIELD_MANAGER = 'trellis';

/** Flags of `adopt`. */
export interface AdoptFlags extends ClusterFlags {
  readonly filename: string;
  readonly dryRun?: boolean;
  /** More field managers whose fields are taken over (besides kubectl's client-side apply). */
  readonly fromManager?: readonly string[];
}

/** What adopt does with one object. */
type Decision =
  | { readonly ref: ObjectRef; readonly action: 'missing' | 'unknown-kind' }
  | { readonly ref: ObjectRef; readonly action: 'refuse'; readonly why: string }
  | { readonly ref: ObjectRef; readonly action: 'adopt'; readonly live: KubeObject };

function describe(ref: ObjectRef): string {
  const group = ref.apiVersion.includes('/') ? `.${ref.apiVersion.split('/')[0] ?? ''}` : '';
  return `${ref.kind.toLowerCase()}${group}/${ref.name}`;
}

async function decide(client: KubeClient, entry: SourcedObject, namespace: string, pkg: string): Promise<Decision> {
  const obj = entry.object as KubeObject;
  const apiVersion = obj.apiVersion ?? '';
  const kind = obj.kind ?? '';
  const resource = await client.resourceOf(apiVersion, kind);
  const name = obj.metadata?.name ?? '';
  const ns = resource?.namespaced ? (obj.metadata?.namespace ?? namespace) : undefined;
  const ref: ObjectRef = { apiVersion, kind, name, ...(ns === undefined ? {} : { namespace: ns }) };
  if (resource === undefined) return { ref, action: 'unknown-kind' };
  const live = await client.get<KubeObject>(ref);
  if (live === undefined) return { ref, action: 'missing' };
  const owner = live.metadata?.labels?.[PACKAGE_NAME_LABEL];
  const ownerNs = live.metadata?.labels?.[PACKAGE_NAMESPACE_LABEL];
  if (owner !== undefined && (owner !== pkg || ownerNs !== namespace)) return { ref, action: 'refuse', why: `it belongs to the Package ${ownerNs ?? '?'}/${owner}` };
  const controller = (live.metadata?.ownerReferences ?? []).find((r) => r.controller === true);
  if (controller) return { ref, action: 'refuse', why: `it is controlled by ${controller.kind}/${controller.name}` };
  return { ref, action: 'adopt', live };
}

/** Runs `adopt`: checks every object first, then labels them and moves their fields. */
export async function adoptObjects(io: CommandIO, name: string, flags: AdoptFlags): Promise<void> {
  const { client, namespace } = target(io, flags);
  const loaded = await loadBundle(resolve(flags.filename));
  if (loaded.errors.length > 0) throw new CliError(`${flags.filename} cannot be read: ${summarizeProblems(loaded.errors)}`);
  const decisions: Decision[] = [];
  for (const entry of loaded.objects) {
    if (!isPlainObject(entry.object.metadata)) continue;
    decisions.push(await decide(client, entry, namespace, name));
  }
  const refused = decisions.filter((d) => d.action === 'refuse');
  if (refused.length > 0) {
    throw new CliError(`nothing adopted: ${refused.map((d) => `${describe(d.ref)}: ${d.action === 'refuse' ? d.why : ''}`).join('; ')}`);
  }
  const labels = packageLabels(name, namespace);
  for (const d of decisions) {
    if (d.action === 'missing') io.term.out(`${describe(d.ref)} not in the cluster: the Package will create it\n`);
    if (d.action === 'unknown-kind') io.term.out(`${describe(d.ref)} skipped: the cluster does not serve ${d.ref.kind} (yet)\n`);
    if (d.action !== 'adopt') continue;
    const { patch, movedFrom } = takeOverPatch(d.live, {
      labels, manager: CONTROLLER_FIELD_MANAGER, now: io.now(), from: [CLIENT_SIDE_APPLY_MANAGER, ...(flags.fromManager ?? [])],
    });
    if (!flags.dryRun) await client.patch(d.ref, patch, { type: 'json', fieldManager: FIELD_MANAGER });
    const fields = movedFrom.length > 0 ? `, fields of ${movedFrom.join(', ')} moved to ${CONTROLLER_FIELD_MANAGER}` : '';
    io.term.out(`${describe(d.ref)} ${flags.dryRun ? 'would be adopted' : 'adopted'} by Package ${namespace}/${name}${fields}\n`);
  }
}

/** The `adopt` subcommand. */
export function adoptCommand(io: CommandIO): Command {
  const cmd = new Command('adopt')
    .description('hand objects applied with kubectl apply over to a Package, without recreating them')
    .argument('<name>', 'name of the Package that will own them')
    .requiredOption('-f, --filename <dir>', 'the manifests (a folder, or a kustomization) the Package applies')
    .option('--dry-run', 'say what would be adopted, change nothing', false)
    .option('--from-manager <name>', `another field manager whose fields the Package takes over (besides ${CLIENT_SIDE_APPLY_MANAGER}; repeatable)`, collect);
  withClusterFlags(cmd);
  return cmd
    .addHelpText('after', examples('kubectl package adopt web -f ./deploy -n shop', 'kubectl package adopt web -f ./overlays/prod --dry-run'))
    .action(async (name: string, flags: AdoptFlags) => { await runAction(io, () => adoptObjects(io, name, flags)); });
}
