// log.ts: structured logs in Cloud Logging's JSON format: one JSON object per line on stdout,
// with `severity`, `message` and the request's trace, which Cloud Logging links to Cloud Trace.
// Source: Cloud Logging "Structured logging" (special JSON fields) and W3C Trace Context.

/** Severity is a Cloud Logging LogSeverity name. */
export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR' | 'CRITICAL';

/** TRACE_FIELD, SPAN_FIELD and SAMPLED_FIELD are the special fields Cloud Logging reads. */
export const TRACE_FIELD = 'logging.googleapis.com/trace';
export const SPAN_FIELD = 'logging.googleapis.com/spanId';
export const SAMPLED_FIELD = 'logging.googleapis.com/trace_sampled';

/** TraceFields are the special fields of one request's entries. */
export type TraceFields = Partial<
  Record<typeof TRACE_FIELD | typeof SPAN_FIELD, string> & Record<typeof SAMPLED_FIELD, boolean>
>;

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const CLOUD_TRACE = /^([0-9a-fA-F]{32})(?:\/(\d+))?(?:;o=([01]))?$/;

/**
 * traceFields reads the request's trace: W3C `traceparent` (`00-TRACE-SPAN-FLAGS`) first, else
 * `X-Cloud-Trace-Context` (`TRACE/SPAN;o=1`, SPAN decimal, written as 16 hex digits), and names
 * it `projects/PROJECT/traces/TRACE`. Empty without a project or a valid header.
 */
export function traceFields(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  project: string | undefined,
): TraceFields {
  if (!project) return {};
  const header = (name: string): string => {
    const v = headers[name];
    return (Array.isArray(v) ? v[0] : v)?.trim() ?? '';
  };
  const w3c = TRACEPARENT.exec(header('traceparent'));
  if (w3c && !/^0+$/.test(w3c[1]!)) {
    return {
      [TRACE_FIELD]: `projects/${project}/traces/${w3c[1]}`,
      [SPAN_FIELD]: w3c[2]!,
      [SAMPLED_FIELD]: (parseInt(w3c[3]!, 16) & 1) === 1,
    };
  }
  const gcp = CLOUD_TRACE.exec(header('x-cloud-trace-context'));
  if (!gcp) return {};
  const out: TraceFields = { [TRACE_FIELD]: `projects/${project}/traces/${gcp[1]!.toLowerCase()}` };
  if (gcp[2]) out[SPAN_FIELD] = BigInt(gcp[2]).toString(16).padStart(16, '0').slice(-16);
  if (gcp[3]) out[SAMPLED_FIELD] = gcp[3] === '1';
  return out;
}

/** Logger writes structured entries; `with` answers a logger that adds fields to every entry. */
export interface Logger {
  log(severity: Severity, message: string, fields?: Record<string, unknown>): void;
  with(fields: Record<string, unknown>): Logger;
}

/**
 * jsonLogger writes each entry as one JSON line through write (default: stdout), fields first,
 * so `severity` and `message` always win. Nothing secret is ever passed in (no tokens).
 */
export function jsonLogger(
  write: (line: string) => void = (l) => process.stdout.write(l),
  base: Record<string, unknown> = {},
): Logger {
  return {
    log(severity, message, fields = {}) {
      write(`${JSON.stringify({ ...base, ...fields, severity, message })}\n`);
    },
    with(fields) {
      return jsonLogger(write, { ...base, ...fields });
    },
  };
}
