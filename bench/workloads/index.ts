/** Every benchmark workload, by number: issue 9's seven, then issue 12's large package. */
import type { Workload } from '../framework/workload.ts';
import { workload as coldApply } from './cold-apply.ts';
import { workload as commitToApplied } from './commit-to-applied.ts';
import { workload as drift } from './drift.ts';
import { workload as git } from './git.ts';
import { workload as largePackage } from './large-package.ts';
import { workload as manyPackages } from './many-packages.ts';
import { workload as noopReconcile } from './noop-reconcile.ts';
import { workload as oci } from './oci.ts';

/** The workloads `npm run bench` knows. */
export const workloads: readonly Workload[] = [coldApply, noopReconcile, drift, manyPackages, git, oci, commitToApplied, largePackage];
