// metadata-pods.ts: which lab pod is behind a connection to the metadata
// server, and which Kubernetes service account that pod runs as.
//
// GKE's metadata server tells pods apart by their IP. The lab's pods share
// the host's network namespace, so every pod connects from 127.0.0.1; the
// lab finds the process that owns the client end of the TCP connection
// instead (proc(5): /proc/net/tcp{,6} give the socket's inode,
// /proc/PID/fd/* link to `socket:[inode]`), then the pod from that process's
// mounts (/proc/PID/mountinfo): every container of a pod mounts directories
// of `<runtime state dir>/pods/<namespace>_<name>_<uid>/` (lab/runtime
// README, "What a pod gets"). A mount counts only when it comes from the
// state directory's own filesystem, at that path, so a pod cannot pass
// for another by making directories of that name.
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { endianness } from 'node:os';
import { join, relative } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { GSA_ANNOTATION } from './metadata-identity.ts';
import type { Ksa } from './metadata-identity.ts';

/** PodRef names one pod (the UID is what the runtime's directory names carry). */
export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

/** Endpoint is one end of a TCP connection. */
export interface Endpoint {
  address: string;
  port: number;
}

/** TcpEntry is one line of /proc/net/tcp or tcp6. */
export interface TcpEntry {
  local: Endpoint;
  remote: Endpoint;
  inode: string;
}

/**
 * decodeProcAddress reads proc(5)'s `HEX:PORT` form: IPv4 as one 32-bit
 * word, IPv6 as four, each in host byte order; IPv4-mapped IPv6 addresses
 * come back as dotted IPv4.
 */
export function decodeProcAddress(text: string, littleEndian = endianness() === 'LE'): Endpoint {
  const [hex = '', portHex = '0'] = text.split(':');
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => {
    const b = (w.match(/../g) ?? []).map((x) => parseInt(x, 16));
    return littleEndian ? b.reverse() : b;
  });
  const port = parseInt(portHex, 16);
  if (bytes.length === 4) return { address: bytes.join('.'), port };
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255;
  if (mapped) return { address: bytes.slice(12).join('.'), port };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2)
    groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return { address: groups.join(':'), port };
}

/** parseProcNetTcp reads the entries of /proc/net/tcp or /proc/net/tcp6 text. */
export function parseProcNetTcp(text: string, littleEndian?: boolean): TcpEntry[] {
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 10)
    .map((f) => ({
      local: decodeProcAddress(f[1] ?? '', littleEndian),
      remote: decodeProcAddress(f[2] ?? '', littleEndian),
      inode: f[9] ?? '0',
    }));
}

/** StateMount is where the runtime's state directory lives: its filesystem (major:minor) and path in it. */
export interface StateMount {
  device: string;
  root: string;
}

interface MountLine {
  device: string;
  root: string;
  mountPoint: string;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function parseMountinfo(text: string): MountLine[] {
  return text
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => f.length >= 5)
    .map((f) => ({
      device: f[2] ?? '',
      root: unescapeMount(f[3] ?? ''),
      mountPoint: unescapeMount(f[4] ?? ''),
    }));
}

/**
 * stateMountOf finds, in the metadata server's own mountinfo, the mount
 * that holds `stateDir` (an absolute, resolved path) and answers its device
 * and the state directory's path inside that filesystem.
 */
