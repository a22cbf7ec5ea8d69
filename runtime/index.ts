/**
 * The shared controller machinery. Controllers import from here only:
 * `import { Controller, KubeClient, StallingError, ... } from '../runtime/index.ts'`.
 */
export * from './conditions.ts';
export * from './controller.ts';
export * from './discovery.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './http.ts';
export * from './informer.ts';
export * from './kube.ts';
export * from './kube-transport.ts';
export * from './kubeconfig.ts';
export * from './leader.ts';
export * from './logging.ts';
export * from './merge-patch.ts';
export * from './manager.ts';
export * from './metrics.ts';
export * from './object.ts';
export * from './predicates.ts';
export * from './queue.ts';
export * from './rate-limit.ts';
export * from './redact.ts';
