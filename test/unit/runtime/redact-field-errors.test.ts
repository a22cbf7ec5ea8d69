// The apiserver's field errors echo the value they refuse; that value may be a
// Secret's or a Secret-sourced value, so it never reaches a condition, an Event
// or a log line. The field and the reason stay.
import test from 'ava';
import { PackageFailure, toPackageFailure } from '../../../apply-controller/reconcile/failure.ts';
import { KubeApiError } from '../../../runtime/kube-transport.ts';
import { redact, redactString } from '../../../runtime/redact.ts';

const cases: readonly [string, string][] = [
  ['ConfigMap "settings" is invalid: metadata.labels: Invalid value: "pw s3cr3t \\"x\\" y": a valid label must be an empty string',
    'ConfigMap "settings" is invalid: metadata.labels: Invalid value: [REDACTED]: a valid label must be an empty string'],
  ['Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    'Deployment.apps "web" is invalid: spec.replicas: Invalid value: [REDACTED]: must be greater than or equal to 0'],
  ['spec.type: Unsupported value: "pw-sneaky": supported values: "ClusterIP", "NodePort"',
    'spec.type: Unsupported value: [REDACTED]: supported values: "ClusterIP", "NodePort"'],
  ['[data[a]: Invalid value: "pw-one": bad, data[b]: Duplicate value: "pw-two"]',
    '[data[a]: Invalid value: [REDACTED]: bad, data[b]: Duplicate value: [REDACTED]]'],
];

test('field errors lose the value they echo, keep the field and the reason', (t) => {
  for (const [input, expected] of cases) t.is(redactString(input), expected);
});

test('a refused apply becomes a failure whose message, and a logged error, hold no value', (t) => {
  const err = new KubeApiError(422, 'Invalid', 'ConfigMap "settings" is invalid: metadata.labels: Invalid value: "pw-secret-value": a valid label');
  const failure = toPackageFailure(err);
  t.false(failure.message.includes('pw-secret-value'));
  t.false(new PackageFailure('ApplyFailed', 'ApplyFailed', `apply failed: ${err.message}`, 'retry').message.includes('pw-secret-value'));
  t.false(JSON.stringify(redact({ err })).includes('pw-secret-value'));
});
