/**
 * The dashboard's actions, each one the very function the matching
 * `kubectl package` command runs (so the request, the field manager and the
 * checks are the same), with the dashboard's kubeconfig flags and a terminal
 * that captures what the command would have printed. The server passes only
 * validated names and numbers.
 */
import type { CommandIO } from '../../cli/package/context.ts';
import { computeDiff, type PackageDiff } from '../../cli/package/diff.ts';
import { describeError, CliError } from '../../cli/package/errors.ts';
import { captureTerminal } from '../../cli/package/output.ts';
import { reconcilePackage } from '../../cli/package/reconcile.ts';
import { rollbackPackage } from '../../cli/package/rollback.ts';
import { setSuspended } from '../../cli/package/suspend.ts';
import type { KubeFlags } from '../../cli/kube.ts';

/** The actions the dashboard offers. */
export const ACTIONS = ['reconcile', 'suspend', 'resume', 'rollback', 'unpin'] as const;

/** An action's name. */
export type ActionName = (typeof ACTIONS)[number];

/** What an action request may carry. */
export interface ActionInput {
  /** reconcile, suspend, resume: the source too. */
  readonly withSource?: boolean;
  /** rollback: the revision to pin (absent: the previous healthy one, as the CLI chooses). */
  readonly to?: number;
}

/** What the user sees after an action: the command's own output, or its error. */
export interface ActionResult {
  readonly ok: boolean;
  /** What `kubectl package …` would have printed (stdout, then stderr). */
  readonly output: string;
  /** The equivalent command line. */
  readonly command: string;
}

/** True for a known action name. */
export function isAction(name: string): name is ActionName {
  return (ACTIONS as readonly string[]).includes(name);
}

/** Reads an action body; throws CliError on anything unexpected. */
export function parseActionInput(action: ActionName, body: unknown): ActionInput {
  const input = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const out: { withSource?: boolean; to?: number } = {};
  if (input.withSource !== undefined) {
    if (typeof input.withSource !== 'boolean') throw new CliError('withSource must be true or false');
    out.withSource = input.withSource;
  }
  if (input.to !== undefined && input.to !== null) {
    if (action !== 'rollback' || typeof input.to !== 'number' || !Number.isSafeInteger(input.to) || input.to < 1) {
      throw new CliError('to must be a revision number (rollback only)');
    }
    out.to = input.to;
  }
  return out;
}

/** The command line a person would type for the same action. */
export function commandLine(action: ActionName, namespace: string, name: string, input: ActionInput): string {
  const verb = action === 'unpin' ? 'rollback' : action;
  const flags = [
    ...(input.withSource ? ['--with-source'] : []),
    ...(action === 'unpin' ? ['--unpin'] : []),
    ...(input.to !== undefined ? ['--to', String(input.to)] : []),
  ];
  return ['kubectl package', verb, name, '-n', namespace, ...flags].join(' ');
}

/** Runs an action as the CLI runs it. */
export async function performAction(kube: KubeFlags, action: ActionName, namespace: string, name: string, input: ActionInput): Promise<ActionResult> {
  const term = captureTerminal();
  const io: CommandIO = { term, env: process.env, now: () => new Date(), exit: () => undefined };
  const flags = { ...kube, namespace };
  const command = commandLine(action, namespace, name, input);
  try {
    switch (action) {
      case 'reconcile': await reconcilePackage(io, name, { ...flags, withSource: input.withSource === true }); break;
      case 'suspend': await setSuspended(io, name, true, { ...flags, withSource: input.withSource === true }); break;
      case 'resume': await setSuspended(io, name, false, { ...flags, withSource: input.withSource === true }); break;
      case 'rollback': await rollbackPackage(io, name, { ...flags, ...(input.to !== undefined ? { to: input.to } : {}) }); break;
      case 'unpin': await rollbackPackage(io, name, { ...flags, unpin: true }); break;
    }
    return { ok: true, output: term.stdout() + term.stderr(), command };
  } catch (err) {
    return { ok: false, output: `${term.stdout()}${term.stderr()}${describeError(err)}\n`, command };
  }
}

/** The next reconcile's diff, as `kubectl package diff` computes it (Secret values masked). */
export async function planDiff(kube: KubeFlags, namespace: string, name: string): Promise<PackageDiff> {
  const io: CommandIO = { term: captureTerminal(), env: process.env, now: () => new Date(), exit: () => undefined };
  return computeDiff(io, name, { ...kube, namespace });
}
