// manifests.ts: renders what the lab installs for Kueue, from the manifests of the
// pinned module that lab/scripts/build-kueue.sh copied into its cache:
//
//   node lab/kueue/manifests.ts --dir KUEUE_DIR --port WEBHOOK_PORT --ca CA_FILE --user USER
//
// prints one List (JSON, which kubectl reads like YAML and this writes faster) to stdout:
//   - every CRD of crd/*.yaml; those that Kueue's crd/kustomization.yaml patches with a
//     conversion webhook get it, pointed at https://127.0.0.1:PORT/convert;
//   - the webhook configurations of webhook.yaml, limited to the batch/job integration and
//     Kueue's own kinds (the pod, deployment, statefulset and other frameworks' hooks are left
//     out: with failurePolicy Fail they would refuse every pod while Kueue is down), each
//     clientConfig being `url: https://127.0.0.1:PORT<path>` with the lab CA as caBundle;
//   - Kueue's RBAC bound to USER, the identity of its kubeconfig: its ClusterRole
//     (rbac/role.yaml), and in its namespace kueue-system (made here) its Role for Secrets
//     (rbac/manager_secrets_role.yaml).
//
// Names follow Kueue's config/default (prefix `kueue-`), so the objects look like a real install.
// kubectl applies the output server-side (the CRDs are too large for client-side apply).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';

/** KObject is the part of a Kubernetes object this script reads or writes. */
interface KObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** Webhook is one entry of a {Mutating,Validating}WebhookConfiguration (admissionregistration/v1). */
interface Webhook {
  name: string;
  clientConfig: { service?: { path?: string }; url?: string; caBundle?: string };
  rules?: { apiGroups?: string[]; resources?: string[] }[];
  [k: string]: unknown;
}

/** NAMESPACE is Kueue's own namespace (`namespace` in lab/kueue/config.yaml). */
const NAMESPACE = 'kueue-system';

/** KEPT_GROUPS are the API groups whose webhooks the lab keeps (batch is the batch/job integration). */
const KEPT_GROUPS = new Set(['batch', 'kueue.x-k8s.io']);

function docsOf(file: string): KObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJSON() as KObject | null)
    .filter((o): o is KObject => o !== null && typeof o === 'object' && 'kind' in o);
}

/** conversionPatches answers CRD name -> its conversion webhook patch, for the patches that
 * Kueue's crd/kustomization.yaml lists (commented-out ones are not in the parsed list). */
function conversionPatches(crdDir: string): Map<string, Record<string, unknown>> {
  const kustomization = parse(readFileSync(join(crdDir, 'kustomization.yaml'), 'utf8')) as {
    patches?: { path?: string }[];
  } | null;
  const out = new Map<string, Record<string, unknown>>();
  for (const p of kustomization?.patches ?? []) {
    if (!p.path?.includes('webhook_in_')) continue;
    for (const doc of docsOf(join(crdDir, p.path))) {
      const conversion = (doc as { spec?: { conversion?: Record<string, unknown> } }).spec
        ?.conversion;
      if (conversion) out.set(doc.metadata.name, conversion);
    }
  }
  return out;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      port: { type: 'string' },
      ca: { type: 'string' },
      user: { type: 'string' },
    },
  });
  const { dir, port, ca, user } = values;
  if (!dir || !port || !/^\d+$/.test(port) || !ca || !user) {
    throw new Error(
      'usage: manifests.ts --dir KUEUE_DIR --port WEBHOOK_PORT --ca CA_FILE --user USER',
    );
  }
  const base = `https://127.0.0.1:${port}`;
  const caBundle = readFileSync(ca).toString('base64');
  const out: KObject[] = [];

  const crdDir = join(dir, 'crd');
  const patches = conversionPatches(crdDir);
  const bases = join(crdDir, 'bases');
  for (const file of readdirSync(bases)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    for (const crd of docsOf(join(bases, file))) {
      const conversion = patches.get(crd.metadata.name);
      if (conversion) {
        const webhook = conversion['webhook'] as Record<string, unknown>;
        (crd['spec'] as Record<string, unknown>)['conversion'] = {
          ...conversion,
          webhook: { ...webhook, clientConfig: { url: `${base}/convert`, caBundle } },
        };
      }
      out.push(crd);
    }
  }

  for (const config of docsOf(join(dir, 'webhook', 'manifests.yaml'))) {
    const hooks = ((config['webhooks'] ?? []) as Webhook[]).filter((w) =>
      (w.rules ?? []).every((r) => (r.apiGroups ?? []).every((g) => KEPT_GROUPS.has(g))),
    );
    for (const w of hooks) {
      const path = w.clientConfig.service?.path ?? '';
      w.clientConfig = { url: `${base}${path}`, caBundle };
    }
    out.push({
      ...config,
      metadata: { name: `kueue-${config.metadata.name}` },
      webhooks: hooks,
    });
  }

  out.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  for (const [file, kind] of [
    ['role.yaml', 'ClusterRole'],
    ['manager_secrets_role.yaml', 'Role'],
  ] as const) {
    const role = docsOf(join(dir, 'rbac', file)).find((o) => o.kind === kind);
    if (!role) throw new Error(`no ${kind} in ${join(dir, 'rbac', file)}`);
    const name = `kueue-${role.metadata.name}`;
    const metadata = kind === 'Role' ? { name, namespace: NAMESPACE } : { name };
    out.push({ ...role, metadata });
    out.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: `${kind}Binding`,
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    });
  }

  process.stdout.write(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: out })}\n`);
}

main();
