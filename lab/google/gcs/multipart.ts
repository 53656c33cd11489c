// multipart.ts: the multipart/related body of a GCS multipart upload, read
// as a stream: the metadata part is buffered (small), the media part is
// handed on chunk by chunk.
// Source: https://cloud.google.com/storage/docs/uploading-objects#uploading-an-object
// (JSON API multipart: part 1 the object resource, part 2 the data) and
// RFC 2046 section 5.1.1. Why not a library: GCS also takes what apitools
// (gcloud) sends, `boundary='...'` in single quotes and bare LF line ends,
// which RFC-strict parsers (busboy, dicer, multipasta) refuse.

/** MultipartError says why a multipart body cannot be read (GCS answers 400). */
export class MultipartError extends Error {}

/** RelatedBody is a multipart/related upload body split in its two parts. */
export interface RelatedBody {
  metadata: Buffer;
  mediaType: string;
  /** media yields the data part; it throws MultipartError if the body ends without a closing boundary. */
  media: AsyncGenerator<Buffer>;
}

/** boundaryOf reads the boundary parameter (token, "quoted" or 'quoted'). */
export function boundaryOf(contentType: string): string {
  const m = /;\s*boundary=(?:"([^"]+)"|'([^']+)'|([^;\s]+))/i.exec(contentType);
  const b = m?.[1] ?? m?.[2] ?? m?.[3];
  if (b === undefined) throw new MultipartError(`no boundary in Content-Type "${contentType}"`);
  return b;
}

/**
 * openRelated reads the head of a multipart/related body (up to the start
 * of the second part's data, at most `limit` bytes) and returns the parts.
 * Line ends are CRLF or, as apitools writes them, LF (taken from the first
 * delimiter line).
 */
export async function openRelated(
  source: AsyncIterable<Buffer>,
  contentType: string,
  limit = 1 << 20,
): Promise<RelatedBody> {
  const boundary = boundaryOf(contentType);
  const it = source[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let ended = false;
  const find = async (needle: string, from: number): Promise<number> => {
    for (;;) {
      const i = head.indexOf(needle, from);
      if (i >= 0) return i;
      if (ended || head.length > limit) {
        throw new MultipartError(
          `multipart body has no "${needle.replace(/\r?\n/g, '\\n')}" where expected`,
        );
      }
      const next = await it.next();
      if (next.done) ended = true;
      else head = Buffer.concat([head, next.value]);
    }
  };
  const dash = `--${boundary}`;
  const first = await find(dash, 0);
  const lineEnd = await find('\n', first);
  const eol = head[lineEnd - 1] === 0x0d ? '\r\n' : '\n';
  const headersEnd1 = await find(eol + eol, lineEnd + 1 - eol.length);
  const delimiter = `${eol}${dash}`;
  const metaEnd = await find(delimiter, headersEnd1 + eol.length * 2);
  const metadata = Buffer.from(head.subarray(headersEnd1 + eol.length * 2, metaEnd));
  const partStart = await find('\n', metaEnd + delimiter.length);
  const headersEnd2 = await find(eol + eol, partStart + 1 - eol.length);
  const headers = head
    .subarray(partStart + 1, Math.max(partStart + 1, headersEnd2))
    .toString('latin1');
  const mediaType = headerValue(headers, 'content-type');
  const encoding = headerValue(headers, 'content-transfer-encoding');
  if (encoding !== '' && !/^(binary|8bit|7bit)$/i.test(encoding)) {
    throw new MultipartError(`unsupported Content-Transfer-Encoding "${encoding}"`);
  }
  const rest = head.subarray(headersEnd2 + eol.length * 2);
  return { metadata, mediaType, media: mediaPart(rest, it, Buffer.from(delimiter), ended) };
}

/** mediaPart yields data up to the delimiter, holding back a possible partial match. */
async function* mediaPart(
  start: Buffer,
  it: AsyncIterator<Buffer>,
  delimiter: Buffer,
  sourceEnded: boolean,
): AsyncGenerator<Buffer> {
  let pending = start;
  let ended = sourceEnded;
  for (;;) {
    const i = pending.indexOf(delimiter);
    if (i >= 0) {
      if (i > 0) yield pending.subarray(0, i);
      while (!ended) ended = (await it.next()).done === true;
      return;
    }
    const keep = Math.min(delimiter.length - 1, pending.length);
    if (pending.length > keep) yield pending.subarray(0, pending.length - keep);
    pending = pending.subarray(pending.length - keep);
    if (ended) throw new MultipartError('multipart body ends without its closing boundary');
    const next = await it.next();
    if (next.done) ended = true;
    else pending = Buffer.concat([pending, next.value]);
  }
}

function headerValue(block: string, name: string): string {
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) {
      return line.slice(colon + 1).trim();
    }
  }
  return '';
}
