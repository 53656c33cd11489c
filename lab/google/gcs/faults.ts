// faults.ts: data corruption on command, so tests can show that GCS refuses
// an upload whose bytes changed in flight and that the client's retry then
// succeeds. `POST /_lab/gcs/corrupt {"bucket", "name", "times"?: 1}` arms
// the fault: the next `times` upload requests carrying data for that object
// get one byte flipped as the stand-in receives them, before it hashes and
// stores them, so the CRC32C the client declared (x-goog-hash, or crc32c in
// the metadata) no longer matches and the upload is refused with GCS's 400,
// as a real GCS refuses bytes damaged between client and server. Like every
// /_lab route, it exists only on the lab (127.0.0.1) and changes no stored
// object.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJsonObject, sendJson } from '../http.ts';
import { invalid } from './resources.ts';

/** CORRUPT_ROUTE is the path that arms a corruption fault. */
export const CORRUPT_ROUTE = '/_lab/gcs/corrupt';

/** GcsFaults holds the armed faults, per `bucket/name`. */
export class GcsFaults {
  readonly #corrupt = new Map<string, number>();

  /** arm makes the next `times` data requests for the object arrive with one byte flipped. */
  arm(bucket: string, name: string, times: number): void {
    this.#corrupt.set(`${bucket}/${name}`, times);
  }

  /** take answers whether this data request is to be corrupted, and counts it. */
  take(bucket: string, name: string): boolean {
    const key = `${bucket}/${name}`;
    const left = this.#corrupt.get(key) ?? 0;
    if (left <= 0) return false;
    if (left === 1) this.#corrupt.delete(key);
    else this.#corrupt.set(key, left - 1);
    return true;
  }

  /** handle serves POST CORRUPT_ROUTE; answers `{bucket, name, times}`. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      req.resume();
      throw invalid(`use POST ${CORRUPT_ROUTE}`);
    }
    const body = await readJsonObject(req, invalid);
    const { bucket, name } = body;
    const times = body.times ?? 1;
    if (typeof bucket !== 'string' || typeof name !== 'string' || !bucket || !name) {
      throw invalid('want {"bucket": "...", "name": "...", "times"?: N}');
    }
    if (typeof times !== 'number' || !Number.isInteger(times) || times < 1 || times > 100) {
      throw invalid('"times" must be an integer from 1 to 100');
    }
    this.arm(bucket, name, times);
    sendJson(res, 200, { bucket, name, times });
  }
}

/**
 * flipOne answers a corrupter for appendData: it flips the lowest bit of the
 * first byte it is given, once.
 */
export function flipOne(): (data: Buffer) => Buffer {
  let done = false;
  return (data) => {
    if (done || data.length === 0) return data;
    done = true;
    const copy = Buffer.from(data);
    copy[0] = (copy[0] ?? 0) ^ 1;
    return copy;
  };
}
