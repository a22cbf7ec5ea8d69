/**
 * The results of a run, as one markdown table (with the machine in a header
 * above it and the notes below) and as JSON with the same figures. Pure: the
 * run hands in what it measured and gets text back.
 */
import { formatRatio, formatValue, ratio, summarize, type Summary } from './stats.ts';
import { renderMarkdownTable, type Column } from './table.ts';
import type { GoalCheck, Measurement, WorkloadOutcome } from './workload.ts';

/** The machine and versions the figures were measured on. */
export interface RunHeader {
  readonly date: string;
  readonly cores: number;
  readonly cpuModel: string;
  /** 1, 5 and 15 minute load averages when the run started and when it ended. */
  readonly loadAtStart: readonly number[];
  readonly loadAtEnd?: readonly number[];
  readonly node: string;
  /** `v1.20.2`, or why it is not known (no workload needed the cluster). */
  readonly kubernetes: string;
  readonly totalMemoryBytes: number;
  /** Wall time of the whole run, when it is over. */
  readonly durationMs?: number;
  /** Flags given to the controllers beyond their defaults (a diagnostic run, not the shipped configuration). */
  readonly controllerFlags?: string;
  /** Flags given to kube-controller-manager beyond the local cluster's (`TRELLIS_KCM_EXTRA_FLAGS`, a diagnostic run). */
  readonly controllerManagerFlags?: string;
  /** The sizes measured: `ConfigMap Packages of 1,000 and 5,000; 1,000 Packages × 4; 10,000 ConfigMaps`. */
  readonly sizes?: string;
  /** True when the sizes are not the ones the goals are stated at (a smoke run): the header says so. */
  readonly sizesDifferFromGoals?: boolean;
}

/** How one workload ended. */
export type WorkloadStatus = 'ok' | 'not-run' | 'failed';

/** One workload's part of the report. */
export interface WorkloadReport {
  readonly number: number;
  readonly name: string;
  readonly title: string;
  readonly goal: string;
  readonly status: WorkloadStatus;
  /** Why it did not run or failed. */
  readonly reason?: string;
  readonly rounds: number;
  readonly durationMs: number;
  readonly outcome?: WorkloadOutcome;
}

/** A measurement with its statistics and its ratio to Trellis, as the JSON holds it. */
export interface MeasuredRow extends Measurement {
  readonly summary: Summary;
  /** Trellis's median divided by this contender's (peers and ceilings only). */
  readonly trellisRatio?: number;
}

/** The statistics of a workload's measurements, Trellis ratios included. */
export function measuredRows(outcome: WorkloadOutcome): MeasuredRow[] {
  const rows = outcome.measurements.filter((m) => m.samples.length > 0);
  const trellis = new Map<string, number>();
  for (const m of rows) if (m.role === 'trellis') trellis.set(m.metric, summarize(m.samples).median);
  return rows.map((m) => {
    const summary = summarize(m.samples);
    const mine = trellis.get(m.metric);
    const r = m.role !== 'trellis' && mine !== undefined ? ratio(mine, summary.median) : undefined;
    return { ...m, summary, ...(r !== undefined ? { trellisRatio: r } : {}) };
  });
}

/** `met: ≤ 2× git (1.40×)`, `MISSED: ...`, `undecided: ...`. */
export function formatGoal(goal: GoalCheck): string {
  const verdict = goal.met === undefined ? 'undecided' : goal.met ? 'met' : 'MISSED';
  return `${verdict}: ${goal.goal} (${goal.detail})`;
}

const COLUMNS: readonly Column[] = [
  { title: '#', align: 'right' },
  { title: 'Workload' },
  { title: 'Measure' },
  { title: 'Contender' },
  { title: 'Median', align: 'right' },
  { title: 'p95', align: 'right' },
  { title: 'n', align: 'right' },
  { title: 'Trellis ÷ this', align: 'right' },
  { title: 'Goal' },
];

/** The table rows of one workload. */
function tableRows(w: WorkloadReport): string[][] {
  if (w.status !== 'ok' || !w.outcome) {
    const why = w.status === 'not-run' ? `not run: ${w.reason ?? ''}` : `failed: ${w.reason ?? ''}`;
    return [[String(w.number), w.title, '—', '—', '—', '—', '—', '—', why]];
  }
  const goals = w.outcome.goals;
  const rows = measuredRows(w.outcome);
  const out = rows.map((m) => {
    const attached = m.role === 'trellis' ? goals.filter((g) => g.metric === m.metric) : [];
    return [
      String(w.number), w.title, m.metric, m.contender,
      formatValue(m.summary.median, m.unit),
      m.summary.n >= 2 ? formatValue(m.summary.p95, m.unit) : '—',
      String(m.summary.n),
      m.trellisRatio !== undefined ? formatRatio(m.trellisRatio) : '',
      attached.map(formatGoal).join('; '),
    ];
  });
  // A goal on a metric nobody measured still shows (undecided or missed), never silently dropped.
  const shown = new Set(rows.filter((m) => m.role === 'trellis').map((m) => m.metric));
  for (const g of goals.filter((g) => !shown.has(g.metric))) {
    out.push([String(w.number), w.title, g.metric, 'Trellis', '—', '—', '0', '', formatGoal(g)]);
  }
  return out;
}

