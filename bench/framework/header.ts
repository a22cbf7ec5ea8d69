/**
 * The machine a run measured on: cores, CPU model, memory, load average (the
 * machine may be shared, and the figures are only as quiet as it was), Node.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import type { RunHeader } from './report.ts';

/** The header of a run starting now; the Kubernetes version is filled in once known. */
export function machineHeader(now: Date = new Date()): RunHeader {
  const cpu = cpus();
  return {
    date: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    cores: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown CPU',
    loadAtStart: loadavg(),
    node: process.version,
    kubernetes: 'not started (no workload needed the cluster)',
    totalMemoryBytes: totalmem(),
  };
}
