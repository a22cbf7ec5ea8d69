/** Every benchmark workload, in issue 9's order. */
import type { Workload } from '../framework/workload.ts';
import { workload as git } from './git.ts';
import { workload as oci } from './oci.ts';

/** The workloads `npm run bench` knows. */
export const workloads: readonly Workload[] = [git, oci];
