/**
 * The health library of the apply controller: kstatus's health of one object
 * as read from the cluster, with the per-object `health.trellis.dev/wait-for`
 * opt-ins. Pure; the waiting loop that polls objects lives with the apply engine.
 */
export { assessHealth, genericHealth } from './assess.ts';
export {
  annotationCheck, checkFor, combineHealthChecks, compileHealthChecks, CURRENT_ANNOTATION, FAILED_ANNOTATION, judgeByCheck,
  MAX_HEALTH_CHECKS, MESSAGE_ANNOTATION, userHealth,
  type AnnotationCheck, type CompiledHealthChecks, type HealthCheck, type HealthChecks, type HealthCheckSpec,
} from './checks.ts';
export {
  compileExpression, evaluateExpression, InvalidExpressionError, MAX_COMPREHENSION_DEPTH, MAX_EXPRESSION_LENGTH, MAX_MESSAGE_LENGTH,
  type CompiledExpression, type EvaluationResult, type ExpressionResult,
} from './cel.ts';
export { describeWhen, MAX_WHEN_ENTRIES, whenToCel, type ConditionMatch, type FieldMatch, type HealthWhen } from './when.ts';
export { crdHealth, existsHealth, jobHealth, podHealth, pvcHealth, SCHEDULE_GRACE_MS, serviceHealth } from './core.ts';
export {
  condition, type ClusterObject, type Condition, type Health, type HealthContext, type HealthOptions, type HealthStatus,
} from './status.ts';
export { WAIT_FOR_ANNOTATION, waitForProblem, waitsFor, type WaitFor } from './wait-for.ts';
export { daemonSetHealth, deploymentHealth, replicaSetHealth, statefulSetHealth } from './workloads.ts';
