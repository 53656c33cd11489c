export const id = 567;
export const ids = [567];
export const modules = {

/***/ 17567:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  connect: () => (/* binding */ connect),
  tokenSourceFor: () => (/* binding */ tokenSourceFor)
});

// EXTERNAL MODULE: ./node_modules/google-auth-library/build/src/index.js
var src = __webpack_require__(492);
;// CONCATENATED MODULE: ./build/src/core/auth.js

/** CLOUD_PLATFORM_SCOPE is the OAuth scope requested for every token. */
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const FIVE_MINUTES_MS = 5 * 60_000;
/**
 * refreshAt returns when (epoch ms) a token minted at `issuedAt` and expiring
 * at `expiresAt` should be renewed: 5 minutes before expiry, or 10% of its
 * lifetime before expiry when that is shorter (a 5 s lab token is renewed
 * after 4.5 s, a one-hour token after 55 min).
 */
function refreshAt(issuedAt, expiresAt) {
    const lifetime = Math.max(0, expiresAt - issuedAt);
    return expiresAt - Math.min(FIVE_MINUTES_MS, lifetime / 10);
}
/**
 * CachingTokenSource caches the token that `mint` returns and calls `mint`
 * again once the clock passes refreshAt. Concurrent callers share one
 * in-flight refresh. When a refresh fails while the cached token has not yet
 * expired, the cached token is returned and the next call tries again; once
 * it has expired, the refresh error is thrown.
 */
class CachingTokenSource {
    #mint;
    #clock;
    #cached;
    #pending;
    constructor(mint, clock = Date.now) {
        this.#mint = mint;
        this.#clock = clock;
    }
    async getAccessToken() {
        const now = this.#clock();
        const cached = this.#cached;
        if (cached && now < cached.renewAt)
            return cached.token;
        try {
            return await this.#refresh();
        }
        catch (error) {
            if (cached && this.#clock() < cached.token.expiresAt)
                return cached.token;
            throw error;
        }
    }
    #refresh() {
        this.#pending ??= (async () => {
            try {
                const issuedAt = this.#clock();
                const token = await this.#mint();
                this.#cached = { token, renewAt: refreshAt(issuedAt, token.expiresAt) };
                return token;
            }
            finally {
                this.#pending = undefined;
            }
        })();
        return this.#pending;
    }
}
/**
 * AdcTokenSource uses Application Default Credentials through
 * google-auth-library's GoogleAuth (a credentials file from
 * GOOGLE_APPLICATION_CREDENTIALS, e.g. written by google-github-actions/auth,
 * gcloud's user credentials, or the metadata server). The library refreshes
 * its own token 5 minutes before expiry; every new token is masked before it
 * is returned. A token without a known expiry is treated as valid for 5
 * minutes and then asked for again.
 */
