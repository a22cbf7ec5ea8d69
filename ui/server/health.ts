/**
 * The kstatus verdict the dashboard shows for each object: the apply
 * controller's own health library (the same rules its waits use), with the
 * Package's `spec.healthChecks`. The bundle's checks are not known outside the
 * controller, so an object judged only by one of those may read differently.
 *
 * The one module of ui/ that reaches into the apply controller past its
 * index.ts: the health library is pure and has its own entry point, but the
 * controller's index does not re-export it yet (eslint.config.js names this file).
 */
import { assessHealth, compileHealthChecks, type HealthChecks, type Package } from '../../apply-controller/index.ts';
import type { KubeObject } from '../../runtime/object.ts';
import { redactString } from '../../runtime/redact.ts';

/** A verdict: `Current`, `InProgress`, `Failed`, `Terminating`, `NotFound` or `Unknown`, and why. */
export interface Verdict {
  readonly status: string;
  readonly message: string;
}

/** The Package's own checks; none when they do not compile (the controller stalls on those anyway). */
export function packageChecks(pkg: Package): HealthChecks {
  const compiled = compileHealthChecks(pkg.spec.healthChecks, 'spec.healthChecks');
  return compiled.ok ? compiled.checks : [];
}

/** The verdict on one live object (undefined: not found). */
export function verdictOf(obj: KubeObject | undefined, checks: HealthChecks): Verdict {
  const health = assessHealth(obj as Parameters<typeof assessHealth>[0], { checks });
  return { status: health.status, message: redactString(health.message ?? '') };
}
