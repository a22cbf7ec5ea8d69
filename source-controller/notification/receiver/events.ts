/**
 * What a verified request is about: its event type (GitHub and GitLab say it
 * in a header, the Distribution registry in each envelope entry) and, for the
 * registry, the repositories a manifest was pushed to. Pure: tests feed it the
 * bodies real senders produce.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ReceiverType } from '../api.ts';
import { DEFAULT_EVENTS, headerValue } from './verify.ts';

/** What to do with a verified request. */
export type EventDecision =
  /** Reconcile; `repositories` (registry only) narrows the OCIRepositories to those URLs' paths. */
  | { readonly act: true; readonly event: string; readonly repositories?: ReadonlySet<string> }
  /** Answer without work. */
  | { readonly act: false; readonly event: string; readonly why: string };

/** Most entries one registry envelope may carry (Distribution batches a few at a time). */
const MAX_ENVELOPE_EVENTS = 1000;

/** One entry of a Distribution notification envelope, as far as it is read. */
interface RegistryEvent {
  readonly action?: unknown;
  readonly target?: { readonly repository?: unknown; readonly tag?: unknown; readonly mediaType?: unknown };
}

/** True for a push of a manifest or index (not a blob, which comes before the manifest). */
function isManifestPush(e: RegistryEvent, actions: readonly string[]): boolean {
  if (typeof e.action !== 'string' || !actions.includes(e.action)) return false;
  const target = e.target;
  if (typeof target?.repository !== 'string') return false;
  if (typeof target.tag === 'string' && target.tag !== '') return true;
  return typeof target.mediaType === 'string' && /manifest|index/.test(target.mediaType);
}

/** The repositories of the manifest pushes in a Distribution envelope; throws on a body that is not one. */
export function registryRepositories(body: Buffer, actions: readonly string[]): Set<string> {
  const parsed = JSON.parse(body.toString('utf8')) as unknown;
  const events = (parsed as { events?: unknown } | null)?.events;
  if (!Array.isArray(events)) throw new TypeError('not a registry notification envelope (no events list)');
  const repositories = new Set<string>();
  for (const e of events.slice(0, MAX_ENVELOPE_EVENTS) as RegistryEvent[]) {
    if (typeof e === 'object' && e !== null && isManifestPush(e, actions)) repositories.add(e.target?.repository as string);
  }
  return repositories;
}

/** The repository path of an `oci://host/path` URL (what registry events name). */
export function ociRepositoryPath(url: string): string {
  return url.replace(/^oci:\/\/[^/]+\//, '');
}

/** Decides whether a verified request of a Receiver of `type` with `events` asks for work. */
export function decideEvent(type: ReceiverType, events: readonly string[], headers: IncomingHttpHeaders, body: Buffer): EventDecision {
  const accepted = events.length > 0 ? events : DEFAULT_EVENTS[type];
  switch (type) {
    case 'generic':
    case 'generic-hmac':
      return { act: true, event: 'request' };
    case 'github':
    case 'gitlab': {
      const event = headerValue(headers, type === 'github' ? 'x-github-event' : 'x-gitlab-event') ?? '';
      if (type === 'github' && event === 'ping') return { act: false, event, why: 'ping' };
      return accepted.includes(event) ? { act: true, event } : { act: false, event, why: `event "${event.slice(0, 64)}" is not one of ${accepted.join(', ')}` };
    }
    case 'registry': {
      let repositories: Set<string>;
      try {
        repositories = registryRepositories(body, accepted);
      } catch {
        return { act: false, event: 'invalid', why: 'the body is not a registry notification envelope' };
      }
      if (repositories.size === 0) return { act: false, event: 'other', why: `no manifest ${accepted.join('/')} in the envelope` };
      return { act: true, event: accepted.join('/'), repositories };
    }
  }
}
