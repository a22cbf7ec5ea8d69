// A controller's own /metrics, read for profiles: requests by verb, memory, reconcile time.
import test from 'ava';
import {
  apiRequestsByVerb, describeMemory, describeVerbs, reconcileTime, verbDelta,
} from '../../../bench/framework/controller-metrics.ts';
import { parsePrometheusText } from '../../../bench/framework/prometheus.ts';

const PAGE = `# TYPE trellis_kube_api_requests_total counter
trellis_kube_api_requests_total{verb="apply_dry_run"} 1000
trellis_kube_api_requests_total{verb="get"} 3
trellis_kube_api_requests_total{verb="patch"} 1
trellis_reconcile_duration_seconds_sum{kind="Package",result="success"} 30
trellis_reconcile_duration_seconds_count{kind="Package",result="success"} 10
trellis_reconcile_duration_seconds_sum{kind="Package",result="error"} 2
trellis_reconcile_duration_seconds_count{kind="Package",result="error"} 2
trellis_reconcile_duration_seconds_count{kind="GitRepository",result="success"} 99
trellis_nodejs_heap_size_used_bytes 52428800
trellis_nodejs_heap_size_total_bytes 104857600
trellis_nodejs_external_memory_bytes 10485760
trellis_process_resident_memory_bytes 209715200
`;

test('requests are summed by verb and a delta keeps only the verbs that grew', (t) => {
  const before = apiRequestsByVerb(parsePrometheusText('trellis_kube_api_requests_total{verb="get"} 3\ntrellis_kube_api_requests_total{verb="patch"} 1\n'));
  const after = apiRequestsByVerb(parsePrometheusText(PAGE));
  t.is(after.get('apply_dry_run'), 1000);
  t.deepEqual([...verbDelta(before, after)], [['apply_dry_run', 1000]]);
  t.is(describeVerbs(after), '1004 requests (1000 apply_dry_run, 3 get, 1 patch)');
  t.is(describeVerbs(new Map()), '0 requests');
});

test('reconcile time adds every result of one kind and no other kind', (t) => {
  t.deepEqual(reconcileTime(parsePrometheusText(PAGE), 'Package'), { count: 12, seconds: 32 });
  t.deepEqual(reconcileTime(parsePrometheusText(PAGE), 'OCIRepository'), { count: 0, seconds: 0 });
});

test('memory is described from Node\'s default metrics, with or without the trellis_ prefix, and not at all without them', (t) => {
  t.is(describeMemory(parsePrometheusText(PAGE)), 'JS heap 50.0 MiB used of 100.0 MiB, external 10.0 MiB, RSS 200.0 MiB');
  t.is(describeMemory(parsePrometheusText('process_resident_memory_bytes 1048576\n')), 'JS heap ? MiB used of ? MiB, external ? MiB, RSS 1.0 MiB');
  t.is(describeMemory(parsePrometheusText('trellis_kube_api_requests_total{verb="get"} 1\n')), undefined);
});