/** The markdown header lines: machine, load, versions. */
export function renderHeader(h: RunHeader): string {
  const load = (l: readonly number[]): string => l.map((v) => v.toFixed(2)).join(' / ');
  const lines = [
    `- Date: ${h.date}${h.durationMs !== undefined ? ` (run took ${(h.durationMs / 60_000).toFixed(1)} min)` : ''}`,
    `- Machine: ${h.cores} cores (${h.cpuModel}), ${(h.totalMemoryBytes / 1024 ** 3).toFixed(1)} GiB memory`,
    `- Load average (1/5/15 min): ${load(h.loadAtStart)} at start${h.loadAtEnd ? `, ${load(h.loadAtEnd)} at end` : ''}`,
    `- Node ${h.node}, Kubernetes ${h.kubernetes}`,
    ...(h.controllerFlags ? [`- DIAGNOSTIC RUN: the controllers ran with \`${h.controllerFlags}\` beyond their defaults; these are not the shipped settings`] : []),
    ...(h.controllerManagerFlags ? [`- DIAGNOSTIC RUN: kube-controller-manager ran with \`${h.controllerManagerFlags}\` beyond the local cluster's flags; Kubernetes' own limits are not the default ones`] : []),
    ...(h.sizes ? [`- Sizes: ${h.sizes}`] : []),
    ...(h.sizesDifferFromGoals ? ['- NOT THE GOAL SIZES: the goals are stated at other sizes, so met/missed below only says how this run compares'] : []),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * One line per goal, in table order: what a "where the goals stand" summary
 * is written from. A workload that did not run lists its goal as not decided.
 */
export function goalSummary(workloads: readonly WorkloadReport[]): string[] {
  return [...workloads].sort((a, b) => a.number - b.number).flatMap((w) => {
    if (w.status !== 'ok' || !w.outcome) return [`- ${w.number} ${w.title}: ${w.goal} — ${w.status === 'not-run' ? 'not run' : 'failed'}: ${w.reason ?? ''}`];
    return w.outcome.goals.map((g) => `- ${w.number} ${w.title}, ${g.metric}: ${formatGoal(g)}`);
  });
}

/** The whole report as markdown: header, one table, the goals one per line, then the notes of each workload. */
export function renderReport(header: RunHeader, workloads: readonly WorkloadReport[]): string {
  const sorted = [...workloads].sort((a, b) => a.number - b.number);
  const table = renderMarkdownTable(COLUMNS, sorted.flatMap(tableRows));
  const notes = sorted.flatMap((w) => (w.outcome?.notes ?? []).map((n) => `- ${w.number} ${w.title}: ${n}`));
  const goals = goalSummary(sorted);
  const rounds = sorted.map((w) => `${w.number}: ${w.outcome?.rounds ?? w.rounds}`).join('; ');
  return [
    renderHeader(header),
    `Medians of alternating rounds (rounds per workload: ${rounds}). "Trellis ÷ this" is Trellis's median divided by the row's: below 1× Trellis is faster (or smaller).`,
    '',
    table,
    ...(goals.length > 0 ? ['Goals:', '', ...goals, ''] : []),
    ...(notes.length > 0 ? ['Notes:', '', ...notes, ''] : []),
  ].join('\n');
}

/** The JSON report: the same figures as the table, with every sample. */
export function reportJson(header: RunHeader, workloads: readonly WorkloadReport[]): unknown {
  return {
    header,
    workloads: [...workloads].sort((a, b) => a.number - b.number).map((w) => ({
      number: w.number,
      name: w.name,
      title: w.title,
      goal: w.goal,
      status: w.status,
      ...(w.reason !== undefined ? { reason: w.reason } : {}),
      rounds: w.outcome?.rounds ?? w.rounds,
      durationMs: Math.round(w.durationMs),
      measurements: w.outcome ? measuredRows(w.outcome) : [],
      goals: w.outcome?.goals ?? [],
      notes: w.outcome?.notes ?? [],
    })),
  };
}
