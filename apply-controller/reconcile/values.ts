/**
 * `spec.valuesFrom`: values kept in ConfigMaps and Secrets of the Package's
 * namespace. Each entry is read in order; a missing object or key fails the
 * reconcile unless the entry is `optional`. The reconciler reads them as the
 * Package's service account when it has one (a tenant can only name what it
 * could read itself); an object the account may not read fails with
 * `ValuesForbidden`, optional or not. Nothing read here ever appears in a
 * message: Secret contents are values, and values are never shown.
 */
import { parse } from 'yaml';
import type { KubeClient } from '../../runtime/kube.ts';
import { isForbidden } from '../../runtime/kube-transport.ts';
import type { KubeObject } from '../../runtime/object.ts';
import type { Package } from '../api.ts';
import { isPlainObject } from '../bundle/object.ts';
import type { Values } from '../bundle/values.ts';
import { PackageFailure } from './failure.ts';

interface DataObject extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** `a.b.c` -> `{a: {b: {c: value}}}`; undefined for an empty or malformed path. */
export function nestAtPath(path: string, value: unknown): Values | undefined {
  const parts = path.split('.');
  if (parts.some((p) => p === '' || p === '__proto__' || p === 'constructor' || p === 'prototype')) return undefined;
  let out: unknown = value;
  for (const part of parts.reverse()) out = { [part]: out };
  return out as Values;
}

/**
 * A `valuesFrom` entry's text as values: without `targetPath`, a YAML mapping
 * merged at the root; with it, one value at that dotted path, read as a YAML
 * scalar so `3` stays a number and `true` a boolean (as `helm --set` reads it).
 * Returns an error text (without the content) when it cannot be used.
 */
export function valuesOfEntry(text: string, targetPath: string | undefined): Values | string {
  let parsed: unknown;
  try {
    parsed = parse(text, { version: '1.2', maxAliasCount: 100 });
  } catch {
    if (targetPath === undefined) return 'is not valid YAML';
    parsed = text;
  }
  if (targetPath !== undefined) {
    return nestAtPath(targetPath, parsed === null ? text : parsed) ?? `targetPath ${JSON.stringify(targetPath)} is not a dotted path`;
  }
  if (parsed === null || parsed === undefined) return {};
  return isPlainObject(parsed) ? parsed : 'is not a YAML mapping of values';
}

/** The ConfigMap or Secret, or undefined when it does not exist; a refusal says who was refused, never what the object holds. */
async function readDataObject(client: KubeClient, kind: string, namespace: string, name: string, where: string): Promise<DataObject | undefined> {
  try {
    return await client.get<DataObject>({ apiVersion: 'v1', kind, namespace, name });
  } catch (err) {
    if (!isForbidden(err)) throw err;
    const who = client.impersonating ?? 'the controller';
    throw new PackageFailure(undefined, 'ValuesForbidden', `${where}: ${who} may not get it; grant it get on ${kind === 'Secret' ? 'secrets' : 'configmaps'} (by name)`, 'retry');
  }
}

/** Reads every `valuesFrom` entry, in order (through `client`, in the Package's namespace). */
export async function readValuesFrom(client: KubeClient, pkg: Package): Promise<Values[]> {
  const namespace = pkg.metadata.namespace ?? '';
  const out: Values[] = [];
  for (const [i, ref] of (pkg.spec.valuesFrom ?? []).entries()) {
    const where = `spec.valuesFrom[${i}]: ${ref.kind} ${namespace}/${ref.name}`;
    const key = ref.valuesKey ?? 'values.yaml';
    const obj = await readDataObject(client, ref.kind, namespace, ref.name, where);
    let text: string | undefined;
    if (obj) {
      const raw = obj.data?.[key] ?? (ref.kind === 'ConfigMap' ? obj.binaryData?.[key] : undefined);
      const encoded = ref.kind === 'Secret' || obj.data?.[key] === undefined;
      if (raw !== undefined) text = encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
    }
    if (text === undefined) {
      if (ref.optional) continue;
      const missing = obj ? `has no key ${JSON.stringify(key)}` : 'does not exist';
      throw new PackageFailure(undefined, 'ValuesNotFound', `${where} ${missing}`, 'retry');
    }
    const values = valuesOfEntry(text, ref.targetPath);
    if (typeof values === 'string') {
      throw new PackageFailure(undefined, 'InvalidValues', `${where}: key ${JSON.stringify(key)} ${values}`, 'retry');
    }
    out.push(values);
  }
  return out;
}
