/**
 * kube/config.ts: a KubeConfig whose generated API calls share one connection pool.
 *
 * `@kubernetes/client-node` 2.0.1 builds a new undici Agent in
 * `applySecurityAuthentication`, which runs before every generated API call
 * (config.js `createDispatcher`), and never closes it: each call opens its own
 * TLS connection, and the idle sockets stay open until the server drops them.
 * Creating 500 Jobs left 500 connections and about 0.3 MiB each (bench/fanout.ts,
 * docs/benchmarks.md). Watches and exec use client-node's own cached agents and
 * are not affected.
 */
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';

/** Dispatcher: undici's, as client-node's RequestContext carries it. */
type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/**
 * PooledKubeConfig keeps the first undici dispatcher (Agent) made for a
 * cluster and user and hands it to every later request, so calls reuse
 * keep-alive connections. The key is the current cluster's name and server
 * and the current user's name, as client-node keys its own agent cache
 * (`getAgentCacheKey`). A dispatcher made for a request and not kept is never
 * connected; it is closed at once.
 */
export class PooledKubeConfig extends KubeConfig {
  readonly #pool = new Map<string, Dispatcher>();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (!fresh) return;
    const cluster = this.getCurrentCluster();
    const key = JSON.stringify([cluster?.name, cluster?.server, this.getCurrentUser()?.name]);
    const kept = this.#pool.get(key);
    if (!kept) {
      this.#pool.set(key, fresh);
      return;
    }
    context.setDispatcher(kept);
    void fresh.close().catch(() => undefined);
  }

  /** pooled: how many dispatchers are kept (one per cluster and user). */
  get pooled(): number {
    return this.#pool.size;
  }

  /** close closes the kept dispatchers (their idle connections); later calls open new ones. */
  async close(): Promise<void> {
    const all = [...this.#pool.values()];
    this.#pool.clear();
    await Promise.all(all.map((d) => d.close().catch(() => undefined)));
  }
}
