// ranges.ts: byte ranges of uploads (Content-Range) and downloads (Range).
// Sources: https://cloud.google.com/storage/docs/performing-resumable-uploads
// (chunks `Content-Range: bytes FIRST-LAST/TOTAL` or `/*`, status checks
// `bytes */TOTAL` or `bytes */*`; @google-cloud/storage also sends
// `bytes FIRST-*/TOTAL` for a single streamed request) and RFC 9110
// section 14 (Range, Content-Range, 416).

/**
 * UploadRange is a parsed upload Content-Range. `first` undefined: a status
 * check (no data); `last` undefined: data to the end of the request;
 * `total` undefined: size not known yet (`*`).
 */
export interface UploadRange {
  first: number | undefined;
  last: number | undefined;
  total: number | undefined;
}

/** parseUploadRange reads an upload's Content-Range; throws on any other form. */
export function parseUploadRange(header: string): UploadRange {
  const m = /^bytes (?:\*|(\d+)-(\d+|\*))\/(\d+|\*)$/.exec(header.trim());
  if (m === null) {
    throw new Error(
      `invalid Content-Range "${header}": want "bytes FIRST-LAST/TOTAL", "bytes FIRST-LAST/*" or "bytes */TOTAL"`,
    );
  }
  const [, first, last, total] = m;
  const num = (s: string | undefined): number | undefined =>
    s === undefined || s === '*' ? undefined : Number(s);
  const r: UploadRange = { first: num(first), last: num(last), total: num(total) };
  if (r.first !== undefined && r.last !== undefined && r.last < r.first) {
    throw new Error(`invalid Content-Range "${header}": last byte before first`);
  }
  if (r.total !== undefined && r.last !== undefined && r.last >= r.total) {
    throw new Error(`invalid Content-Range "${header}": last byte past the total`);
  }
  return r;
}

/** ByteRange is an inclusive range of a download. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * parseDownloadRange reads a Range header against an object size: undefined
 * for no header or a form served as the whole object (several ranges, an
 * empty object),
 * 'unsatisfiable' when it lies past the end (the caller answers 416).
 */
export function parseDownloadRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined || size === 0) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (m === null) return undefined;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (start >= size) return 'unsatisfiable';
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (end < start) return undefined;
  return { start, end };
}
