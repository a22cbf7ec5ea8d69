// The benchmark report: one markdown table with ratios to Trellis and goal verdicts, and the same figures as JSON.
import test from 'ava';
import { formatGoal, goalSummary, measuredRows, renderHeader, renderReport, reportJson, type RunHeader, type WorkloadReport } from '../../../bench/framework/report.ts';
import { atLeast, atMost, type WorkloadOutcome } from '../../../bench/framework/workload.ts';

const header: RunHeader = {
  date: '2026-11-21T10:00:00Z', cores: 2, cpuModel: 'AMD EPYC', loadAtStart: [11.38, 12.18, 9.64], loadAtEnd: [3, 2, 1],
  node: 'v24.21.0', kubernetes: 'v1.20.2', totalMemoryBytes: 8 * 1024 ** 3, durationMs: 90_000,
};

const gitOutcome: WorkloadOutcome = {
  measurements: [
    { metric: 'fetch', contender: 'Trellis', role: 'trellis', unit: 'ms', samples: [3000, 3100, 2900] },
    { metric: 'fetch', contender: 'git clone', role: 'peer', unit: 'ms', samples: [1000, 1500, 1400] },
    { metric: 'poll', contender: 'Trellis', role: 'trellis', unit: 'ms', samples: [10] },
    { metric: 'poll', contender: 'git ls-remote', role: 'peer', unit: 'ms', samples: [] },
  ],
  goals: [
    atMost('fetch', '≤ 2× git clone', 3000 / 1400, 2, (v) => `${v.toFixed(2)}×`),
    atMost('poll', '≤ 1.5× git ls-remote', undefined, 1.5, String),
    atLeast('throughput', '≥ 30 objects/s', undefined, 30, String),
  ],
  notes: ['breakdown: fetch 2 s, pack 1 s'],
};

const reports: WorkloadReport[] = [
  { number: 5, name: 'git', title: 'Git', goal: 'fetch ≤ 2× git', status: 'ok', rounds: 3, durationMs: 12_345.6, outcome: gitOutcome },
  { number: 1, name: 'cold-apply', title: 'Cold apply', goal: '≥ 10× kubectl', status: 'not-run', reason: 'apply-controller/main.ts not there yet', rounds: 3, durationMs: 1 },
  { number: 2, name: 'noop', title: 'No-op', goal: 'zero writes', status: 'failed', reason: 'timed out | waiting', rounds: 5, durationMs: 2 },
];

test('ratios are Trellis\'s median over each peer\'s; Trellis rows and unmeasured contenders get none', (t) => {
  const rows = measuredRows(gitOutcome);
  t.is(rows.length, 3, 'a contender without samples is left out of the rows');
  const peer = rows.find((r) => r.contender === 'git clone')!;
  t.is(peer.summary.median, 1400);
  t.is(peer.trellisRatio, 3000 / 1400);
  t.is(rows.find((r) => r.contender === 'Trellis' && r.metric === 'fetch')!.trellisRatio, undefined);
});

test('goal verdicts say met, MISSED or undecided with the deciding figure', (t) => {
  t.is(formatGoal(atMost('m', '≤ 2×', 2.14, 2, (v) => `${v.toFixed(2)}×`)), 'MISSED: ≤ 2× (2.14×)');
  t.is(formatGoal(atMost('m', '≤ 2×', 2, 2, (v) => `${v}×`)), 'met: ≤ 2× (2×)');
  t.is(formatGoal(atLeast('m', '≥ 30 objects/s', 31, 30, (v) => `${v} objects/s`)), 'met: ≥ 30 objects/s (31 objects/s)');
  t.is(formatGoal(atLeast('m', '≥ 30 objects/s', 29.9, 30, String)), 'MISSED: ≥ 30 objects/s (29.9)');
  t.is(formatGoal(atMost('m', '≤ 1', undefined, 1, String)), 'undecided: ≤ 1 (not measured)');
});

test('the report is one table in workload order: not-run and failed workloads say why, never a number', (t) => {
  const text = renderReport(header, reports);
  const rows = text.split('\n').filter((l) => l.startsWith('|'));
  t.is(rows.length, 2 + 2 + 3 + 1, 'header, separator, two one-line workloads, three measured rows and one unmeasured goal');
  t.regex(rows[2]!, /^\| +1 \| Cold apply .*not run: apply-controller\/main\.ts not there yet/);
  t.regex(rows[3]!, /^\| +2 \| No-op .*failed: timed out \\\| waiting/);
  t.notRegex(rows[2]!, /\d+(\.\d+)? (ms|s) /);
  const trellisFetch = rows.find((r) => r.includes('| fetch') && r.includes('| Trellis '))!;
  t.regex(trellisFetch, /\| +3\.00 s \| +3\.09 s \| +3 \| +\| MISSED: ≤ 2× git clone \(2\.14×\)/);
  const peerFetch = rows.find((r) => r.includes('| git clone '))!;
  t.regex(peerFetch, /1\.40 s .* 2\.14× \|/);
  const poll = rows.find((r) => r.includes('| poll') && r.includes('Trellis'))!;
  t.regex(poll, /\| +10 ms \| +— \| +1 \|/, 'one sample has no p95');
  t.regex(poll, /undecided: ≤ 1\.5× git ls-remote \(not measured\)/);
  const orphan = rows.find((r) => r.includes('| throughput'))!;
  t.regex(orphan, /\| Trellis +\| +— \| +— \| +0 \| +\| undecided: ≥ 30 objects\/s \(not measured\)/, 'a goal on a metric without a Trellis row still shows');
  t.regex(text, /- 5 Git: breakdown: fetch 2 s, pack 1 s/);
  t.regex(text, /rounds per workload: 1: 3; 2: 5; 5: 3\)/);
});