export function stateMountOf(selfMountinfo: string, stateDir: string): StateMount | undefined {
  let best: MountLine | undefined;
  for (const m of parseMountinfo(selfMountinfo)) {
    const inside =
      stateDir === m.mountPoint || stateDir.startsWith(`${m.mountPoint.replace(/\/$/, '')}/`);
    if (inside && (best === undefined || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  if (best === undefined) return undefined;
  const rest = relative(best.mountPoint, stateDir);
  return { device: best.device, root: join(best.root, rest) };
}

const POD_DIR = /^([a-z0-9][a-z0-9.-]*)_([a-z0-9][a-z0-9.-]*)_([0-9a-f-]{36})(\/|$)/;

/**
 * podOfMountinfo answers the pod whose directory a process mounts: a mount
 * from `state.device` whose root is `state.root/pods/<ns>_<name>_<uid>[/...]`.
 * undefined when none matches or mounts name two different pods.
 */
export function podOfMountinfo(mountinfo: string, state: StateMount): PodRef | undefined {
  const prefix = `${state.root.replace(/\/$/, '')}/pods/`;
  let found: PodRef | undefined;
  for (const m of parseMountinfo(mountinfo)) {
    if (m.device !== state.device || !m.root.startsWith(prefix)) continue;
    const match = POD_DIR.exec(m.root.slice(prefix.length));
    if (match === null) continue;
    const pod = { namespace: match[1] ?? '', name: match[2] ?? '', uid: match[3] ?? '' };
    if (found !== undefined && found.uid !== pod.uid) return undefined;
    found = pod;
  }
  return found;
}

/** ConnectionPodFinder answers the pod behind a TCP connection (client end, server end). */
export type ConnectionPodFinder = (client: Endpoint, server: Endpoint) => PodRef | undefined;

/**
 * procConnectionPodFinder finds pods through procfs at `procRoot` (see the
 * file comment) for a runtime whose --state-dir is `stateDir`. The fd
 * tables of the last owners found are read first (a client usually opens
 * many connections); otherwise every process's, which takes tens of
 * milliseconds on a busy host. Callers cache the answer per connection.
 */
export function procConnectionPodFinder(procRoot: string, stateDir: string): ConnectionPodFinder {
  let state: StateMount | undefined;
  const recent: string[] = [];
  return (client, server) => {
    if (state === undefined) {
      const resolved = realpathSync(stateDir);
      state = stateMountOf(readFileSync(join(procRoot, 'self/mountinfo'), 'utf8'), resolved);
      if (state === undefined) return undefined;
    }
    const inode = socketInode(procRoot, client, server);
    if (inode === undefined) return undefined;
    for (const pid of socketOwners(procRoot, inode, recent)) {
      let mountinfo: string;
      try {
        mountinfo = readFileSync(join(procRoot, pid, 'mountinfo'), 'utf8');
      } catch {
        continue;
      }
      const pod = podOfMountinfo(mountinfo, state);
      if (pod !== undefined) {
        const i = recent.indexOf(pid);
        if (i >= 0) recent.splice(i, 1);
        recent.unshift(pid);
        if (recent.length > 16) recent.pop();
        return pod;
      }
    }
    return undefined;
  };
}

function socketInode(procRoot: string, client: Endpoint, server: Endpoint): string | undefined {
  for (const file of ['net/tcp', 'net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(join(procRoot, file), 'utf8');
    } catch {
      continue;
    }
    const entry = parseProcNetTcp(text).find(
      (e) =>
        e.local.port === client.port &&
        e.remote.port === server.port &&
        e.local.address === client.address &&
        e.remote.address === server.address &&
        e.inode !== '0',
    );
    if (entry !== undefined) return entry.inode;
  }
  return undefined;
}

/** socketOwners lists the PIDs holding socket `inode`, looking at `first` before every process. */
function socketOwners(procRoot: string, inode: string, first: readonly string[]): string[] {
  const target = `socket:[${inode}]`;
  const owners: string[] = [];
  const scan = (pids: Iterable<string>): void => {
    for (const pid of pids) if (holds(procRoot, pid, target)) owners.push(pid);
  };
  scan(first);
  if (owners.length > 0) return owners;
  scan(readdirSync(procRoot).filter((pid) => /^\d+$/.test(pid) && pid !== String(process.pid)));
  return owners;
}

/** holds tells whether process `pid` has an fd linking to `target`. */
function holds(procRoot: string, pid: string, target: string): boolean {
  let fds: string[];
  try {
    fds = readdirSync(join(procRoot, pid, 'fd'));
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      if (readlinkSync(join(procRoot, pid, 'fd', fd)) === target) return true;
    } catch {
      // The fd closed meanwhile.
    }
  }
  return false;
}

/** KsaLookup reads the KSA a pod runs as; throws PodGoneError when the pod no longer exists. */
export type KsaLookup = (pod: PodRef) => Promise<Ksa>;

/** PodGoneError: the pod behind a connection is not (or no longer) in the API server. */
export class PodGoneError extends Error {}

/**
 * apiKsaLookup reads the pod (its UID must match) and its service account
 * through the API server of `kubeconfigPath`.
 */
export function apiKsaLookup(kubeconfigPath: string): KsaLookup {
  let api: CoreV1Api | undefined;
  return async (pod) => {
    if (api === undefined) {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      api = kc.makeApiClient(CoreV1Api);
    }
    let live;
    try {
      live = await api.readNamespacedPod({ name: pod.name, namespace: pod.namespace });
    } catch (err) {
      if ((err as { code?: number }).code === 404) {
        throw new PodGoneError(`pod ${pod.namespace}/${pod.name} not found`);
      }
      throw err;
    }
    if (live.metadata?.uid !== pod.uid) {
      throw new PodGoneError(`pod ${pod.namespace}/${pod.name} with UID ${pod.uid} not found`);
    }
    const name = live.spec?.serviceAccountName || 'default';
    const sa = await api.readNamespacedServiceAccount({ name, namespace: pod.namespace });
    return {
      namespace: pod.namespace,
      name,
      uid: sa.metadata?.uid ?? '',
      gsa: sa.metadata?.annotations?.[GSA_ANNOTATION]?.trim() ?? '',
    };
  };
}
