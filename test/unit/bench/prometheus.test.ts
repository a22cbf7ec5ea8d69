// Reading the apiserver's /metrics text and counting requests from apiserver_request_total.
import test from 'ava';
import {
  describeRequests, isWrite, MetricsParseError, parsePrometheusText, requestCounts, requestDelta, subtractRequests,
  type RequestCount,
} from '../../../bench/framework/prometheus.ts';

const PAGE = `# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",contentType="application/json",dry_run="",group="",resource="configmaps",scope="namespace",subresource="",verb="LIST",version="v1"} 12
apiserver_request_total{code="200",component="apiserver",contentType="application/json",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="GET",version="v1"} 3
apiserver_request_total{code="404",component="apiserver",contentType="application/json",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="GET",version="v1"} 2
apiserver_request_total{code="200",component="apiserver",contentType="application/json",dry_run="All",group="",resource="configmaps",scope="resource",subresource="",verb="APPLY",version="v1"} 1000
apiserver_request_total{code="200",component="apiserver",contentType="application/json",dry_run="",group="apply.trellis.dev",resource="packages",scope="resource",subresource="status",verb="PATCH",version="v1alpha1"} 4
apiserver_request_total{code="200",component="",contentType="",dry_run="",group="",resource="",scope="",subresource="/metrics",verb="GET",version=""} 7
apiserver_request_duration_seconds_bucket{le="+Inf",verb="GET"} 5
apiserver_storage_objects{resource="configmaps"} 1.5e+03
weird_metric{text="quote \\" and backslash \\\\ and newline \\n done"} NaN 1700000000000
`;

test('samples are parsed with their labels; comments skipped; exponents, NaN and timestamps handled', (t) => {
  const samples = parsePrometheusText(PAGE);
  t.is(samples.length, 9);
  t.is(samples[0]!.labels.resource, 'configmaps');
  t.is(samples[0]!.value, 12);
  t.is(samples.find((s) => s.name === 'apiserver_storage_objects')!.value, 1500);
  const weird = samples.find((s) => s.name === 'weird_metric')!;
  t.is(weird.labels.text, 'quote " and backslash \\ and newline \n done');
  t.true(Number.isNaN(weird.value));
  t.is(samples.find((s) => s.name === 'apiserver_request_duration_seconds_bucket')!.labels.le, '+Inf');
});

test('malformed lines are refused with their line number', (t) => {
  t.throws(() => parsePrometheusText('ok 1\n{bad="x"} 1'), { instanceOf: MetricsParseError, message: /line 2/ });
  t.throws(() => parsePrometheusText('m{a="x} 1'), { instanceOf: MetricsParseError, message: /unterminated/ });
  t.throws(() => parsePrometheusText('m{a=x} 1'), { instanceOf: MetricsParseError, message: /quoted value/ });
  t.throws(() => parsePrometheusText('m{a="x"} one'), { instanceOf: MetricsParseError, message: /not a sample value/ });
  t.throws(() => parsePrometheusText('m'), { instanceOf: MetricsParseError });
});

test('request counts sum response codes per verb, resource/subresource and dry-run; other metrics are ignored', (t) => {
  const counts = requestCounts(parsePrometheusText(PAGE));
  const find = (verb: string, resource: string, dryRun = false): number | undefined =>
    counts.find((c) => c.verb === verb && c.resource === resource && c.dryRun === dryRun)?.count;
  t.is(find('GET', 'configmaps'), 5);
  t.is(find('LIST', 'configmaps'), 12);
  t.is(find('APPLY', 'configmaps', true), 1000);
  t.is(find('APPLY', 'configmaps'), undefined);
  t.is(find('PATCH', 'packages/status'), 4);
  t.is(counts.find((c) => c.resource === 'packages/status')!.group, 'apply.trellis.dev');
  t.is(counts.find((c) => c.resource === 'configmaps')!.group, '');
  t.is(counts.length, 5);
});

const c = (verb: string, resource: string, count: number, dryRun = false, group = ''): RequestCount => ({ verb, group, resource, count, dryRun });

test('a delta keeps only what changed; a counter that went down (apiserver restart) counts from zero', (t) => {
  const before = [c('GET', 'configmaps', 5), c('LIST', 'configmaps', 12), c('PATCH', 'packages/status', 4)];
  const after = [c('GET', 'configmaps', 5), c('LIST', 'configmaps', 14), c('PATCH', 'packages/status', 1), c('WATCH', 'configmaps', 1)];
  t.deepEqual(requestDelta(before, after), [c('LIST', 'configmaps', 2), c('PATCH', 'packages/status', 1), c('WATCH', 'configmaps', 1)]);
});

test('subtracting the benchmark\'s own requests never goes below zero and drops emptied rows', (t) => {
  const rows = [c('GET', 'packages', 10), c('PATCH', 'packages', 1), c('LIST', 'configmaps', 1)];
  t.deepEqual(subtractRequests(rows, [c('GET', 'packages', 12), c('PATCH', 'packages', 1)]), [c('LIST', 'configmaps', 1)]);
  t.deepEqual(subtractRequests([c('POST', 'events', 2)], [c('POST', 'events', 2, false, 'events.k8s.io')]), [c('POST', 'events', 2)],
    'the same resource name in another group is another row');
});

test('writes are the mutating verbs outside dry runs', (t) => {
  t.true(isWrite(c('PATCH', 'packages/status', 1)));
  t.true(isWrite(c('APPLY', 'configmaps', 1)));
  t.true(isWrite(c('DELETE', 'configmaps', 1)));
  t.false(isWrite(c('APPLY', 'configmaps', 1, true)));
  t.false(isWrite(c('LIST', 'configmaps', 1)));
  t.false(isWrite(c('WATCH', 'configmaps', 1)));
  t.is(describeRequests([c('LIST', 'configmaps', 2), c('APPLY', 'configmaps', 3, true), c('GET', '', 1)]),
    '2 LIST configmaps, 3 APPLY (dry-run) configmaps, 1 GET (non-resource)');
  t.is(describeRequests([]), 'none');
  t.is(describeRequests([c('POST', 'events', 1, false, 'events.k8s.io'), c('PATCH', 'packages/status', 1, false, 'apply.trellis.dev')]),
    '1 POST events.events.k8s.io, 1 PATCH packages/status', 'groups are named outside the core and Trellis groups');
});