test('the header names cores, load at start and end, Node and Kubernetes', (t) => {
  const text = renderHeader(header);
  t.regex(text, /2 cores \(AMD EPYC\), 8\.0 GiB memory/);
  t.regex(text, /11\.38 \/ 12\.18 \/ 9\.64 at start, 3\.00 \/ 2\.00 \/ 1\.00 at end/);
  t.regex(text, /Node v24\.21\.0, Kubernetes v1\.20\.2/);
  t.regex(text, /run took 1\.5 min/);
  const { loadAtEnd: _end, durationMs: _d, ...starting } = header;
  t.notRegex(renderHeader(starting), /at end|run took/);
  t.notRegex(text, /DIAGNOSTIC/, 'a run with the default controller flags says nothing about flags');
  t.regex(renderHeader({ ...header, controllerFlags: '--kube-api-qps 1000' }), /DIAGNOSTIC RUN: the controllers ran with `--kube-api-qps 1000` beyond their defaults/);
  t.regex(renderHeader({ ...header, controllerManagerFlags: '--kube-api-qps=300' }), /DIAGNOSTIC RUN: kube-controller-manager ran with `--kube-api-qps=300` beyond the local cluster's flags/);
});

test('the JSON holds the same figures as the table, every sample, and the reasons', (t) => {
  const json = JSON.parse(JSON.stringify(reportJson(header, reports))) as {
    header: RunHeader;
    workloads: { number: number; status: string; reason?: string; durationMs: number; measurements: { contender: string; samples: number[]; summary: { median: number }; trellisRatio?: number }[]; goals: { met?: boolean }[] }[];
  };
  t.deepEqual(json.workloads.map((w) => w.number), [1, 2, 5]);
  t.is(json.workloads[0]!.status, 'not-run');
  t.is(json.workloads[0]!.reason, 'apply-controller/main.ts not there yet');
  t.deepEqual(json.workloads[0]!.measurements, []);
  const git = json.workloads[2]!;
  t.is(git.durationMs, 12_346);
  t.deepEqual(git.measurements[1]!.samples, [1000, 1500, 1400]);
  t.is(git.measurements[1]!.summary.median, 1400);
  t.is(git.measurements[1]!.trellisRatio, 3000 / 1400);
  t.is(git.goals[0]!.met, false);
  t.is(git.goals[1]!.met, undefined);
  t.is(git.goals.length, 3);
  t.is(json.header.kubernetes, 'v1.20.2');
});

test('a workload whose cases differ in rounds says so in the rounds line and the JSON', (t) => {
  const cased: WorkloadReport = {
    number: 1, name: 'cold-apply', title: 'Cold apply', goal: 'g', status: 'ok', rounds: 3, durationMs: 1,
    outcome: { ...gitOutcome, rounds: '3 at 1,000 objects, 2 at 5,000 objects' },
  };
  t.regex(renderReport(header, [cased, reports[0]!]), /rounds per workload: 1: 3 at 1,000 objects, 2 at 5,000 objects; 5: 3\)/);
  const json = reportJson(header, [cased]) as { workloads: { rounds: unknown }[] };
  t.is(json.workloads[0]!.rounds, '3 at 1,000 objects, 2 at 5,000 objects');
});

test('every goal gets one summary line in table order, met or missed or why it was not decided', (t) => {
  const lines = goalSummary(reports);
  t.deepEqual(lines.slice(0, 2), [
    '- 1 Cold apply: ≥ 10× kubectl — not run: apply-controller/main.ts not there yet',
    '- 2 No-op: zero writes — failed: timed out | waiting',
  ]);
  t.is(lines[2], '- 5 Git, fetch: MISSED: ≤ 2× git clone (2.14×)');
  t.is(lines.length, 2 + 3);
  t.regex(renderReport(header, reports), /Goals:\n\n- 1 Cold apply: /);
});

test('the header names the sizes and says in capitals when they are not the goals\' sizes', (t) => {
  const sized = renderHeader({ ...header, sizes: 'ConfigMap Packages of 1,000 and 5,000 objects' });
  t.regex(sized, /- Sizes: ConfigMap Packages of 1,000 and 5,000 objects/);
  t.notRegex(sized, /NOT THE GOAL SIZES/);
  t.regex(renderHeader({ ...header, sizes: 'ConfigMap Packages of 100 objects', sizesDifferFromGoals: true }), /NOT THE GOAL SIZES/);
});
