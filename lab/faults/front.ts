// front.ts: a fault-injecting front for the lab's API server (docs/design.md, "The lab"). It terminates TLS
// with its own certificate (lab/scripts/pki.sh: faults.crt, signed by the lab CA, so a kubeconfig
// with the lab's CA trusts it), forwards every request and WebSocket upgrade to the API server
// with the client's own Authorization, and on the way, seeded and controllable while it runs:
// - answers a share of plain requests with 429 (with Retry-After) or 503 instead of forwarding;
// - cuts log follows and watches after a number of bytes or seconds;
// - refuses every connection for a window (an outage: the port is closed, open connections reset);
// - adds latency before each request.
// It counts what it forwards, refuses and cuts (FaultStats), for tests to assert on.
// Used in-process by the e2e tests and the benchmark; `node lab/faults/main.ts` runs it alone
// with an admin endpoint.
import https from 'node:https';
import http from 'node:http';
import tls from 'node:tls';
import type net from 'node:net';

/** Faults: what the front does to the traffic; every field may change while it runs (setFaults). */
export interface Faults {
  /** Share (0..1) of plain requests answered with a refusal instead of being forwarded. */
  refuseShare?: number;
  /** Statuses to refuse with, picked in turn by the seeded generator (default [429, 503]). */
  refuseStatuses?: number[];
  /** Retry-After (seconds) sent with a 429 (default 1). */
  retryAfterSeconds?: number;
  /** Only plain requests whose `METHOD path` matches are refused (default: all plain requests). */
  refuseMatch?: RegExp;
  /** Cut a log follow (`.../log?follow=true`) after this many body bytes / seconds. */
  cutLogBytes?: number;
  cutLogSeconds?: number;
  /** Cut a watch (`watch=true` or `/watch/`) after this many body bytes / seconds. */
  cutWatchBytes?: number;
  cutWatchSeconds?: number;
  /** Milliseconds added before forwarding each request. */
  latencyMs?: number;
}

/** FaultStats: counts since start (or resetStats). */
export interface FaultStats {
  /** Plain requests forwarded, by `METHOD kind` (kind: the resource, e.g. `POST jobs`). */
  forwarded: Record<string, number>;
  /** Plain requests refused, by status. */
  refused: Record<string, number>;
  refusedRequests: string[];
  /** Streams (log follows, watches) cut. */
  cutLogs: number;
  cutWatches: number;
  /** Streams and upgrades forwarded. */
  streams: number;
  upgrades: number;
  /** Connections reset or refused by outages. */
  outageResets: number;
  outages: { startedAt: number; endedAt?: number }[];
}

/** FrontOptions: the API server behind, the front's certificate, the seed and the first faults. */
export interface FrontOptions {
  /** The API server, e.g. https://127.0.0.1:6443. */
  upstream: string;
  /** CA of the API server's certificate. */
  upstreamCa: Buffer | string;
  cert: Buffer | string;
  key: Buffer | string;
  /** Port to listen on, 127.0.0.1 (default 0: any free port). */
  port?: number;
  /** Seed of the generator that picks refused requests (mulberry32). */
  seed?: number;
  faults?: Faults;
}

/** FaultFront: a running front. */
export interface FaultFront {
  url: string;
  port: number;
  setFaults(f: Faults): void;
  /** outage refuses every connection for `ms` (the port is closed, open connections reset); close() ends it. */
  outage(ms: number): Promise<void>;
  stats(): FaultStats;
  close(): Promise<void>;
}

/** mulberry32: a small seeded generator of numbers in [0, 1) (public domain). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** kindOf names the request's resource for the counts: `jobs`, `pods/log`, `selfsubjectaccessreviews`. */
function kindOf(path: string): string {
  const p = path.split('?')[0]!.split('/').filter(Boolean);
  const ns = p.indexOf('namespaces');
  const rest = ns >= 0 ? p.slice(ns + 2) : p.slice(p[0] === 'api' ? 2 : 3);
  return rest.length >= 3 ? `${rest[0]}/${rest[2]}` : (rest[0] ?? path);
}

function isWatch(url: URL): boolean {
  return url.searchParams.get('watch') === 'true' || url.pathname.includes('/watch/');
}

function isFollow(url: URL): boolean {
  return url.pathname.endsWith('/log') && url.searchParams.get('follow') === 'true';
}

