// Spec durations are bounded well below what a timer can wait: a Package's
// rollout timeout and a source's fetch timeout at most 1h, intervals at most 24h.
import test from 'ava';
import { PACKAGE_DURATION_LIMITS } from '../../../apply-controller/reconcile/settings.ts';
import { InvalidDurationError, parseBoundedDuration } from '../../../runtime/duration.ts';
import { SOURCE_DURATION_LIMITS } from '../../../source-controller/reconcile/skeleton.ts';

test('a duration within its limit is milliseconds; beyond it the error names the field and the limit', (t) => {
  t.is(parseBoundedDuration('1h', 'spec.timeout', SOURCE_DURATION_LIMITS.timeout), 3_600_000);
  t.is(parseBoundedDuration('59m59s', 'spec.timeout', SOURCE_DURATION_LIMITS.timeout), 3_599_000);
  const err = t.throws(() => parseBoundedDuration('576h', 'spec.timeout', SOURCE_DURATION_LIMITS.timeout), { instanceOf: InvalidDurationError });
  t.is(err.message, 'spec.timeout must be at most 1h');
  t.throws(() => parseBoundedDuration('0s', 'spec.interval', SOURCE_DURATION_LIMITS.interval), { instanceOf: InvalidDurationError });
  t.throws(() => parseBoundedDuration('24h1ms', 'spec.interval', SOURCE_DURATION_LIMITS.interval), { message: 'spec.interval must be at most 24h' });
});

test('Packages and sources share the limits', (t) => {
  t.is(PACKAGE_DURATION_LIMITS.timeout.ms, SOURCE_DURATION_LIMITS.timeout.ms);
  t.is(PACKAGE_DURATION_LIMITS.interval.ms, SOURCE_DURATION_LIMITS.interval.ms);
  t.is(PACKAGE_DURATION_LIMITS.retryInterval.ms, 24 * 3_600_000);
});