class AdcTokenSource {
    #auth;
    #mask;
    #clock;
    #masked = new Set();
    constructor(options) {
        this.#auth = options.auth ?? new src.GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE] });
        this.#mask = options.mask;
        this.#clock = options.clock ?? Date.now;
    }
    async getAccessToken() {
        let token;
        let expiry;
        try {
            const client = await this.#auth.getClient();
            token = (await client.getAccessToken()).token;
            expiry = client.credentials.expiry_date;
        }
        catch (error) {
            const reason = error instanceof Error ? error.message : String(error);
            throw new Error(`Application Default Credentials failed: ${reason}; set workload_identity_provider, ` +
                'or run google-github-actions/auth (or `gcloud auth application-default login`) first', { cause: error });
        }
        if (!token)
            throw new Error('Application Default Credentials returned no access token');
        if (!this.#masked.has(token)) {
            this.#mask(token);
            this.#masked.add(token);
        }
        return { token, expiresAt: expiry ?? this.#clock() + FIVE_MINUTES_MS };
    }
}
/**
 * StaticTokenSource returns one fixed token (e.g. `gcloud auth
 * print-access-token` output given to the CLI); it is never refreshed.
 */
class StaticTokenSource {
    #token;
    constructor(token, expiresAt = Number.MAX_SAFE_INTEGER) {
        this.#token = { token, expiresAt };
    }
    getAccessToken() {
        return Promise.resolve(this.#token);
    }
}

// EXTERNAL MODULE: ./node_modules/p-retry/index.js + 1 modules
var p_retry = __webpack_require__(74995);
;// CONCATENATED MODULE: ./build/src/core/google-http.js

/**
 * GoogleApiError is a failed call to a Google API. `step` names the protocol
 * step (`STS token exchange`, `GKE clusters.get`, ...), `status` is the HTTP
 * status (0 for a network error) and `detail` is Google's own error text. The
 * message never contains a credential: every secret the caller knows is
 * replaced by `***` before the message is built.
 */
class GoogleApiError extends Error {
    step;
    status;
    detail;
    constructor(step, status, detail, hint) {
        const where = status ? `HTTP ${status}` : 'network error';
        super(`${step} failed: ${where}: ${detail}${hint ? `; ${hint}` : ''}`);
        this.name = 'GoogleApiError';
        this.step = step;
        this.status = status;
        this.detail = detail;
    }
}
/**
 * googleErrorText extracts the human part of a Google error body: the AIP-193
 * shape `{"error": {"code", "message", "status"}}` used by IAM Credentials,
 * GKE and Cloud Storage, or the OAuth 2.0 shape `{"error", "error_description"}`
 * (RFC 6749 section 5.2) used by STS. Other bodies are returned trimmed and
 * cut to 500 characters.
 */
function googleErrorText(body) {
    try {
        const parsed = JSON.parse(body);
        if (parsed && typeof parsed === 'object' && 'error' in parsed) {
            const error = parsed.error;
            if (error && typeof error === 'object') {
                const { message, status } = error;
                const text = typeof message === 'string' ? message : JSON.stringify(error);
                return typeof status === 'string' ? `${status}: ${text}` : text;
            }
            const description = parsed.error_description;
            if (typeof error === 'string') {
                return typeof description === 'string' ? `${error}: ${description}` : error;
            }
        }
    }
    catch {
        // not JSON: fall through to the raw text
    }
    const text = body.trim().replace(/\s+/g, ' ');
    return text ? text.slice(0, 500) : '(empty response body)';
}
/** redact returns text with every non-empty secret replaced by `***`. */
function redact(text, secrets) {
    let out = text;
    for (const secret of secrets) {
        if (secret)
            out = out.split(secret).join('***');
    }
    return out;
}
/** isRetryableStatus is true for HTTP 408, 429 and 5xx, which Google asks clients to retry with backoff. */
function isRetryableStatus(status) {
    return status === 408 || status === 429 || status >= 500;
}
/**
 * withRetry runs `attempt` and retries it with exponential backoff (p-retry)
 * while it throws a GoogleApiError whose status is 0 (network error) or
 * retryable; any other error is thrown at once.
 */
async function withRetry(attempt, retry = {}) {
    return (0,p_retry/* default */.Ay)(async () => {
        try {
            return await attempt();
        }
        catch (error) {
            if (error instanceof GoogleApiError &&
                (error.status === 0 || isRetryableStatus(error.status)))
                throw error;
            throw new p_retry/* AbortError */.lc(error instanceof Error ? error : new Error(String(error)));
        }
    }, {
        retries: retry.retries ?? 4,
        minTimeout: retry.minTimeoutMs ?? 500,
        maxTimeout: retry.maxTimeoutMs ?? 16_000,
        randomize: true,
    });
}
/** REQUEST_TIMEOUT_MS bounds one HTTP exchange (request, answer and its body): a stalled connection is retried instead of hanging a build. */
const REQUEST_TIMEOUT_MS = 5 * 60_000;
/**
 * exchange performs one HTTP request and reads the whole answer as text
 * within REQUEST_TIMEOUT_MS. A network error or timeout becomes a
 * GoogleApiError with status 0 (retryable by withRetry), secrets redacted.
 */
async function exchange(doFetch, url, init, step, secrets) {
    try {
        const response = await doFetch(url, {
            ...init,
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        return { response, text: await response.text() };
    }
    catch (error) {
        const cause = error instanceof Error ? (error.cause instanceof Error ? error.cause : error) : undefined;
        throw new GoogleApiError(step, 0, redact(`${cause?.message ?? String(error)} (${url})`, secrets));
    }
}
/**
 * requestJson performs one JSON API call with retries (withRetry) and returns
 * the parsed 2xx response body. Throws GoogleApiError with the step, the HTTP
 * status and Google's error text (googleErrorText), secrets redacted.
 */
async function requestJson(req) {
    const secrets = req.secrets ?? [];
    return withRetry(async () => {
        const { response, text } = await exchange(req.fetch ?? fetch, req.url, { method: req.method, headers: req.headers, body: req.body }, req.step, secrets);
        if (!response.ok) {
            const detail = redact(googleErrorText(text), secrets);
            throw new GoogleApiError(req.step, response.status, detail, req.hint?.(response.status));
        }
        try {
            return JSON.parse(text);
        }
        catch {
            const detail = `response is not JSON: ${redact(googleErrorText(text), secrets)}`;
            throw new GoogleApiError(req.step, response.status, detail);
        }
    }, req.retry);
}

;// CONCATENATED MODULE: ./build/src/core/auth-wif.js


const PROVIDER_RE = /^projects\/[^/\s]+\/locations\/[^/\s]+\/workloadIdentityPools\/[^/\s]+\/providers\/[^/\s]+$/;
const SERVICE_ACCOUNT_RE = /^[^/\s:?#@]+@[^/\s:?#@]+$/;
/**
 * WorkloadIdentityTokenSource turns the job's GitHub OIDC token into a Google
 * access token through Workload Identity Federation, like
 * google-github-actions/auth: (1) a GitHub OIDC token for the audience
 * `https://iam.googleapis.com/<provider>`; (2) an STS token exchange,
 * `POST {sts}v1/token` with `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`
 * and `subject_token_type=urn:ietf:params:oauth:token-type:jwt` (RFC 8693,
 * form-encoded as RFC 8693 section 2.1 prescribes; Google's STS reference
 * `v1/token`); (3) when `serviceAccount` is set, IAM Credentials
 * `POST {iamcredentials}v1/projects/-/serviceAccounts/{email}:generateAccessToken`
 * with scope cloud-platform (IAM Credentials REST reference). Tokens are
 * cached and renewed before expiry (refreshAt); each renewal asks
 * `getIdToken` again, since GitHub's OIDC tokens last only minutes.
 *
 * Why not google-auth-library's IdentityPoolClient: it would fit the protocol
 * (a `subject_token_supplier`, `token_url` and
 * `service_account_impersonation_url` override the endpoints), but it never
 * hands out the intermediate federated token, so that token cannot be masked
 * before use; its errors do not say which of the two calls failed or carry the
 * HTTP status; and it caches by the wall clock with its own 5-minute margin,
 * so the refresh policy could neither be chosen nor tested with an injected
 * clock. The protocol is two documented POSTs, kept here in one place.
 *
 * Errors are GoogleApiError naming the step (`STS token exchange` or
 * `IAM Credentials generateAccessToken`), the HTTP status, Google's error text
 * and what to check; no token ever appears in a message.
 */
class WorkloadIdentityTokenSource {
    #options;
    #cache;
    #clock;
    constructor(options) {
        if (!PROVIDER_RE.test(options.workloadIdentityProvider)) {
            throw new Error(`invalid workload_identity_provider "${options.workloadIdentityProvider}": use ` +
                'projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER');
        }
        if (options.serviceAccount !== undefined && !SERVICE_ACCOUNT_RE.test(options.serviceAccount)) {
            throw new Error(`invalid service_account "${options.serviceAccount}": use an e-mail such as NAME@PROJECT.iam.gserviceaccount.com`);
        }
        const lifetime = options.lifetimeSeconds;
        if (lifetime !== undefined &&
            (!Number.isInteger(lifetime) || lifetime <= 0 || lifetime > 43_200)) {
            throw new Error(`invalid token lifetime ${lifetime}: use whole seconds from 1 to 43200`);
        }
        this.#options = options;
        this.#clock = options.clock ?? Date.now;
        this.#cache = new CachingTokenSource(() => this.#mint(), this.#clock);
    }
    /** audience is the audience requested for the GitHub OIDC token. */
    get audience() {
        return (this.#options.audience ??
            `https://iam.googleapis.com/${this.#options.workloadIdentityProvider}`);
    }
    getAccessToken() {
        return this.#cache.getAccessToken();
    }
    async #mint() {
        const o = this.#options;
        let idToken;
        try {
            idToken = await o.getIdToken(this.audience);
        }
        catch (error) {
            const reason = error instanceof Error ? error.message : String(error);
            throw new Error(`GitHub OIDC token request failed: ${reason}; the job needs \`permissions: id-token: write\``, { cause: error });
        }
        o.mask(idToken);
        const issuedAt = this.#clock();
        const sts = await requestJson({
            step: 'STS token exchange',
            url: `${o.endpoints.sts}v1/token`,
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
            body: new URLSearchParams({
                grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
                audience: `//iam.googleapis.com/${o.workloadIdentityProvider}`,
                scope: CLOUD_PLATFORM_SCOPE,
                requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
                subject_token: idToken,
                subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
            }).toString(),
            secrets: [idToken],
            hint: () => `check workload_identity_provider ${o.workloadIdentityProvider}, the OIDC audience ${this.audience}, ` +
                "and that the job's OIDC claims satisfy the provider's attribute condition",
            fetch: o.fetch,
            retry: o.retry,
        });
        const federated = sts.access_token;
        if (!federated)
            throw new Error('STS token exchange failed: the response has no access_token');
        o.mask(federated);
        if (!o.serviceAccount) {
            return { token: federated, expiresAt: issuedAt + (sts.expires_in ?? 3600) * 1000 };
        }
        return this.#impersonate(federated, [idToken]);
    }
    async #impersonate(federated, secrets) {
        const o = this.#options;
        const email = o.serviceAccount ?? '';
        const lifetime = o.lifetimeSeconds ?? 3600;
        const issuedAt = this.#clock();
        const res = await requestJson({
            step: 'IAM Credentials generateAccessToken',
            url: `${o.endpoints.iamcredentials}v1/projects/-/serviceAccounts/${email}:generateAccessToken`,
            method: 'POST',
            headers: {
                authorization: `Bearer ${federated}`,
                'content-type': 'application/json',
                accept: 'application/json',
            },
            body: JSON.stringify({ scope: [CLOUD_PLATFORM_SCOPE], lifetime: `${lifetime}s` }),
            secrets: [federated, ...secrets],
            hint: (status) => status === 403
                ? `the workload identity pool principal needs roles/iam.workloadIdentityUser on ${email} ` +
                    '(permission iam.serviceAccounts.getAccessToken)'
                : status === 404
                    ? `service account ${email} was not found: check service_account`
                    : undefined,
            fetch: o.fetch,
            retry: o.retry,
        });
        const token = res.accessToken;
        if (!token)
            throw new Error('IAM Credentials generateAccessToken failed: the response has no accessToken');
        o.mask(token);
        const parsed = res.expireTime ? Date.parse(res.expireTime) : Number.NaN;
        if (Number.isNaN(parsed) && res.expireTime) {
            throw new Error(`IAM Credentials generateAccessToken failed: bad expireTime "${redact(res.expireTime, [token])}"`);
        }
        return { token, expiresAt: Number.isNaN(parsed) ? issuedAt + lifetime * 1000 : parsed };
    }
}

// EXTERNAL MODULE: ./build/src/core/endpoints.js
var endpoints = __webpack_require__(46463);
// EXTERNAL MODULE: ./node_modules/@kubernetes/client-node/dist/index.js + 875 modules
var dist = __webpack_require__(12901);
;// CONCATENATED MODULE: ./build/src/core/kube-config.js
/**
 * kube-config.ts: a KubeConfig whose generated API calls share one connection pool.
 *
 * `@kubernetes/client-node` 2.0.1 builds a new undici Agent in
 * `applySecurityAuthentication`, which runs before every generated API call
 * (config.js `createDispatcher`), and never closes it: each call opens its own
 * TLS connection, and the idle sockets stay open until the server drops them.
 * Creating 500 Jobs left 500 connections and about 0.3 MiB each (bench/fanout.ts,
 * docs/benchmarks.md). Watches and exec use client-node's own cached agents and
 * are not affected.
 */

/**
 * PooledKubeConfig keeps the first undici dispatcher (Agent) made for a
 * cluster and user and hands it to every later request, so calls reuse
 * keep-alive connections. The key is the current cluster's name and server
 * and the current user's name, as client-node keys its own agent cache
 * (`getAgentCacheKey`). A dispatcher made for a request and not kept is never
 * connected; it is closed at once.
 */
class PooledKubeConfig extends dist/* KubeConfig */.ypW {
    #pool = new Map();
    async applySecurityAuthentication(context) {
        await super.applySecurityAuthentication(context);
        const fresh = context.getDispatcher();
        if (!fresh)
            return;
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
    get pooled() {
        return this.#pool.size;
    }
    /** close closes the kept dispatchers (their idle connections); later calls open new ones. */
    async close() {
        const all = [...this.#pool.values()];
        this.#pool.clear();
        await Promise.all(all.map((d) => d.close().catch(() => undefined)));
    }
}

;// CONCATENATED MODULE: ./build/src/core/gke.js


/** clusterResourceName returns `projects/P/locations/L/clusters/C`, the GKE API's name for the cluster. */
function clusterResourceName(ref) {
    return `projects/${ref.project}/locations/${ref.location}/clusters/${ref.name}`;
}
/**
 * getCluster reads a cluster's control-plane endpoint and CA through the GKE
 * API `GET {endpoint}v1/projects/{p}/locations/{l}/clusters/{c}`
 * (projects.locations.clusters.get, GKE REST v1; `endpoint` is the base URL
 * ending with `/`, e.g. `https://container.googleapis.com/`). Retries 429/5xx.
 * Throws GoogleApiError naming the cluster's resource name; for 403 it names
 * the permission `container.clusters.get`, for 404 the inputs to check.
 */
async function getCluster(ref, tokenSource, endpoint, fetchFn, retry) {
    const name = clusterResourceName(ref);
    for (const [field, value] of Object.entries(ref)) {
        if (!value || /[/?#\s]/.test(value)) {
            throw new Error(`invalid cluster ${field} "${value}" in ${name}: use a plain name without "/"`);
        }
    }
    const { token } = await tokenSource.getAccessToken();
    const cluster = await requestJson({
        step: `GKE clusters.get ${name}`,
        url: `${endpoint}v1/${name}`,
        method: 'GET',
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        secrets: [token],
        hint: (status) => status === 403
            ? `the caller needs permission container.clusters.get on ${name} (e.g. roles/container.clusterViewer)`
            : status === 404
                ? `cluster ${name} was not found: check project_id, location and cluster`
                : undefined,
        fetch: fetchFn,
        retry,
    });
    const host = cluster.endpoint;
    const caData = cluster.masterAuth?.clusterCaCertificate;
    if (!host || !caData) {
        throw new Error(`GKE clusters.get ${name} returned no ${host ? 'masterAuth.clusterCaCertificate' : 'endpoint'}` +
            ` (cluster status ${cluster.status ?? 'unknown'}): wait until the cluster is RUNNING`);
    }
    return { endpoint: /^https?:\/\//.test(host) ? host : `https://${host}`, caData };
}
const AUTH_PROVIDER = 'kbuild-token-source';
/**
 * TokenSourceAuthenticator is a client-node Authenticator: client-node 2.x
 * calls `applyAuthentication` before every request it makes (generated API
 * calls through applySecurityAuthentication, Watch and Log through the same,
 * exec/attach websockets through applyToHTTPSOptions), so each request
 * carries a token fresh from the TokenSource and a build may run for hours.
 */
class TokenSourceAuthenticator {
    #source;
    constructor(source) {
        this.#source = source;
    }
    isAuthProvider(user) {
        return user.authProvider?.name === AUTH_PROVIDER;
    }
    async applyAuthentication(_user, opts) {
        const { token } = await this.#source.getAccessToken();
        // client-node always passes a plain header object here (config.js applyAuthorizationHeader).
        const headers = (opts.headers ??= {});
        headers.Authorization = `Bearer ${token}`;
    }
}
/**
 * kubeConfigFor builds an in-memory KubeConfig for the cluster whose user
 * has no static token: a custom authenticator (client-node's
 * `addAuthenticator`, matched by the user's auth-provider name) asks the
 * TokenSource for a token on every request, so the token is renewed before
 * it expires. Nothing is written to disk.
 */
function kubeConfigFor(cluster, tokenSource) {
    const kc = new PooledKubeConfig();
    kc.addAuthenticator(new TokenSourceAuthenticator(tokenSource));
    kc.loadFromOptions({
        clusters: [
            { name: 'gke', server: cluster.endpoint, caData: cluster.caData, skipTLSVerify: false },
        ],
        users: [{ name: 'kbuild', authProvider: { name: AUTH_PROVIDER, config: {} } }],
        contexts: [{ name: 'kbuild', cluster: 'gke', user: 'kbuild' }],
        currentContext: 'kbuild',
    });
    return kc;
}
/**
 * kubeConfigFromFile loads the kubeconfig at `path` (the `kubeconfig` input,
 * for any cluster such as KinD); its own auth (token, client certificate,
 * exec plugin) is used as is. Throws naming the path when it cannot be read
 * or has no current context.
 */
function kubeConfigFromFile(path) {
    const kc = new PooledKubeConfig();
    try {
        kc.loadFromFile(path);
    }
    catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`cannot load kubeconfig "${path}": ${reason}`, { cause: error });
    }
    if (!kc.getCurrentCluster()) {
        throw new Error(`kubeconfig "${path}" has no current context with a cluster: set current-context`);
    }
    return kc;
}

// EXTERNAL MODULE: ./build/src/core/kube-api.js
var kube_api = __webpack_require__(40729);
;// CONCATENATED MODULE: ./build/src/core/kube-watch.js
/**
 * kube-watch.ts: a list-then-watch loop that survives the ways a watch ends.
 *
 * `@kubernetes/client-node`'s `Watch` ends a quiet watch after 30 s and ends
 * every watch when the API server closes it (`timeoutSeconds`, restarts). A
 * resourceVersion that is too old answers an ERROR event with a 410 Status
 * (Kubernetes API concepts, "Efficient detection of changes"). watchLoop
 * re-watches from the last resourceVersion it saw (bookmarks included), and
 * re-lists after 410, reporting objects that vanished meanwhile as DELETED.
 */

/** sleep resolves after ms, or at once when the signal aborts. */
function sleep(ms, signal) {
    return new Promise((resolve) => {
        const t = setTimeout(done, ms);
        function done() {
            clearTimeout(t);
            signal.removeEventListener('abort', done);
            resolve();
        }
        signal.addEventListener('abort', done, { once: true });
    });
}
/**
 * watchLoop lists, then watches, until `signal` aborts; it never throws for
 * transient failures (network errors and 5xx are retried with capped
 * exponential backoff, 0.5 s to 10 s). It throws when the list itself is
 * refused (401/403/404), since retrying cannot help.
 */
async function watchLoop(kc, opts) {
    const { signal } = opts;
    const known = new Set();
    let resourceVersion = '';
    let needList = true;
    let attempt = 0;
    while (!signal.aborted) {
        try {
            if (needList) {
                const { items, resourceVersion: rv } = await opts.list();
                const present = new Set(items.map((o) => o.metadata?.name ?? ''));
                for (const name of known) {
                    if (!present.has(name))
                        opts.onEvent('DELETED', { metadata: { name } });
                }
                known.clear();
                for (const o of items) {
                    known.add(o.metadata?.name ?? '');
                    opts.onEvent('ADDED', o);
                }
                resourceVersion = rv;
                needList = false;
            }
            const result = await watchOnce(kc, opts, resourceVersion, (type, obj) => {
                const name = obj.metadata?.name ?? '';
                if (type === 'DELETED')
                    known.delete(name);
                else
                    known.add(name);
                opts.onEvent(type, obj);
            });
            resourceVersion = result.resourceVersion || resourceVersion;
            if (result.gone)
                needList = true;
            attempt = 0;
        }
        catch (err) {
            const code = err.code ??
                err.statusCode;
            if (needList && (code === 401 || code === 403 || code === 404))
                throw err;
            attempt++;
            opts.onRetry?.(err, attempt);
            await sleep(Math.min(10_000, 500 * 2 ** Math.min(attempt, 5)), signal);
        }
    }
}
/** watchOnce runs one watch request to its end; resolves on a normal or timed-out end. */
function watchOnce(kc, opts, fromVersion, onEvent) {
    const timeoutSeconds = opts.timeoutSeconds ?? 25;
    const watch = new dist/* Watch */.ox1(kc);
    let resourceVersion = fromVersion;
    let gone = false;
    return new Promise((resolve, reject) => {
        let controller;
        const onAbort = () => controller?.abort();
        opts.signal.addEventListener('abort', onAbort, { once: true });
        const finish = (err) => {
            opts.signal.removeEventListener('abort', onAbort);
            const timedOut = err instanceof Error && err.name === 'TimeoutError';
            if (err && !gone && !timedOut && !opts.signal.aborted && !isAbort(err))
                reject(err);
            else
                resolve({ resourceVersion, gone });
        };
        watch
            .watch(opts.path, {
            labelSelector: opts.labelSelector,
            resourceVersion: fromVersion,
            allowWatchBookmarks: true,
            timeoutSeconds,
        }, (type, obj) => {
            if (type === 'ERROR') {
                if (obj.code === 410)
                    gone = true;
                controller?.abort();
                return;
            }
            const rv = obj.metadata?.resourceVersion;
            if (rv)
                resourceVersion = rv;
            if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')
                onEvent(type, obj);
        }, finish)
            .then((c) => {
            controller = c;
            if (opts.signal.aborted)
                c.abort();
        }, finish);
    });
}
function isAbort(err) {
    return err instanceof Error && (err.name === 'AbortError' || /aborted/i.test(err.message));
}

// EXTERNAL MODULE: external "node:https"
var external_node_https_ = __webpack_require__(44708);
// EXTERNAL MODULE: external "node:http"
var external_node_http_ = __webpack_require__(37067);
// EXTERNAL MODULE: ./node_modules/ws/wrapper.mjs
var wrapper = __webpack_require__(52977);
;// CONCATENATED MODULE: ./build/src/core/kube-stream.js
/**
 * kube-stream.ts: the two streaming calls of a build, with flow control.
 *
 * - openLogStream: `GET .../pods/{pod}/log` over node:https, answered as the
 *   response stream itself, so a dropped connection is an 'error'/'end' the
 *   caller handles (client-node's `Log.log` pipes a web stream and throws an
 *   uncaught `TypeError: terminated` instead; STYLE.md).
 * - execInPod: `pods/exec` over WebSocket with the `v5.channel.k8s.io`
 *   subprotocol (KEP-4006): one byte of channel (0 stdin, 1 stdout, 2 stderr,
 *   3 status, 255 close) before each message. Unlike client-node's `Exec`,
 *   stdout is written with backpressure (the socket is paused while the
 *   consumer is full) and stdin is sent one acknowledged frame at a time, so a
 *   512 MB tar stream never piles up in memory.
 */




function serverOf(kc) {
    const cluster = kc.getCurrentCluster();
    if (!cluster)
        throw new kube_api/* KubeApiError */.W(0, 'NoCluster', 'the kubeconfig has no current cluster');
    return cluster.server.replace(/\/+$/, '');
}
/**
 * openLogStream answers the log body of a container as a Readable of bytes.
 * Rejects with KubeApiError for non-200 answers (with the API's message, e.g.
 * `container "build" in pod "x" is waiting to start: PodInitializing`).
 */
async function openLogStream(kc, req, signal) {
    const url = new URL(`${serverOf(kc)}/api/v1/namespaces/${encodeURIComponent(req.namespace)}/pods/${encodeURIComponent(req.pod)}/log`);
    url.searchParams.set('container', req.container);
    url.searchParams.set('follow', String(req.follow));
    url.searchParams.set('timestamps', String(req.timestamps));
    if (req.sinceTime)
        url.searchParams.set('sinceTime', req.sinceTime);
    const opts = { method: 'GET', signal };
    await kc.applyToHTTPSOptions(opts);
    const mod = url.protocol === 'http:' ? external_node_http_ : external_node_https_;
    return new Promise((resolve, reject) => {
        const r = mod.request(url, opts, (res) => {
            if (res.statusCode === 200) {
                resolve(res);
                return;
            }
            const chunks = [];
            res.on('data', (c) => chunks.length < 64 && chunks.push(c));
            res.on('error', reject);
            res.on('end', () => {
                const body = Buffer.concat(chunks).toString('utf8');
                let message = body;
                let reason = '';
                try {
                    const s = JSON.parse(body);
                    message = s.message ?? body;
                    reason = s.reason ?? '';
                }
                catch {
                    // not a Status: keep the raw body
                }
                reject(new kube_api/* KubeApiError */.W(res.statusCode ?? 0, reason, `log of ${req.pod}/${req.container}: ${message}`));
            });
        });
        r.on('error', (err) => reject(err instanceof kube_api/* KubeApiError */.W
            ? err
            : new kube_api/* KubeApiError */.W(0, 'NetworkError', `log of ${req.pod}/${req.container}: ${err.message}`)));
        r.end();
    });
}
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const CLOSE = 255;
/** exitCodeOf reads the exit code from an exec Status (`NonZeroExitCode` cause `ExitCode`). */
function exitCodeOf(status) {
    if (!status)
        return -1;
    if (status.status === 'Success')
        return 0;
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    return Number.isInteger(code) ? code : -1;
}
/**
 * execInPod runs `req.command` in the container and resolves when the remote
 * command has ended, with its exit code (-1 when the API reported an error
 * without one, e.g. the container is not running). stdout/stderr are ended
 * when the command ends. Rejects on connection failures and refusals
 * (KubeApiError with the HTTP status of the upgrade, e.g. 403).
 */
async function execInPod(kc, req) {
    const url = new URL(`${serverOf(kc).replace(/^http/, 'ws')}/api/v1/namespaces/${encodeURIComponent(req.namespace)}/pods/${encodeURIComponent(req.pod)}/exec`);
    url.searchParams.set('container', req.container);
    for (const arg of req.command)
        url.searchParams.append('command', arg);
    url.searchParams.set('stdin', String(!!req.stdin));
    url.searchParams.set('stdout', String(!!req.stdout));
    url.searchParams.set('stderr', String(!!req.stderr));
    url.searchParams.set('tty', 'false');
    const opts = {};
    await kc.applyToHTTPSOptions(opts);
    const what = `exec ${req.command[0]} in ${req.pod}/${req.container}`;
    return new Promise((resolve, reject) => {
        const ws = new wrapper/* default */.Ay(url, ['v5.channel.k8s.io'], opts);
        let status;
        let settled = false;
        let paused = false;
        const onAbort = () => ws.terminate();
        req.signal?.addEventListener('abort', onAbort, { once: true });
        const settle = (err) => {
            if (settled)
                return;
            settled = true;
            req.signal?.removeEventListener('abort', onAbort);
            req.stdout?.end();
            req.stderr?.end();
            if (err)
                reject(err);
            else {
                const exitCode = exitCodeOf(status);
                resolve({
                    exitCode,
                    message: status?.message ?? (status ? '' : 'connection closed without a status'),
                    status,
                });
            }
        };
        ws.on('unexpected-response', (_r, res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                let message = Buffer.concat(chunks).toString('utf8');
                try {
                    message = JSON.parse(message).message ?? message;
                }
                catch {
                    // keep the raw body
                }
                settle(new kube_api/* KubeApiError */.W(res.statusCode ?? 0, 'UpgradeFailed', `${what}: ${message}`));
            });
        });
        ws.on('error', (err) => settle(new kube_api/* KubeApiError */.W(0, 'NetworkError', `${what}: ${err.message}`)));
        ws.on('close', () => {
            if (req.signal?.aborted)
                settle(new kube_api/* KubeApiError */.W(0, 'Aborted', `${what}: aborted`));
            else
                settle();
        });
        ws.on('message', (data) => {
            const channel = data[0];
            const payload = data.subarray(1);
            const sink = channel === STDOUT ? req.stdout : channel === STDERR ? req.stderr : undefined;
            if (sink) {
                if (payload.length && !sink.write(payload) && !paused) {
                    paused = true;
                    ws.pause();
                    sink.once('drain', () => {
                        paused = false;
                        ws.resume();
                    });
                }
            }
            else if (channel === STATUS) {
                try {
                    status = JSON.parse(payload.toString('utf8'));
                }
                catch {
                    status = { status: 'Failure', message: payload.toString('utf8') };
                }
            }
        });
        ws.on('open', () => {
            if (ws.protocol !== 'v5.channel.k8s.io') {
                ws.close();
                settle(new kube_api/* KubeApiError */.W(0, 'Protocol', `${what}: the API server does not speak v5.channel.k8s.io (Kubernetes >= 1.30 needed)`));
                return;
            }
            if (req.stdin)
                void pumpStdin(ws, req.stdin).catch((err) => settle(new kube_api/* KubeApiError */.W(0, 'Stdin', `${what}: ${err.message}`)));
        });
    });
}
/** pumpStdin sends stdin one acknowledged frame at a time, then the v5 close frame for channel 0. */
async function pumpStdin(ws, stdin) {
    const send = (buf) => new Promise((resolve, reject) => ws.send(buf, (err) => (err ? reject(err) : resolve())));
    for await (const chunk of stdin) {
        if (ws.readyState !== wrapper/* default */.Ay.OPEN)
            return;
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        await send(Buffer.concat([Buffer.from([STDIN]), b]));
    }
    if (ws.readyState === wrapper/* default */.Ay.OPEN)
        await send(Buffer.from([CLOSE, STDIN]));
}

;// CONCATENATED MODULE: ./build/src/core/kube-client.js
/**
 * kube-client.ts: `ClientNodeKubeApi`, the `KubeApi` over `@kubernetes/client-node` 2.x.
 * Plain calls go through the generated clients; watches, logs and exec go
 * through kube-watch.ts and kube-stream.ts, which work around the library's
 * known hazards (STYLE.md).
 */




/**
 * toKubeApiError maps a client-node `ApiException` (fields `code` and `body`,
 * the body a JSON `Status`) to a KubeApiError; anything else is wrapped with
 * status 0 (a network failure).
 */
function toKubeApiError(err, what) {
    if (err instanceof kube_api/* KubeApiError */.W)
        return err;
    const e = err;
    if (typeof e?.code === 'number') {
        let reason = '';
        let message;
        try {
            const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
            reason = String(body?.reason ?? '');
            message = String(body?.message ?? '');
        }
        catch {
            message = String(e.body ?? '');
        }
        return new kube_api/* KubeApiError */.W(e.code, reason, `${what}: ${message || reason || `HTTP ${e.code}`}`);
    }
    const msg = err instanceof Error ? err.message : String(err);
    return new kube_api/* KubeApiError */.W(0, 'NetworkError', `${what}: ${msg}`);
}
async function call(what, fn) {
    try {
        return await fn();
    }
    catch (err) {
        throw toKubeApiError(err, what);
    }
}
async function deleted(what, fn) {
    try {
        await fn();
        return true;
    }
    catch (err) {
        const e = toKubeApiError(err, what);
        if (e.status === 404)
            return false;
        throw e;
    }
}
/** ClientNodeKubeApi: KubeApi over a KubeConfig (in memory, with a refreshed token, or from a file). */
class ClientNodeKubeApi {
    kc;
    core;
    batch;
    constructor(kc) {
        this.kc = kc;
        this.core = kc.makeApiClient(dist/* CoreV1Api */.f5Y);
        this.batch = kc.makeApiClient(dist/* BatchV1Api */.Q8C);
    }
    createJob(namespace, body) {
        return call(`create Job ${namespace}/${body.metadata?.name}`, () => this.batch.createNamespacedJob({ namespace, body }));
    }
    createPod(namespace, body) {
        return call(`create Pod ${namespace}/${body.metadata?.name}`, () => this.core.createNamespacedPod({ namespace, body }));
    }
    createSecret(namespace, body) {
        return call(`create Secret ${namespace}/${body.metadata?.name}`, () => this.core.createNamespacedSecret({ namespace, body }));
    }
    async setSecretOwner(namespace, name, owner) {
        await call(`set the owner of Secret ${namespace}/${name}`, () => this.core.patchNamespacedSecret({ namespace, name, body: { metadata: { ownerReferences: [owner] } } }, (0,dist/* setHeaderOptions */.OkF)('Content-Type', dist/* PatchStrategy */.Qve.MergePatch)));
    }
    async readJob(namespace, name) {
        try {
            return await this.batch.readNamespacedJob({ namespace, name });
        }
        catch (err) {
            const e = toKubeApiError(err, `read Job ${namespace}/${name}`);
            if (e.status === 404)
                return undefined;
            throw e;
        }
    }
    async readPod(namespace, name) {
        try {
            return await this.core.readNamespacedPod({ namespace, name });
        }
        catch (err) {
            const e = toKubeApiError(err, `read Pod ${namespace}/${name}`);
            if (e.status === 404)
                return undefined;
            throw e;
        }
    }
    async readNode(name) {
        try {
            return await this.core.readNode({ name });
        }
        catch (err) {
            const e = toKubeApiError(err, `read Node ${name}`);
            if (e.status === 404 || e.status === 403)
                return undefined;
            throw e;
        }
    }
    deleteJob(namespace, name, propagation = 'Background') {
        return deleted(`delete Job ${namespace}/${name}`, () => this.batch.deleteNamespacedJob({ namespace, name, propagationPolicy: propagation }));
    }
    deletePod(namespace, name, gracePeriodSeconds) {
        return deleted(`delete Pod ${namespace}/${name}`, () => this.core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds }));
    }
    deleteSecret(namespace, name) {
        return deleted(`delete Secret ${namespace}/${name}`, () => this.core.deleteNamespacedSecret({ namespace, name }));
    }
    async listPods(namespace, labelSelector) {
        const list = await call(`list Pods in ${namespace}`, () => this.core.listNamespacedPod({ namespace, labelSelector }));
        return list.items;
    }
    async listJobs(namespace, labelSelector) {
        const list = await call(`list Jobs in ${namespace}`, () => this.batch.listNamespacedJob({ namespace, labelSelector }));
        return list.items;
    }
    async listEvents(namespace, involvedObjectName) {
        const list = await call(`list Events of ${namespace}/${involvedObjectName}`, () => this.core.listNamespacedEvent({
            namespace,
            fieldSelector: `involvedObject.name=${involvedObjectName}`,
        }));
        const time = (e) => new Date(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? 0).getTime();
        return list.items.sort((a, b) => time(a) - time(b));
    }
    watchPods(namespace, labelSelector, onEvent, signal) {
        return watchLoop(this.kc, {
            path: `/api/v1/namespaces/${namespace}/pods`,
            labelSelector,
            list: async () => {
                const l = await this.core.listNamespacedPod({ namespace, labelSelector });
                return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
            },
            onEvent,
            signal,
        });
    }
    watchJobs(namespace, labelSelector, onEvent, signal) {
        return watchLoop(this.kc, {
            path: `/apis/batch/v1/namespaces/${namespace}/jobs`,
            labelSelector,
            list: async () => {
                const l = await this.batch.listNamespacedJob({ namespace, labelSelector });
                return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
            },
            onEvent,
            signal,
        });
    }
    openLog(req, signal) {
        return openLogStream(this.kc, req, signal);
    }
    exec(req) {
        return execInPod(this.kc, req);
    }
    async canI(checks) {
        const authz = this.kc.makeApiClient(dist/* AuthorizationV1Api */.NwU);
        const allowed = await Promise.all(checks.map(async (c) => {
            const review = await call('SelfSubjectAccessReview', () => authz.createSelfSubjectAccessReview({
                body: {
                    apiVersion: 'authorization.k8s.io/v1',
                    kind: 'SelfSubjectAccessReview',
                    spec: {
                        resourceAttributes: {
                            verb: c.verb,
                            group: c.group,
                            resource: c.resource,
                            subresource: c.subresource,
                            namespace: c.namespace,
                        },
                    },
                },
            }));
            return review.status?.allowed === true;
        }));
        return checks.filter((_, i) => !allowed[i]);
    }
}

// EXTERNAL MODULE: ./node_modules/@google-cloud/storage/build/esm/src/index.js + 27 modules
var esm_src = __webpack_require__(23923);
// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(77598);
// EXTERNAL MODULE: ./build/src/core/crc32c.js
var core_crc32c = __webpack_require__(3677);
;// CONCATENATED MODULE: ./build/src/core/gcs-session.js

/**
 * ChecksumMismatchError means GCS rejected (or stored) bytes whose CRC32C
 * differs from the one computed while reading the stream: the data changed on
 * the way. The object was not kept; a fresh stream may be uploaded again.
 */
class ChecksumMismatchError extends Error {
    constructor(message) {
        super(message);
        this.name = 'ChecksumMismatchError';
    }
}
/**
 * UploadSessionLostError means GCS no longer knows the resumable session
 * (HTTP 404 or 410): the upload must start again from a fresh stream.
 */
class UploadSessionLostError extends Error {
    constructor(message) {
        super(message);
        this.name = 'UploadSessionLostError';
    }
}
/** gcsHint names the permission to grant on a 403 and the input to check on a 404. */
function gcsHint(bucket, permission) {
    return (status) => status === 403
        ? `the caller needs ${permission} on bucket ${bucket} (e.g. roles/storage.objectUser)`
        : status === 404
            ? `bucket ${bucket} was not found: check the bucket input`
            : undefined;
}
/** secretsOf returns an Authorization header value and its bare token, for redact. */
function secretsOf(authorization) {
    return [authorization, authorization?.replace(/^Bearer /i, '')];
}
/** headersWith adds the current Authorization header (fresh from the TokenSource) to `extra`. */
async function headersWith(o, extra) {
    const authorization = await o.authorization();
    return authorization ? { ...extra, authorization } : extra;
}
/**
 * UploadSession sends the data of one resumable upload session (GCS docs
 * "Perform resumable uploads": chunked uploads and "Check the status of a
 * resumable upload"), tracking the offset GCS confirmed with its 308 `Range`.
 */
class UploadSession {
    #confirmed = 0;
    #o;
    #uri;
    #session;
    /** `uri` is the object's `gs://` URI (for messages), `session` the session URI from `Location`. */
    constructor(o, uri, session) {
        this.#o = o;
        this.#uri = uri;
        this.#session = session;
    }
    /**
     * send uploads `data`, the bytes from the confirmed offset on; a final piece
     * carries `total` and `hash` (`crc32c=...`). Returns the object's metadata
     * once GCS finalizes it, undefined after a non-final piece is persisted. On
     * a network error, 408, 429 or 5xx it waits (withRetry), asks GCS what it
     * persisted (`Content-Range: bytes *\/*`) and resends the rest.
     */
    async send(data, total, hash) {
        const start = this.#confirmed;
        const end = start + data.length;
        let needStatus = false;
        let stalls = 0;
        return withRetry(async () => {
            for (;;) {
                if (needStatus) {
                    const done = await this.#put(Buffer.alloc(0), undefined, undefined);
                    if (done)
                        return done;
                    needStatus = false;
                }
                if (this.#confirmed >= end && total === undefined)
                    return undefined;
                if (this.#confirmed < start) {
                    throw new UploadSessionLostError(`upload of ${this.#uri} failed: GCS lost bytes it had confirmed`);
                }
                const before = this.#confirmed;
                needStatus = true;
                const done = await this.#put(data.subarray(before - start), total ?? '*', hash);
                needStatus = false;
                if (done)
                    return done;
                stalls = this.#confirmed > before ? 0 : stalls + 1;
                if (stalls >= 3) {
                    const detail = 'GCS persisted no new bytes after 3 requests';
                    throw new GoogleApiError(`GCS upload of ${this.#uri}`, 308, detail);
                }
            }
        }, this.#o.retry);
    }
    /**
     * #put sends one PUT: `data` at the confirmed offset with `total` (`*` while
     * unknown), or with `total` undefined a status query (`bytes *\/*`). Returns
     * metadata on 200/201, undefined on 308 after reading the persisted Range.
     */
    async #put(data, total, hash) {
        const statusOnly = total === undefined;
        const range = statusOnly
            ? 'bytes */*'
            : data.length === 0
                ? `bytes */${total}`
                : `bytes ${this.#confirmed}-${this.#confirmed + data.length - 1}/${total}`;
        const step = statusOnly
            ? `GCS upload status query for ${this.#uri}`
            : `GCS upload of ${this.#uri}`;
        const extra = { 'content-range': range };
        if (hash)
            extra['x-goog-hash'] = hash;
        const headers = await headersWith(this.#o, extra);
        const secrets = secretsOf(headers.authorization);
        const body = new Uint8Array(data.buffer, data.byteOffset, data.length);
        const { response, text } = await exchange(this.#o.fetch ?? fetch, this.#session, { method: 'PUT', headers, body }, step, secrets);
        if (response.status === 308) {
            const persisted = /bytes=0-(\d+)/.exec(response.headers.get('range') ?? '');
            this.#confirmed = persisted?.[1] ? Number(persisted[1]) + 1 : 0;
            return undefined;
        }
        if (response.ok)
            return JSON.parse(text);
        const detail = redact(googleErrorText(text), secrets);
        if (response.status === 404 || response.status === 410) {
            throw new UploadSessionLostError(`${step} failed: HTTP ${response.status}: the upload session is gone: ${detail}`);
        }
        if (response.status === 400 && hash && /crc32c|checksum|hash/i.test(detail)) {
            throw new ChecksumMismatchError(`${step} rejected by GCS: HTTP 400: ${detail}`);
        }
        const hint = isRetryableStatus(response.status)
            ? undefined
            : gcsHint(this.#o.bucket, 'storage.objects.create')(response.status);
        throw new GoogleApiError(step, response.status, detail, hint);
    }
}

;// CONCATENATED MODULE: ./build/src/core/gcs-resumable.js





/** GCS_CHUNK_ALIGN: every chunk of a resumable upload but the last is a multiple of 256 KiB (GCS resumable upload doc). */
const GCS_CHUNK_ALIGN = 256 * 1024;
/**
 * resumableUpload streams `body` to `gs://bucket/name` with the JSON API
 * resumable protocol (GCS docs "Perform resumable uploads", chunked): it
 * starts a session (`POST /upload/storage/v1/b/B/o?uploadType=resumable`),
 * then sends `chunkSize` bytes per `PUT` with `Content-Range: bytes a-b/*`,
 * and the final request with the total size and `X-Goog-Hash: crc32c=...`
 * computed while reading, so GCS itself checks the object and refuses to
 * create it on a mismatch (HTTP 400). No copy goes to disk; at most two
 * chunks are held in memory: the one being sent and the next, read and
 * hashed meanwhile (reading and sending overlap; bench/upload.ts). A network error, 408, 429 or 5xx is retried with backoff
 * after asking GCS how many bytes it persisted (`Content-Range: bytes *\/*`),
 * resending from there. Throws ChecksumMismatchError (also when GCS reports a
 * different crc32c than computed: the object is then deleted),
 * UploadSessionLostError, or GoogleApiError.
 */
async function resumableUpload(o) {
    if (o.chunkSize <= 0 || o.chunkSize % GCS_CHUNK_ALIGN !== 0) {
        throw new Error(`invalid chunk size ${o.chunkSize}: use a multiple of ${GCS_CHUNK_ALIGN} bytes`);
    }
    const uri = `gs://${o.bucket}/${o.name}`;
    const crc = await (0,core_crc32c/* createCrc32c */.d)();
    const sha = (0,external_node_crypto_.createHash)('sha256');
    let total = 0;
    const put = new UploadSession(o, uri, await startSession(o, uri));
    let metadata;
    const source = chunks(o.body, o.chunkSize, (buf) => {
        crc.update(buf);
        sha.update(buf);
        total += buf.length;
    });
    let next = source.next();
    for (;;) {
        const item = await next;
        if (item.done)
            break;
        const { data, last } = item.value;
        if (!last) {
            // Read (and hash) the next chunk while this one is sent: the body's
            // source and GCS work at the same time. If the send fails, the caller
            // destroys the body, which ends this read; it is never awaited then.
            next = source.next();
            next.catch(() => undefined);
        }
        if (last && o.size !== undefined && total !== o.size) {
            throw new Error(`upload of ${uri} failed: the stream gave ${total} bytes, ${o.size} were expected`);
        }
        const hash = last ? `crc32c=${crc.toString()}` : undefined;
        metadata = await put.send(data, last ? total : undefined, hash);
        if (last)
            break;
    }
    if (!metadata)
        throw new Error(`upload of ${uri} failed: GCS did not finalize the object`);
    const crc32c = crc.toString();
    if (metadata.crc32c !== crc32c || Number(metadata.size) !== total) {
        await deleteObject(o, metadata.generation).catch(() => undefined);
        throw new ChecksumMismatchError(`upload of ${uri} failed: GCS stored crc32c ${metadata.crc32c ?? '(none)'} and size ${metadata.size ?? '?'}, ` +
            `the stream had crc32c ${crc32c} and size ${total}; the object was deleted`);
    }
    return { size: total, crc32c, sha256: sha.digest('hex'), metadata };
}
/**
 * chunks reads `body` and yields consecutive pieces of exactly `size` bytes,
 * then the remainder (possibly empty) marked `last`. `onData` sees every byte
 * in order as soon as it is read. A piece is yielded only when at least one
 * more byte is known to follow, so the last piece is never a full piece
 * followed by an empty one (unless the body is empty).
 */
async function* chunks(body, size, onData) {
    let pending = [];
    let pendingBytes = 0;
    for await (const piece of body) {
        const buf = typeof piece === 'string' ? Buffer.from(piece) : Buffer.from(piece);
        if (buf.length === 0)
            continue;
        onData(buf);
        pending.push(buf);
        pendingBytes += buf.length;
        while (pendingBytes > size) {
            const all = Buffer.concat(pending, pendingBytes);
            yield { data: all.subarray(0, size), last: false };
            pending = [all.subarray(size)];
            pendingBytes -= size;
        }
    }
    yield { data: Buffer.concat(pending, pendingBytes), last: true };
}
function objectPath(bucket) {
    return `b/${encodeURIComponent(bucket)}/o`;
}
/** startSession opens a resumable upload session and returns its URI (the `Location` answer header). */
async function startSession(o, uri) {
    const url = `${o.apiEndpoint}/upload/storage/v1/${objectPath(o.bucket)}` +
        `?uploadType=resumable&name=${encodeURIComponent(o.name)}`;
    const step = `GCS resumable upload start for ${uri}`;
    return withRetry(async () => {
        const extra = { 'content-type': 'application/json; charset=UTF-8' };
        if (o.contentType)
            extra['x-upload-content-type'] = o.contentType;
        if (o.size !== undefined)
            extra['x-upload-content-length'] = String(o.size);
        const headers = await headersWith(o, extra);
        const body = JSON.stringify(o.contentType ? { name: o.name, contentType: o.contentType } : { name: o.name });
        const secrets = secretsOf(headers.authorization);
        const init = { method: 'POST', headers, body };
        const { response, text } = await exchange(o.fetch ?? fetch, url, init, step, secrets);
        const location = response.headers.get('location');
        if (!response.ok || !location) {
            throw new GoogleApiError(step, response.status, response.ok ? 'no Location header in the response' : redact(googleErrorText(text), secrets), gcsHint(o.bucket, 'storage.objects.create')(response.status));
        }
        return new URL(location, url).toString();
    }, o.retry);
}
/** deleteObject removes the object just stored, if it is still that generation. */
async function deleteObject(o, generation) {
    const query = generation ? `?ifGenerationMatch=${encodeURIComponent(generation)}` : '';
    const url = `${o.apiEndpoint}/storage/v1/${objectPath(o.bucket)}/${encodeURIComponent(o.name)}${query}`;
    await (o.fetch ?? fetch)(url, { method: 'DELETE', headers: await headersWith(o, {}) });
}

;// CONCATENATED MODULE: ./build/src/core/storage.js



const DEFAULT_API = 'https://storage.googleapis.com';
const BUCKET_RE = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
/**
 * GcsObjectStore uploads to one Cloud Storage bucket. Uploads use the JSON
 * API resumable protocol (resumableUpload): the body streams through in
 * chunks (no copy on disk), CRC32C (crc32c.ts) and
 * SHA-256 are computed on the way, and the CRC32C goes to GCS with the final
 * request (`X-Goog-Hash`) so GCS refuses a corrupted object instead of storing
 * it. A refused upload is retried from a fresh stream when the body is a
 * factory, and never accepted. Small objects (build.log, kbuild.json) take the
 * same path: one session start and one final PUT that carries the hash.
 *
 * Why not `File#createWriteStream` of @google-cloud/storage 8.x: its
 * resumable path does not pass the streamed CRC32C to the upload (the internal
 * Upload class supports `crc32c`, but `startResumableUpload_` does not set it
 * and the module is not exported), so `validation: 'crc32c'` only compares
 * after the object is committed and then deletes it, which briefly exposes
 * bad bytes and destroys the previous version; and for a custom endpoint its
 * resumable uploads are sent without credentials. The library is used for
 * reading (`read`, with its CRC32C validation) with the TokenSource as its
 * auth client.
 *
 * Every request carries `Authorization: Bearer` from the TokenSource; without
 * one only a non-Google endpoint (an emulator) is accepted.
 */
class GcsObjectStore {
    #o;
    #api;
    #storage;
    constructor(options) {
        if (!BUCKET_RE.test(options.bucket)) {
            throw new Error(`invalid bucket "${options.bucket}": use a bucket name such as my-artifacts (no gs://)`);
        }
        const api = (options.apiEndpoint ?? DEFAULT_API)
            .replace(/\/+$/, '')
            .replace(/\/storage\/v1$/, '');
        if (!options.tokenSource && /(^|\.)googleapis\.com$/.test(new URL(api).hostname)) {
            throw new Error(`uploading to ${api} needs credentials: pass a tokenSource`);
        }
        const chunk = options.chunkSize ?? 8 * 1024 * 1024;
        if (chunk <= 0 || chunk % GCS_CHUNK_ALIGN !== 0) {
            throw new Error(`invalid chunk size ${chunk}: use a multiple of ${GCS_CHUNK_ALIGN} bytes`);
        }
        this.#o = { ...options, chunkSize: chunk };
        this.#api = api;
    }
    /** uri returns `gs://BUCKET/NAME`. */
    uri(name) {
        return `gs://${this.#o.bucket}/${name}`;
    }
    /**
     * upload streams `body` to the object `name` (see the class comment).
     * Throws ChecksumMismatchError when the last attempt is refused, or when a
     * single Readable was refused (it cannot be replayed); GoogleApiError for
     * API errors, after retries with backoff on 429/5xx.
     */
    async upload(name, body, opts = {}) {
        if (!name || name.startsWith('/') || name.length > 1024) {
            throw new Error(`invalid object name "${name}": use a relative name of at most 1024 bytes`);
        }
        const attempts = typeof body === 'function' ? Math.max(1, this.#o.attempts ?? 3) : 1;
        for (let attempt = 1;; attempt++) {
            const stream = typeof body === 'function' ? body() : body;
            try {
                const done = await resumableUpload({
                    apiEndpoint: this.#api,
                    bucket: this.#o.bucket,
                    name,
                    body: stream,
                    contentType: opts.contentType,
                    size: opts.size,
                    chunkSize: this.#o.chunkSize ?? 0,
                    authorization: () => this.#authorization(),
                    fetch: this.#o.fetch,
                    retry: this.#o.retry,
                });
                return {
                    name,
                    size: done.size,
                    crc32c: done.crc32c,
                    ...(done.metadata.md5Hash ? { md5: done.metadata.md5Hash } : {}),
                    sha256: done.sha256,
                    uri: this.uri(name),
                };
            }
            catch (error) {
                stream.destroy();
                const replayable = error instanceof ChecksumMismatchError || error instanceof UploadSessionLostError;
                if (!replayable || attempt >= attempts) {
                    if (replayable && typeof body !== 'function') {
                        error.message += '; the body was a single stream and cannot be sent again';
                    }
                    throw error;
                }
            }
        }
    }
    /** read opens `name` for reading through @google-cloud/storage, which validates the CRC32C at the end. */
    read(name) {
        return Promise.resolve(this.#client().bucket(this.#o.bucket).file(name).createReadStream({ validation: 'crc32c' }));
    }
    async #authorization() {
        if (!this.#o.tokenSource)
            return undefined;
        const { token } = await this.#o.tokenSource.getAccessToken();
        return `Bearer ${token}`;
    }
    /**
     * #client returns a @google-cloud/storage client whose auth client is an
     * OAuth2Client with a `refreshHandler` over the TokenSource (the documented
     * way to feed external tokens to google-auth-library).
     */
    #client() {
        if (this.#storage)
            return this.#storage;
        const source = this.#o.tokenSource;
        const authClient = new src.OAuth2Client();
        if (source) {
            authClient.refreshHandler = async () => {
                const { token, expiresAt } = await source.getAccessToken();
                return { access_token: token, expiry_date: expiresAt };
            };
        }
        this.#storage = new esm_src/* Storage */.wc({
            apiEndpoint: this.#api,
            ...(source ? { authClient, useAuthWithCustomEndpoint: true } : {}),
            retryOptions: { autoRetry: true, maxRetries: 4 },
        });
        return this.#storage;
    }
}

;// CONCATENATED MODULE: ./build/src/core/connect.js






/**
 * tokenSourceFor answers the credentials of the auth inputs: WIF when a
 * provider is set (needs getIdToken, i.e. `permissions: id-token: write`),
 * else ADC. Throws naming the missing permission.
 */
function tokenSourceFor(auth, o) {
    if (auth.workloadIdentityProvider) {
        const getIdToken = o.getIdToken;
        if (!getIdToken) {
            throw new Error('workload_identity_provider needs a GitHub OIDC token: add `permissions: id-token: write` to the job');
        }
        return new WorkloadIdentityTokenSource({
            getIdToken,
            workloadIdentityProvider: auth.workloadIdentityProvider,
            ...(auth.serviceAccount ? { serviceAccount: auth.serviceAccount } : {}),
            ...(auth.audience ? { audience: auth.audience } : {}),
            endpoints: { sts: o.endpoints.sts, iamcredentials: o.endpoints.iamcredentials },
            mask: o.mask,
        });
    }
    return new AdcTokenSource({ mask: o.mask });
}
/**
 * connect builds the clients. The GKE lookup (`clusters.get`) runs here, so a
 * wrong cluster or a missing permission fails before anything is created.
 */
async function connect(auth, o) {
    const storageIsGoogle = o.endpoints.storage === endpoints/* DEFAULT_ENDPOINTS */.n.storage;
    const needToken = !auth.kubeconfig ||
        (o.bucket !== undefined && (storageIsGoogle || auth.workloadIdentityProvider));
    const tokenSource = needToken ? tokenSourceFor(auth, o) : undefined;
    let kubeConfig;
    let clusterName;
    if (auth.kubeconfig) {
        kubeConfig = kubeConfigFromFile(auth.kubeconfig);
        clusterName = auth.kubeconfig;
    }
    else {
        const c = auth.cluster;
        if (!c?.project || !c.location || !tokenSource) {
            throw new Error('input "cluster" needs a project and a location (inputs "project_id" and "location")');
        }
        const info = await getCluster({ project: c.project, location: c.location, name: c.name }, tokenSource, o.endpoints.container);
        kubeConfig = kubeConfigFor(info, tokenSource);
        clusterName = `projects/${c.project}/locations/${c.location}/clusters/${c.name}`;
    }
    const store = o.bucket
        ? new GcsObjectStore({
            bucket: o.bucket,
            apiEndpoint: o.endpoints.storage,
            ...(tokenSource ? { tokenSource } : {}),
        })
        : undefined;
    return {
        kube: new ClientNodeKubeApi(kubeConfig),
        kubeConfig,
        ...(store ? { store } : {}),
        ...(tokenSource ? { tokenSource } : {}),
        clusterName,
    };
}


/***/ }),

/***/ 3677:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   d: () => (/* binding */ createCrc32c)
/* harmony export */ });
/* harmony import */ var hash_wasm__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(70608);
/**
 * crc32c.ts: CRC32C (Castagnoli, RFC 3720) of streamed data, in the form GCS
 * uses: base64 of the big-endian 32-bit value (GCS docs "Hashes and ETags").
 *
 * hash-wasm's WebAssembly CRC-32 with the Castagnoli polynomial (0x82F63B78,
 * reflected) hashes about 1.4 GiB/s on the lab machine; @google-cloud/storage's
 * `CRC32C` class walks the bytes one at a time in JavaScript at about
 * 56 MiB/s, which made the checksum the bottleneck of artifact uploads
 * (docs/benchmarks.md, bench/upload.ts). The results are identical
 * (test/unit/crc32c.test.ts checks them against that class).
 */

/** CASTAGNOLI is the reflected CRC32C polynomial. */
const CASTAGNOLI = 0x82f63b78;
/** createCrc32c answers a fresh CRC32C accumulator (each has its own WebAssembly instance). */
async function createCrc32c() {
    const hasher = await (0,hash_wasm__WEBPACK_IMPORTED_MODULE_0__.createCRC32)(CASTAGNOLI);
    hasher.init();
    let digest;
    return {
        update(data) {
            if (digest !== undefined)
                throw new Error('CRC32C: update after toString');
            hasher.update(data);
        },
        toString() {
            digest ??= Buffer.from(hasher.digest('binary')).toString('base64');
            return digest;
        },
    };
}


/***/ }),

/***/ 40729:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   W: () => (/* binding */ KubeApiError)
/* harmony export */ });
/** KubeApiError: a failed API call, with the HTTP status and the server's reason and message. */
class KubeApiError extends Error {
    status;
    reason;
    constructor(status, reason, message) {
        super(message);
        this.name = 'KubeApiError';
        this.status = status;
        this.reason = reason;
    }
}


/***/ })

};
