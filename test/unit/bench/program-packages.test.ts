// The program-packages workload's reading of the apply-controller's /metrics:
// renders are the render histogram's counts over every Package and result,
// cache hits their own counter; buckets and sums are not renders.
import test from 'ava';
import { parsePrometheusText } from '../../../bench/framework/prometheus.ts';
import { renderCounts } from '../../../bench/workloads/program-packages.ts';

test('renders and render-cache hits are summed over Packages and results', (t) => {
  const samples = parsePrometheusText([
    '# TYPE trellis_package_render_duration_seconds histogram',
    'trellis_package_render_duration_seconds_bucket{le="1",namespace="a",name="web",result="success"} 2',
    'trellis_package_render_duration_seconds_sum{namespace="a",name="web",result="success"} 1.5',
    'trellis_package_render_duration_seconds_count{namespace="a",name="web",result="success"} 2',
    'trellis_package_render_duration_seconds_count{namespace="b",name="web",result="timeout"} 1',
    'trellis_package_render_cache_hits_total{namespace="a",name="web"} 3',
    'trellis_artifact_cache_hits_total 7',
    '',
  ].join('\n'));
  t.deepEqual(renderCounts(samples), { renders: 3, hits: 3 });
  t.deepEqual(renderCounts([]), { renders: 0, hits: 0 });
});
