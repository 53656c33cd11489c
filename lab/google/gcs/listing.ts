// listing.ts: objects.list paging (pure).
// Source: https://cloud.google.com/storage/docs/json_api/v1/objects/list
// (prefix, delimiter -> prefixes, startOffset, endOffset, maxResults,
// pageToken / nextPageToken; names in lexicographic order) and
// https://cloud.google.com/storage/docs/listing-objects.

/** ListParams are the objects.list query parameters the lab honours. */
export interface ListParams {
  prefix: string;
  delimiter: string;
  startOffset: string;
  endOffset: string;
  includeTrailingDelimiter: boolean;
  maxResults: number;
  pageToken: string;
}

/** ListPage is one page: object names, common prefixes, and the next token. */
export interface ListPage {
  names: string[];
  prefixes: string[];
  nextPageToken: string | undefined;
}

/** MAX_RESULTS is GCS's default and largest page size. */
export const MAX_RESULTS = 1000;

/**
 * listParams reads objects.list query parameters; throws on a bad
 * maxResults or pageToken.
 */
export function listParams(q: URLSearchParams): ListParams {
  const max = q.get('maxResults');
  const maxResults = max === null ? MAX_RESULTS : Number(max);
  if (!Number.isInteger(maxResults) || maxResults < 1) {
    throw new Error(`invalid maxResults "${max}": want a positive integer`);
  }
  return {
    prefix: q.get('prefix') ?? '',
    delimiter: q.get('delimiter') ?? '',
    startOffset: q.get('startOffset') ?? '',
    endOffset: q.get('endOffset') ?? '',
    includeTrailingDelimiter: q.get('includeTrailingDelimiter') === 'true',
    maxResults: Math.min(maxResults, MAX_RESULTS),
    pageToken: q.get('pageToken') ?? '',
  };
}

/** compareNames orders object names by their UTF-8 bytes, as GCS lists them. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * listPage returns one page of `allNames` (any order). Prefixes and names
 * together count towards maxResults; the page token is the last key
 * returned (a name, or a prefix whose names are all skipped), base64url.
 */
export function listPage(allNames: Iterable<string>, p: ListParams): ListPage {
  const names = [...allNames]
    .filter(
      (n) =>
        n.startsWith(p.prefix) &&
        (p.startOffset === '' || compareNames(n, p.startOffset) >= 0) &&
        (p.endOffset === '' || compareNames(n, p.endOffset) < 0),
    )
    .sort(compareNames);
  let after: string | undefined;
  if (p.pageToken !== '') after = Buffer.from(p.pageToken, 'base64url').toString('utf8');
  const page: ListPage = { names: [], prefixes: [], nextPageToken: undefined };
  let last: string | undefined;
  let count = 0;
  for (const name of names) {
    if (after !== undefined && (compareNames(name, after) <= 0 || isUnder(name, after, p))) {
      continue;
    }
    const prefix = commonPrefix(name, p);
    if (prefix !== undefined && prefix === last) continue;
    if (count === p.maxResults) {
      page.nextPageToken = Buffer.from(last ?? '').toString('base64url');
      break;
    }
    if (prefix !== undefined) {
      page.prefixes.push(prefix);
      if (p.includeTrailingDelimiter && name === prefix) page.names.push(name);
      last = prefix;
    } else {
      page.names.push(name);
      last = name;
    }
    count++;
  }
  return page;
}

/** commonPrefix is the prefix that rolls `name` up under a delimiter, if any. */
function commonPrefix(name: string, p: ListParams): string | undefined {
  if (p.delimiter === '') return undefined;
  const i = name.indexOf(p.delimiter, p.prefix.length);
  return i < 0 ? undefined : name.slice(0, i + p.delimiter.length);
}

/** isUnder tells whether `name` was already returned as part of the prefix `token`. */
function isUnder(name: string, token: string, p: ListParams): boolean {
  return commonPrefix(token, p) === token && name.startsWith(token);
}
