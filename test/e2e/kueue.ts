// kueue.ts: what the Kueue end-to-end tests read of the lab's Kueue objects (docs/lab.md, "Kueue").
import { getJson } from './lab-kube.ts';

/** Workload is the part of a Kueue Workload (kueue.x-k8s.io/v1beta2) these tests read. */
export interface Workload {
  metadata: { ownerReferences?: { kind: string; name: string }[] };
  status?: {
    admission?: { clusterQueue: string; podSetAssignments: { flavors: Record<string, string> }[] };
  };
}

/** workloadOf answers the Workload Kueue made for Job `job` in ns (its owner), if any. */
export function workloadOf(ns: string, job: string): Workload | undefined {
  return getJson<{ items: Workload[] }>(['workloads.kueue.x-k8s.io', '-n', ns]).items.find((w) =>
    w.metadata.ownerReferences?.some((o) => o.kind === 'Job' && o.name === job),
  );
}
