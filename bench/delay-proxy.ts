// delay-proxy.ts: a TCP proxy on 127.0.0.1 that holds every chunk for a fixed time in each
// direction, to model the network between a client and a remote API server (bench/fanout.ts
// --rtt-ms). TLS passes through untouched. Order is kept: timers of equal delay fire in order.
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** DelayProxy: where it listens, and how to stop it (open connections are destroyed). */
export interface DelayProxy {
  port: number;
  close(): Promise<void>;
}

/**
 * startDelayProxy forwards 127.0.0.1:<port> to target, delaying each chunk by oneWayMs in each
 * direction (a round trip costs 2 x oneWayMs; a TLS handshake a few round trips, once per pooled
 * connection).
 */
export async function startDelayProxy(
  target: { host: string; port: number },
  oneWayMs: number,
): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  const relay = (from: Socket, to: Socket) => {
    from.on('data', (chunk) => setTimeout(() => to.destroyed || to.write(chunk), oneWayMs));
    from.on('end', () => setTimeout(() => to.end(), oneWayMs));
    from.on('error', () => to.destroy());
    from.on('close', () => setTimeout(() => to.destroy(), oneWayMs));
  };
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      // Chunks go on as they come (no Nagle: its wait for an ACK would add ~40 ms stalls that a
      // real client's connection does not have).
      s.setNoDelay(true);
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}
