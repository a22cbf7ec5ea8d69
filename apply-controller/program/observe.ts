/**
 * What the render engine tells observers (the apply controller's metrics): each
 * render that ran in a sandbox, with how long it took and how it ended, and each
 * render answered from the cache. The engine knows nothing of Packages: the
 * caller names what a render is for with {@link renderingFor}, and that name
 * follows the render through every await (AsyncLocalStorage), so the render
 * slots, the Worker and the cache need no extra parameter.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ProgramCall, RenderFailureReason } from './protocol.ts';

/** What a render is for, as its caller names it (the apply controller: a Package's namespace and name). */
export interface RenderSubject {
  readonly namespace: string;
  readonly name: string;
}

/** One render, seen from outside the sandbox. */
export type RenderObservation =
  | {
    readonly kind: 'ran';
    readonly method: ProgramCall['method'];
    /** From the moment the render got a slot to its answer (waiting for a slot not included). */
    readonly seconds: number;
    /** `ok`, or why the sandbox gave no output. */
    readonly outcome: 'ok' | RenderFailureReason;
    readonly subject: RenderSubject | undefined;
  }
  | { readonly kind: 'cached'; readonly subject: RenderSubject | undefined };

/** Told of every observation in this process. */
export type RenderObserver = (observation: RenderObservation) => void;

const subjects = new AsyncLocalStorage<RenderSubject>();
const observers = new Set<RenderObserver>();

/** Runs `work` with every render it causes attributed to `subject`. */
export function renderingFor<T>(subject: RenderSubject, work: () => Promise<T>): Promise<T> {
  return subjects.run({ namespace: subject.namespace, name: subject.name }, work);
}

/** Adds an observer of every render in this process; returns its removal. */
export function observeRenders(observer: RenderObserver): () => void {
  observers.add(observer);
  return () => { observers.delete(observer); };
}

type Unattributed<T> = T extends unknown ? Omit<T, 'subject'> : never;

/** Tells the observers (render.ts and cache.ts call it); an observer that throws does not disturb the render. */
export function reportRender(observation: Unattributed<RenderObservation>): void {
  if (observers.size === 0) return;
  const seen = { ...observation, subject: subjects.getStore() } as RenderObservation;
  for (const observer of observers) {
    try {
      observer(seen);
    } catch {
      // Metrics are never a reason for a render to fail.
    }
  }
}
