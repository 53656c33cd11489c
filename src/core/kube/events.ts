// events.ts: Kubernetes events as a table for failure messages (agent-stack-k8s attaches the
// event table to a failure the same way).
import type { CoreV1Event } from '@kubernetes/client-node';

/** eventTime is when an event was last seen, in ms since the epoch (0 when unknown). */
export function eventTime(e: CoreV1Event): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

/**
 * formatEvents renders the last max events (oldest first) as a table like `kubectl get events`:
 * LAST SEEN (UTC), TYPE, REASON, OBJECT, MESSAGE; `(no events)` when there are none.
 */
export function formatEvents(events: readonly CoreV1Event[], max = 10): string {
  const last = [...events].sort((a, b) => eventTime(a) - eventTime(b)).slice(-max);
  if (last.length === 0) return '(no events)';
  const rows = [
    ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
    ...last.map((e) => {
      const t = eventTime(e);
      const obj = e.involvedObject;
      return [
        t ? new Date(t).toISOString().slice(11, 19) : '-',
        e.type ?? '',
        e.reason ?? '',
        `${(obj.kind ?? '').toLowerCase()}/${obj.name ?? ''}`,
        `${(e.message ?? '').replace(/\s+/g, ' ').trim()}${e.count && e.count > 1 ? ` (x${e.count})` : ''}`,
      ];
    }),
  ];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i < 4 ? c.padEnd(widths[i] ?? 0) : c))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