/** startFaultFront starts a front; see the file comment. */
export async function startFaultFront(o: FrontOptions): Promise<FaultFront> {
  const upstream = new URL(o.upstream);
  let faults: Faults = { ...o.faults };
  const random = mulberry32(o.seed ?? 1);
  let statusTurn = 0;
  const stats: FaultStats = {
    forwarded: {},
    refused: {},
    refusedRequests: [],
    cutLogs: 0,
    cutWatches: 0,
    streams: 0,
    upgrades: 0,
    outageResets: 0,
    outages: [],
  };
  const sockets = new Set<net.Socket>();
  const agent = new https.Agent({ ca: o.upstreamCa, keepAlive: true, maxSockets: 64 });
  let down = false;
  /** Ends the current outage early (close). */
  let endOutage: (() => void) | undefined;

  const server = https.createServer({ cert: o.cert, key: o.key }, (req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });
  server.on('connection', (s: net.Socket) => {
    if (down) {
      s.destroy();
      stats.outageResets++;
      return;
    }
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => undefined);

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', upstream);
    const stream = isWatch(url) || isFollow(url);
    if (faults.latencyMs) await new Promise((r) => setTimeout(r, faults.latencyMs));
    const what = `${req.method} ${kindOf(url.pathname)}`;
    if (!stream && faults.refuseShare && random() < faults.refuseShare) {
      const m = faults.refuseMatch;
      if (!m || m.test(`${req.method} ${url.pathname}`)) {
        const statuses = faults.refuseStatuses ?? [429, 503];
        const status = statuses[statusTurn++ % statuses.length]!;
        stats.refused[status] = (stats.refused[status] ?? 0) + 1;
        stats.refusedRequests.push(`${status} ${what}`);
        req.resume();
        const body = JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: status === 429 ? 'TooManyRequests' : 'ServiceUnavailable',
          message: `the fault front refused this request (${status})`,
          code: status,
        });
        res.writeHead(status, {
          'content-type': 'application/json',
          ...(status === 429 ? { 'retry-after': String(faults.retryAfterSeconds ?? 1) } : {}),
        });
        res.end(body);
        return;
      }
    }
    if (stream) stats.streams++;
    else stats.forwarded[what] = (stats.forwarded[what] ?? 0) + 1;
    const up = https.request(
      url,
      { method: req.method, headers: { ...req.headers, host: upstream.host }, agent },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        if (!stream || ur.statusCode !== 200) {
          ur.pipe(res);
          return;
        }
        const follow = isFollow(url);
        const maxBytes = follow ? faults.cutLogBytes : faults.cutWatchBytes;
        const maxSeconds = follow ? faults.cutLogSeconds : faults.cutWatchSeconds;
        let sent = 0;
        const cut = () => {
          if (follow) stats.cutLogs++;
          else stats.cutWatches++;
          ur.destroy();
          res.destroy();
        };
        const timer = maxSeconds ? setTimeout(cut, maxSeconds * 1000) : undefined;
        res.on('close', () => {
          clearTimeout(timer);
          ur.destroy();
        });
        ur.on('data', (chunk: Buffer) => {
          if (maxBytes && sent + chunk.length >= maxBytes) {
            res.write(chunk.subarray(0, Math.max(0, maxBytes - sent)));
            cut();
            return;
          }
          sent += chunk.length;
          if (!res.write(chunk)) {
            ur.pause();
            res.once('drain', () => ur.resume());
          }
        });
        ur.on('end', () => res.end());
        ur.on('error', () => res.destroy());
      },
    );
    up.on('error', () => res.destroy());
    // The client went away before the answer was complete: drop the upstream request too.
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  }

  // WebSocket upgrades (pods/exec): forward the handshake over TLS and splice the two sockets.
  server.on('upgrade', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    stats.upgrades++;
    const up = tls.connect({
      host: upstream.hostname,
      port: Number(upstream.port),
      ca: o.upstreamCa,
      servername: upstream.hostname === '127.0.0.1' ? undefined : upstream.hostname,
    });
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    up.on('secureConnect', () => {
      const headers = Object.entries(req.headers).flatMap(([k, v]) =>
        k === 'host' ? [] : (Array.isArray(v) ? v : [v]).map((x) => `${k}: ${x}`),
      );
      up.write(
        `${req.method} ${req.url} HTTP/1.1\r\nhost: ${upstream.host}\r\n${headers.join('\r\n')}\r\n\r\n`,
      );
      if (head.length) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    const end = () => {
      up.destroy();
      client.destroy();
    };
    up.on('error', end);
    client.on('error', end);
    client.on('close', end);
    up.on('close', end);
  });

  await new Promise<void>((r) => server.listen(o.port ?? 0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;

  return {
    url: `https://127.0.0.1:${port}`,
    port,
    setFaults(f) {
      faults = { ...f };
    },
    async outage(ms) {
      down = true;
      const entry: { startedAt: number; endedAt?: number } = { startedAt: Date.now() };
      stats.outages.push(entry);
      // Closing the listener makes new connections fail with ECONNREFUSED, as a control plane
      // being replaced does; open ones are reset.
      await new Promise<void>((r) => {
        server.close(() => r());
        for (const s of [...sockets]) {
          s.destroy();
          stats.outageResets++;
        }
      });
      const closed = await new Promise<boolean>((r) => {
        const timer = setTimeout(() => r(false), ms);
        endOutage = () => {
          clearTimeout(timer);
          r(true);
        };
      });
      endOutage = undefined;
      down = false;
      entry.endedAt = Date.now();
      if (!closed) await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    },
    stats: () => structuredClone(stats),
    async close() {
      endOutage?.();
      for (const s of [...sockets]) s.destroy();
      agent.destroy();
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
