export const id = 84;
export const ids = [84];
export const modules = {

/***/ 9473:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   _y: () => (/* binding */ finishDispatch),
/* harmony export */   ff: () => (/* binding */ TERMINAL),
/* harmony export */   sI: () => (/* binding */ buildKey)
/* harmony export */ });
/* unused harmony exports dispatchedBuild, dispatchSummary */
/* harmony import */ var _actions_core__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(14116);
/* harmony import */ var _summary_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(46192);
/**
 * dispatch-summary.ts: the outputs and job summary of mode `dispatch`: the `builds` output (a
 * JSON list, one item per build), one summary row per build, and the step's failure naming the
 * builds that did not succeed.
 */


/** TERMINAL: dispatcher statuses after which a build changes no more. */
const TERMINAL = new Set(['succeeded', 'failed', 'skipped']);
/** buildKey names a build in messages: `package/arch`. */
const buildKey = (b) => `${b.package}/${b.arch}`;
/** dispatchedBuild merges what the dispatcher reported and what the step saw of one build. */
function dispatchedBuild(t, dispatchId, waited) {
    const r = t.result;
    const mine = waited && t.shown && t.report.status !== 'skipped';
    const status = r.status === 'cancelled' ? 'cancelled' : mine ? r.status : t.report.status;
    return {
        dispatch_id: dispatchId,
        package: t.report.package,
        arch: t.report.arch,
        build_id: t.report.build_id,
        job_name: t.report.job_name,
        status,
        reason: (mine && r.reason) || t.report.reason,
        message: (mine && r.message) || t.report.message,
        exit_code: r.exitCode ?? null,
        node_name: r.nodeName ?? '',
        artifacts_uri: r.artifactsUri ?? '',
        artifacts: r.artifacts.map(({ name, size, crc32c, sha256, uri }) => ({
            name,
            size,
            crc32c,
            sha256,
            uri,
        })),
        log_uri: r.logUri ?? '',
    };
}
const cell = (s) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
/** dispatchSummary renders the job summary: one row per build. */
function dispatchSummary(dispatchId, tracked, builds) {
    let md = `### kbuild dispatch \`${dispatchId}\`\n\n| Package | Arch | Status | Node pool | Ran | Artifacts | Details |\n|---|---|---|---|---|---|---|\n`;
    for (const [i, b] of builds.entries()) {
        const r = tracked[i].result;
        const size = r.artifacts.reduce((n, a) => n + a.size, 0);
        const log = r.logUri ? ` [log](${(0,_summary_js__WEBPACK_IMPORTED_MODULE_1__/* .consoleLink */ .i1)(r.logUri)})` : '';
        const arts = r.artifacts.length > 0 ? `${r.artifacts.length} (${(0,_summary_js__WEBPACK_IMPORTED_MODULE_1__/* .humanSize */ .Xe)(size)})${log}` : log || '-';
        const exit = b.exit_code !== null ? ` (exit ${b.exit_code})` : '';
        const ran = r.buildSeconds !== undefined ? `${Math.round(r.buildSeconds)}s` : '-';
        const details = b.status === 'succeeded' ? '' : `${b.reason}: ${b.message.split('\n')[0]}`;
        md += `| ${cell(b.package)} | ${b.arch} | ${b.status}${exit} | ${r.nodePool ?? '-'} | ${ran} | ${arts} | ${cell(details)} |\n`;
    }
    return md;
}
/**
 * finishDispatch writes the `builds` output and the summary, and answers the exit code: with
 * wait, 1 (and the step fails naming each build that did not succeed) unless all succeeded.
 */
async function finishDispatch(dispatchId, tracked, reporter, waited) {
    const builds = tracked.map((t) => dispatchedBuild(t, dispatchId, waited));
    _actions_core__WEBPACK_IMPORTED_MODULE_0__/* .setOutput */ .uH('builds', JSON.stringify(builds));
    await _actions_core__WEBPACK_IMPORTED_MODULE_0__/* .summary */ .z.addRaw(dispatchSummary(dispatchId, tracked, builds), true).write();
    const bad = builds.filter((b) => b.status !== 'succeeded');
    if (!waited || bad.length === 0) {
        reporter.info(waited
            ? `All ${builds.length} builds succeeded`
            : `Dispatched ${builds.length} builds (wait: false)`);
        return 0;
    }
    const list = bad
        .map((b) => `${b.package} (${b.arch}) ${b.status}: ${b.message.split('\n')[0]}`)
        .join('; ');
    // Through the reporter, which turns workflow commands back on first; main sets the exit code.
    reporter.error(`${bad.length} of ${builds.length} builds did not succeed: ${list}`);
    return 1;
}


/***/ }),

/***/ 56084:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  runDispatchMode: () => (/* binding */ runDispatchMode)
});

// UNUSED EXPORTS: parseDependencies, validateDispatchInputs

// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(51455);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(48161);
// EXTERNAL MODULE: ./node_modules/@actions/core/lib/core.js + 15 modules
var core = __webpack_require__(14116);
// EXTERNAL MODULE: ./build/src/core/auth-config.js
var auth_config = __webpack_require__(96682);
// EXTERNAL MODULE: ./build/src/core/endpoints.js
var endpoints = __webpack_require__(46463);
// EXTERNAL MODULE: ./build/src/core/context.js + 1 modules
var context = __webpack_require__(6274);
// EXTERNAL MODULE: ./build/src/core/errors.js
var errors = __webpack_require__(43026);
// EXTERNAL MODULE: ./build/src/core/permissions.js
var permissions = __webpack_require__(74065);
// EXTERNAL MODULE: ./build/src/core/inputs-schema.js
var inputs_schema = __webpack_require__(38742);
// EXTERNAL MODULE: ./build/src/core/parse.js
var parse = __webpack_require__(11874);
// EXTERNAL MODULE: ./build/src/core/report.js
var report = __webpack_require__(15299);
// EXTERNAL MODULE: ./build/src/core/spec.js
var spec = __webpack_require__(20258);
;// CONCATENATED MODULE: ./node_modules/jose/dist/webapi/lib/buffer_utils.js
const buffer_utils_encoder = new TextEncoder(), decoder = new TextDecoder(), buffer_utils_strictDecoder = new TextDecoder("utf-8", { fatal: !0 }), UINT32_RANGE = (/* unused pure expression or super */ null && (2 ** 32));
function concat(...buffers) {
  const size = buffers.reduce((acc, { length }) => acc + length, 0), buf = new Uint8Array(size);
  let i = 0;
  for (const buffer of buffers)
    buf.set(buffer, i), i += buffer.length;
  return buf;
}
function writeUInt32BE(buf, value, offset) {
  if (value < 0 || value >= UINT32_RANGE)
    throw new RangeError(`value must be >= 0 and <= ${UINT32_RANGE - 1}. Received ${value}`);
  buf.set([value >>> 24, value >>> 16, value >>> 8, value & 255], offset);
}
function uint64be(value) {
  const high = Math.floor(value / UINT32_RANGE), low = value % UINT32_RANGE, buf = new Uint8Array(8);
  return writeUInt32BE(buf, high, 0), writeUInt32BE(buf, low, 4), buf;
}
function uint32be(value) {
  const buf = new Uint8Array(4);
  return writeUInt32BE(buf, value), buf;
}
const NON_ASCII = /[^\x00-\x7f]/;
function buffer_utils_encode(string) {
  if (typeof string == "string" && string.length >= 128) {
    if (NON_ASCII.test(string))
      throw new TypeError("non-ASCII string encountered in encode()");
    return buffer_utils_encoder.encode(string);
  }
  const bytes = new Uint8Array(string.length);
  for (let i = 0; i < string.length; i++) {
    const code = string.charCodeAt(i);
    if (code > 127)
      throw new TypeError("non-ASCII string encountered in encode()");
    bytes[i] = code;
  }
  return bytes;
}
function buffer_utils_encodeBase64(input, url = !1) {
  if (Uint8Array.prototype.toBase64)
    return input.toBase64({ alphabet: url ? "base64url" : "base64", omitPadding: url });
  const CHUNK_SIZE = 32768, arr = [];
  for (let i = 0; i < input.length; i += CHUNK_SIZE)
    arr.push(String.fromCharCode.apply(null, input.subarray(i, i + CHUNK_SIZE)));
  const encoded = btoa(arr.join(""));
  return url ? encoded.replace(/=/g, "").replace(/\+/g, "-").replace(/\//g, "_") : encoded;
}
function decodeBase64(encoded, url = !1) {
  if (Uint8Array.fromBase64)
    return Uint8Array.fromBase64(encoded, { alphabet: url ? "base64url" : "base64" });
  if (url) {
    if (encoded.includes("+") || encoded.includes("/"))
      throw new TypeError("Invalid base64url");
    encoded = encoded.replace(/-/g, "+").replace(/_/g, "/");
  }
  const binary = atob(encoded), bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++)
    bytes[i] = binary.charCodeAt(i);
  return bytes;
}
async function digest(algorithm, data) {
  const subtleDigest = `SHA-${algorithm.slice(-3)}`;
  return new Uint8Array(await crypto.subtle.digest(subtleDigest, data));
}


;// CONCATENATED MODULE: ./node_modules/jose/dist/webapi/util/base64url.js

const invalid = "The input to be decoded is not correctly encoded.";
function base64url_decode(input) {
  try {
    return decodeBase64(typeof input == "string" ? input : decoder.decode(input), !0);
  } catch (cause) {
    throw new TypeError(invalid, { cause });
  }
}
function base64url_encode(input) {
  return encodeBase64(typeof input == "string" ? encoder.encode(input) : input, !0);
}


;// CONCATENATED MODULE: ./node_modules/jose/dist/webapi/lib/validate.js



function assertUint8Array(input, label) {
  if (!(input instanceof Uint8Array))
    throw new TypeError(`${label} must be an instance of Uint8Array`);
}
function isObject(input) {
  if (typeof input != "object" || input === null || Object.prototype.toString.call(input) !== "[object Object]")
    return !1;
  const prototype = Object.getPrototypeOf(input);
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}
function isJwkSet(input) {
  return isObject(input) && Array.isArray(input.keys) && Array.from(input.keys).every(isObject);
}
function isDisjoint(...headers) {
  const parameters = /* @__PURE__ */ new Set();
  for (const header of headers)
    if (header)
      for (const parameter of Object.keys(header)) {
        if (parameters.has(parameter))
          return !1;
        parameters.add(parameter);
      }
  return !0;
}
function assertNotSet(value, name) {
  if (value !== void 0)
    throw new TypeError(`${name} can only be called once`);
}
function decodeBase64url(value, label, ErrorClass) {
  try {
    return decode(value);
  } catch (cause) {
    throw new ErrorClass(`Failed to base64url decode the ${label}`, { cause });
  }
}
function encodeAsciiMember(value, label, ErrorClass) {
  try {
    return encode(value);
  } catch (cause) {
    throw new ErrorClass(`The ${label} is not a valid base64url string`, { cause });
  }
}
function parseJoseHeader(encodedProtectedHeader, ErrorClass, message) {
  let parsed;
  try {
    parsed = JSON.parse(strictDecoder.decode(decode(encodedProtectedHeader)));
  } catch (cause) {
    throw new ErrorClass(message, { cause });
  }
  if (!isObject(parsed))
    throw new ErrorClass(message);
  return parsed;
}
const JWS_RECOGNIZED = { __proto__: null, b64: !0 }, JWE_RECOGNIZED = { __proto__: null };
function validateAlgorithms(option, algorithms) {
  if (algorithms !== void 0 && (!Array.isArray(algorithms) || algorithms.some((s) => typeof s != "string")))
    throw new TypeError(`"${option}" option must be an array of strings`);
  return algorithms === void 0 ? void 0 : new Set(algorithms);
}
function validateCritDuplicates(Err, protectedHeader) {
  const { crit } = protectedHeader ?? {};
  if (Array.isArray(crit) && new Set(crit).size !== crit.length)
    throw new Err('"crit" (Critical) Header Parameter MUST NOT contain duplicate values');
}
function validateCrit(Err, recognizedDefault, recognizedOption, protectedHeader, joseHeader) {
  if (joseHeader.crit !== void 0 && protectedHeader?.crit === void 0)
    throw new Err('"crit" (Critical) Header Parameter MUST be integrity protected');
  if (!protectedHeader || protectedHeader.crit === void 0)
    return [];
  if (!Array.isArray(protectedHeader.crit) || protectedHeader.crit.length === 0 || protectedHeader.crit.some((input) => typeof input != "string" || input.length === 0))
    throw new Err('"crit" (Critical) Header Parameter MUST be an array of non-empty strings when present');
  const recognized = recognizedOption === void 0 ? recognizedDefault : { __proto__: null, ...recognizedOption, ...recognizedDefault };
  for (const parameter of protectedHeader.crit) {
    if (!(parameter in recognized))
      throw new JOSENotSupported(`Extension Header Parameter "${parameter}" is not recognized`);
    if (!Object.hasOwn(joseHeader, parameter) || joseHeader[parameter] === void 0)
      throw new Err(`Extension Header Parameter "${parameter}" is missing`);
    if (recognized[parameter] && (!Object.hasOwn(protectedHeader, parameter) || protectedHeader[parameter] === void 0))
      throw new Err(`Extension Header Parameter "${parameter}" MUST be integrity protected`);
  }
  return protectedHeader.crit;
}
function validateB64(protectedHeader, extensions) {
  if (extensions.includes("b64")) {
    const b64 = protectedHeader.b64;
    if (typeof b64 != "boolean")
      throw new JWSInvalid('The "b64" (base64url-encode payload) Header Parameter must be a boolean');
    return b64;
  }
  return !0;
}
function serializeJoseHeader(Err, header) {
  let serialized, parsed;
  try {
    serialized = JSON.stringify(header), parsed = JSON.parse(serialized);
  } catch (cause) {
    throw new Err("JOSE Header is not valid JSON", { cause });
  }
  if (!isObject(parsed))
    throw new Err("JOSE Header is not a JSON object");
  return [parsed, serialized];
}


;// CONCATENATED MODULE: ./node_modules/jose/dist/webapi/util/errors.js
class JOSEError extends Error {
  static code = "ERR_JOSE_GENERIC";
  code = "ERR_JOSE_GENERIC";
  constructor(message, options) {
    super(message, options), this.name = this.constructor.name, Error.captureStackTrace?.(this, this.constructor);
  }
}
class JWTClaimValidationFailed extends JOSEError {
  static code = "ERR_JWT_CLAIM_VALIDATION_FAILED";
  code = "ERR_JWT_CLAIM_VALIDATION_FAILED";
  claim;
  reason;
  payload;
  constructor(message, payload, claim = "unspecified", reason = "unspecified") {
    super(message, { cause: { claim, reason, payload } }), this.claim = claim, this.reason = reason, this.payload = payload;
  }
}
class JWTExpired extends JOSEError {
  static code = "ERR_JWT_EXPIRED";
  code = "ERR_JWT_EXPIRED";
  claim;
  reason;
  payload;
  constructor(message, payload, claim = "unspecified", reason = "unspecified") {
    super(message, { cause: { claim, reason, payload } }), this.claim = claim, this.reason = reason, this.payload = payload;
  }
}
class JOSEAlgNotAllowed extends (/* unused pure expression or super */ null && (JOSEError)) {
  static code = (/* unused pure expression or super */ null && ("ERR_JOSE_ALG_NOT_ALLOWED"));
  code = "ERR_JOSE_ALG_NOT_ALLOWED";
}
class errors_JOSENotSupported extends (/* unused pure expression or super */ null && (JOSEError)) {
  static code = (/* unused pure expression or super */ null && ("ERR_JOSE_NOT_SUPPORTED"));
  code = "ERR_JOSE_NOT_SUPPORTED";
}
class JWEDecryptionFailed extends JOSEError {
  static code = "ERR_JWE_DECRYPTION_FAILED";
  code = "ERR_JWE_DECRYPTION_FAILED";
  constructor(message = "decryption operation failed", options) {
    super(message, options);
  }
}
class JWEInvalid extends (/* unused pure expression or super */ null && (JOSEError)) {
  static code = (/* unused pure expression or super */ null && ("ERR_JWE_INVALID"));
  code = "ERR_JWE_INVALID";
}
class errors_JWSInvalid extends (/* unused pure expression or super */ null && (JOSEError)) {
  static code = (/* unused pure expression or super */ null && ("ERR_JWS_INVALID"));
  code = "ERR_JWS_INVALID";
}
class JWTInvalid extends JOSEError {
  static code = "ERR_JWT_INVALID";
  code = "ERR_JWT_INVALID";
}
class JWKInvalid extends (/* unused pure expression or super */ null && (JOSEError)) {
  static code = (/* unused pure expression or super */ null && ("ERR_JWK_INVALID"));
  code = "ERR_JWK_INVALID";
}
class JWKSInvalid extends (/* unused pure expression or super */ null && (JOSEError)) {
  static code = (/* unused pure expression or super */ null && ("ERR_JWKS_INVALID"));
  code = "ERR_JWKS_INVALID";
}
class JWKSNoMatchingKey extends JOSEError {
  static code = "ERR_JWKS_NO_MATCHING_KEY";
  code = "ERR_JWKS_NO_MATCHING_KEY";
  constructor(message = "no applicable key found in the JSON Web Key Set", options) {
    super(message, options);
  }
}
class JWKSMultipleMatchingKeys extends JOSEError {
  [Symbol.asyncIterator] = async function* () {
  };
  static code = "ERR_JWKS_MULTIPLE_MATCHING_KEYS";
  code = "ERR_JWKS_MULTIPLE_MATCHING_KEYS";
  constructor(message = "multiple matching keys found in the JSON Web Key Set", options) {
    super(message, options);
  }
}
class JWKSTimeout extends JOSEError {
  static code = "ERR_JWKS_TIMEOUT";
  code = "ERR_JWKS_TIMEOUT";
  constructor(message = "request timed out", options) {
    super(message, options);
  }
}
class JWSSignatureVerificationFailed extends JOSEError {
  static code = "ERR_JWS_SIGNATURE_VERIFICATION_FAILED";
  code = "ERR_JWS_SIGNATURE_VERIFICATION_FAILED";
  constructor(message = "signature verification failed", options) {
    super(message, options);
  }
}


;// CONCATENATED MODULE: ./node_modules/jose/dist/webapi/util/decode_jwt.js




function decodeJwt(jwt) {
  if (typeof jwt != "string")
    throw new JWTInvalid("JWTs must use Compact JWS serialization, JWT must be a string");
  const { 1: encodedPayload, length } = jwt.split(".");
  if (length === 5)
    throw new JWTInvalid("Only JWTs using Compact JWS serialization can be decoded");
  if (length !== 3)
    throw new JWTInvalid("Invalid JWT");
  if (!encodedPayload)
    throw new JWTInvalid("JWTs must contain a payload");
  let claimsSetBytes;
  try {
    claimsSetBytes = base64url_decode(encodedPayload);
  } catch (cause) {
    throw new JWTInvalid("Failed to base64url decode the payload", { cause });
  }
  let claimsSet;
  try {
    claimsSet = JSON.parse(buffer_utils_strictDecoder.decode(claimsSetBytes));
  } catch (cause) {
    throw new JWTInvalid("Failed to parse the decoded payload as JSON", { cause });
  }
  if (!isObject(claimsSet))
    throw new JWTInvalid("Invalid JWT Claims Set");
  return claimsSet;
}


// EXTERNAL MODULE: ./node_modules/p-retry/index.js + 1 modules
var p_retry = __webpack_require__(74995);
;// CONCATENATED MODULE: ./build/src/core/dispatch/client.js
// client.ts: a client of the dispatcher's HTTP API (docs/dispatcher.md) for the action's
// `dispatch` mode and the CLI: a fresh GitHub OIDC token per call, retries with backoff on
// 429, 5xx and network failures, and refusals as DispatcherError with the server's reason.


/** DispatcherError is an answer other than 2xx: the HTTP status and the JSON refusal. */
class DispatcherError extends Error {
    status;
    body;
    constructor(status, body, what) {
        const detail = [
            body.rule && `rule ${body.rule}`,
            body.field && `field ${body.field}`,
            body.code,
        ]
            .filter(Boolean)
            .join(', ');
        super(`${what}: HTTP ${status} ${body.error ?? ''}${detail ? ` (${detail})` : ''}: ${body.reason ?? 'no reason given'}`);
        this.name = 'DispatcherError';
        this.status = status;
        this.body = body;
    }
}
/** DispatcherClient calls the dispatcher; every method throws DispatcherError on a refusal. */
class DispatcherClient {
    #o;
    #base;
    #cached;
    constructor(o) {
        this.#o = o;
        this.#base = o.url.replace(/\/+$/, '');
    }
    /** create sends `POST /v1/dispatches`; retrying it is safe (the same request finds the same builds). */
    create(body) {
        return this.#call('POST', '/v1/dispatches', 'create the dispatch', body);
    }
    /** status sends `GET /v1/dispatches/{id}` (which also moves the dispatch on). */
    status(id) {
        return this.#call('GET', `/v1/dispatches/${encodeURIComponent(id)}`, `read dispatch ${id}`);
    }
    /** cancel sends `DELETE /v1/dispatches/{id}`. */
    cancel(id) {
        return this.#call('DELETE', `/v1/dispatches/${encodeURIComponent(id)}`, `cancel dispatch ${id}`);
    }
    /**
     * #token reuses a token while it has more than a minute left (its `exp`), so a long wait does
     * not ask the runner for a new one every few seconds; an undecodable token is never reused.
     */
    async #token() {
        const now = Date.now() / 1000;
        if (this.#cached && this.#cached.exp - now > 60)
            return this.#cached.token;
        const token = await this.#o.token(this.#o.url);
        try {
            const { exp } = decodeJwt(token);
            this.#cached = typeof exp === 'number' ? { token, exp } : undefined;
        }
        catch {
            this.#cached = undefined;
        }
        return token;
    }
    async #call(method, path, what, body) {
        const fetchFn = this.#o.fetch ?? globalThis.fetch;
        return (0,p_retry/* default */.Ay)(async () => {
            const token = await this.#token();
            let res;
            try {
                res = await fetchFn(`${this.#base}${path}`, {
                    method,
                    headers: {
                        authorization: `Bearer ${token}`,
                        accept: 'application/json',
                        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
                    },
                    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
                    signal: AbortSignal.timeout(60_000),
                });
            }
            catch (err) {
                throw new Error(`${what}: ${this.#base} cannot be reached: ${err.message}`, {
                    cause: err,
                });
            }
            const text = await res.text();
            let json;
            try {
                json = JSON.parse(text);
            }
            catch {
                json = { reason: text.slice(0, 300) };
            }
            if (res.ok)
                return json;
            const err = new DispatcherError(res.status, json, what);
            if (res.status === 401)
                this.#cached = undefined;
            if (res.status === 429 || res.status >= 500)
                throw err;
            throw new p_retry/* AbortError */.lc(err);
        }, { retries: this.#o.retries ?? 4, minTimeout: this.#o.minTimeoutMs ?? 1000, randomize: true });
    }
}

// EXTERNAL MODULE: ./build/src/core/formats.js
var formats = __webpack_require__(25885);
// EXTERNAL MODULE: ./build/src/core/spec-fields.js
var spec_fields = __webpack_require__(20130);
;// CONCATENATED MODULE: ./build/src/core/dispatch/request.js
// request.ts: the body of `POST /v1/dispatches`, checked field by field. Every refusal is a
// RequestError naming the field (HTTP 400); values are checked with the core's parsers. The
// dispatcher parses the bodies it receives with it, the action's mode dispatch the body it sends.



/** RequestError is a 400: the field of the body and what is wrong with it. */
class RequestError extends Error {
    field;
    constructor(field, message) {
        super(message);
        this.name = 'RequestError';
        this.field = field;
    }
}
/** REQUEST_FIELDS lists the fields of the body; others are refused. */
const REQUEST_FIELDS = [
    'packages',
    'archs',
    'image',
    'command',
    'package_target',
    'cpu',
    'memory',
    'env',
    'timeout',
    'ref',
    'sha',
    'dependencies',
    'queue_name',
    'privileged',
    'bucket',
    'artifacts_path',
    'stage',
];
const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
/** wrap runs a core parser and turns its error into a RequestError for field. */
function wrap(field, fn) {
    try {
        return fn();
    }
    catch (err) {
        throw new RequestError(field, err.message.replace(/\binput "([a-z_]+)"/g, 'field "$1"'));
    }
}
/** list reads a field that is a JSON list of strings or one string of space/comma separated items. */
function list(field, v) {
    const items = typeof v === 'string' ? v.split(/[\s,]+/) : v;
    if (!Array.isArray(items) || items.some((i) => typeof i !== 'string')) {
        throw new RequestError(field, `field "${field}" must be a list of strings`);
    }
    const out = [...new Set(items.map((i) => i.trim()).filter((i) => i !== ''))];
    if (out.length === 0)
        throw new RequestError(field, `field "${field}" is empty`);
    return out;
}
function optionalString(b, field) {
    const v = b[field];
    if (v === undefined || v === null)
        return undefined;
    if (typeof v !== 'string')
        throw new RequestError(field, `field "${field}" must be a string`);
    return v;
}
function quantity(b, field, fallback) {
    const v = b[field] ?? fallback;
    if (typeof v !== 'string' && typeof v !== 'number') {
        throw new RequestError(field, `field "${field}" must be a Kubernetes quantity string`);
    }
    return wrap(field, () => (0,parse/* parseQuantity */.Lf)(field, String(v), field === 'cpu' ? 'millicores' : 'bytes'));
}
function envOf(v) {
    if (v === undefined || v === null)
        return {};
    if (typeof v !== 'object' || Array.isArray(v)) {
        throw new RequestError('env', 'field "env" must be an object of NAME: "value" strings');
    }
    for (const [k, val] of Object.entries(v)) {
        if (!(0,parse/* isEnvName */.Xc)(k))
            throw new RequestError('env', `invalid variable name ${JSON.stringify(k)} in field "env": use letters, digits and _, not starting with a digit`);
        if (typeof val !== 'string')
            throw new RequestError('env', `variable ${k} in field "env" must be a string`);
    }
    // Sorted, so the request hash does not depend on the order of the keys.
    return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)));
}
function dependenciesOf(v, packages) {
    if (v === undefined || v === null)
        return {};
    if (typeof v !== 'object' || Array.isArray(v)) {
        throw new RequestError('dependencies', 'field "dependencies" must be an object {package: [packages it needs]}');
    }
    const out = {};
    for (const [pkg, deps] of Object.entries(v)) {
        if (!packages.includes(pkg)) {
            throw new RequestError('dependencies', `field "dependencies" names package ${JSON.stringify(pkg)}, which is not in "packages"`);
        }
        const names = list('dependencies', deps).map((d) => wrap('dependencies', () => (0,spec_fields/* validatePackageName */.Eu)(d, 'dependencies')));
        if (names.includes(pkg))
            throw new RequestError('dependencies', `package ${pkg} depends on itself in field "dependencies"`);
        out[pkg] = names.filter((d) => packages.includes(d));
    }
    return out;
}
/**
 * parseDispatchRequest validates the JSON body of `POST /v1/dispatches`. Required: packages,
 * archs, image, ref, sha. Defaults: cpu 1, memory 2Gi, privileged false. Throws RequestError
 * naming the first bad field.
 */
function parseDispatchRequest(body) {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new RequestError('body', 'the body must be a JSON object (Content-Type: application/json)');
    }
    const b = body;
    for (const key of Object.keys(b)) {
        if (!REQUEST_FIELDS.includes(key)) {
            throw new RequestError(key, `unknown field "${key}"; fields: ${REQUEST_FIELDS.join(', ')}`);
        }
    }
    if (b.packages === undefined)
        throw new RequestError('packages', 'field "packages" is required: list the packages to build');
    const packages = list('packages', b.packages).map((p) => wrap('packages', () => (0,spec_fields/* validatePackageName */.Eu)(p)));
    if (b.archs === undefined)
        throw new RequestError('archs', 'field "archs" is required: list amd64, arm64 or both');
    const archs = [
        ...new Set(list('archs', b.archs).map((a) => wrap('archs', () => (0,parse/* parseArch */.CO)('archs', a)))),
    ];
    const image = optionalString(b, 'image');
    if (!image)
        throw new RequestError('image', 'field "image" is required: give the build image');
    const ref = optionalString(b, 'ref');
    if (!ref || !ref.startsWith('refs/'))
        throw new RequestError('ref', 'field "ref" is required: give the git ref, e.g. refs/heads/main');
    const sha = optionalString(b, 'sha');
    if (!sha || !SHA.test(sha))
        throw new RequestError('sha', 'field "sha" is required: give the 40 or 64 hex digit commit sha');
    for (const field of ['privileged', 'stage']) {
        if (b[field] !== undefined && typeof b[field] !== 'boolean')
            throw new RequestError(field, `field "${field}" must be true or false`);
    }
    const req = {
        packages,
        archs,
        image: wrap('image', () => (0,formats/* validateImageReference */.XX)('image', image)),
        cpu: quantity(b, 'cpu', '1'),
        memory: quantity(b, 'memory', '2Gi'),
        env: envOf(b.env),
        ref,
        sha,
        dependencies: dependenciesOf(b.dependencies, packages),
        privileged: b.privileged === true,
    };
    const command = optionalString(b, 'command');
    const packageTarget = optionalString(b, 'package_target');
    const timeout = optionalString(b, 'timeout');
    const queueName = optionalString(b, 'queue_name');
    const bucket = optionalString(b, 'bucket');
    const artifactsPath = optionalString(b, 'artifacts_path');
    if (command !== undefined)
        req.command = command;
    if (packageTarget !== undefined)
        req.packageTarget = packageTarget;
    if (timeout !== undefined)
        req.timeout = timeout;
    if (queueName)
        req.queueName = queueName;
    if (bucket)
        req.bucket = wrap('bucket', () => (0,formats/* validateBucketName */.EG)('bucket', bucket));
    // Only when true: requests without it keep the request hash they had before the field existed.
    if (b.stage === true)
        req.stage = true;
    if (artifactsPath !== undefined)
        req.artifactsPath = wrap('artifacts_path', () => (0,spec_fields/* validateArtifactsPath */.ff)(artifactsPath));
    levelsOf(req.packages, req.dependencies);
    return req;
}
/**
 * levelsOf orders packages in dependency levels: level 0 needs nothing of this request, level N
 * only packages of levels < N. Throws RequestError (field `dependencies`) naming the packages
 * of a cycle.
 */
function levelsOf(packages, deps) {
    const level = new Map();
    let rest = [...packages];
    for (let n = 0; rest.length > 0; n++) {
        const ready = rest.filter((p) => (deps[p] ?? []).every((d) => (level.get(d) ?? n) < n));
        if (ready.length === 0) {
            throw new RequestError('dependencies', `dependency cycle among packages ${cycleIn(rest, deps).join(' -> ')}: break it`);
        }
        for (const p of ready)
            level.set(p, n);
        rest = rest.filter((p) => !level.has(p));
    }
    return level;
}
/** cycleIn walks dependencies from the first stuck package until one repeats: that loop is a cycle. */
function cycleIn(stuck, deps) {
    const path = [];
    let at = stuck[0] ?? '';
    while (!path.includes(at)) {
        path.push(at);
        at = (deps[at] ?? []).find((d) => stuck.includes(d)) ?? at;
    }
    return [...path.slice(path.indexOf(at)), at];
}

;// CONCATENATED MODULE: ./build/src/core/dispatch/spec.js
/**
 * rawInputsOf maps a request onto the build inputs of one (package, arch) for validateBuildSpec
 * (also used by the action's dispatch mode, to find the same names and its destinations).
 */
function rawInputsOf(req, pkg, arch, namespace) {
    const raw = {
        namespace,
        image: req.image,
        packages: pkg,
        arch,
        cpu: req.cpu.canonical,
        memory: req.memory.canonical,
        privileged: String(req.privileged),
        // With stage, the pod waits for the caller's checkout; the path is the caller's business.
        context: req.stage ? '.' : '',
        kind: 'job',
        keep: 'true',
        watch: 'true',
    };
    if (req.command !== undefined)
        raw.command = req.command;
    if (req.packageTarget !== undefined)
        raw.package_target = req.packageTarget;
    if (req.timeout !== undefined)
        raw.timeout = req.timeout;
    if (req.queueName !== undefined)
        raw.queue_name = req.queueName;
    if (req.bucket !== undefined)
        raw.bucket = req.bucket;
    if (req.artifactsPath !== undefined)
        raw.artifacts_path = req.artifactsPath;
    return raw;
}

// EXTERNAL MODULE: ./build/src/action/dispatch-summary.js
var dispatch_summary = __webpack_require__(9473);
// EXTERNAL MODULE: ./build/src/action/reporter.js
var action_reporter = __webpack_require__(25359);
// EXTERNAL MODULE: ./build/src/action/state.js
var state = __webpack_require__(29049);
;// CONCATENATED MODULE: ./build/src/action/dispatch.js
/**
 * dispatch.ts: mode `dispatch` of the action. Sends the matrix (packages x archs) to the
 * dispatcher with the job's GitHub OIDC token (audience = dispatcher_url), and with `wait: true`
 * follows every build to its end: live progress lines, each build's complete log in its own
 * group once its build container ended (groups never interleave), its artifacts collected and
 * uploaded as in mode `build`, one summary row per build. Fails naming the builds that did not
 * succeed; on SIGINT/SIGTERM it cancels the dispatch (DELETE) before exiting.
 */



















/** POLL_MS: how often the dispatcher is asked (each GET also releases builds whose dependencies ended). */
const POLL_MS = 3000;
/**
 * validateDispatchInputs checks every input of mode `dispatch` before anything is sent: the body
 * with the dispatcher's own parser (a bad value names its input), and each build's spec.
 * Throws InputError.
 */
function validateDispatchInputs(raw, ctx) {
    const value = (n) => (0,inputs_schema/* inputValue */.UV)(raw, n);
    const url = (0,parse/* requireValue */.vd)('dispatcher_url', value('dispatcher_url'), 'the URL of the dispatcher');
    if (!/^https?:\/\/[^/\s]+/.test(url)) {
        throw new errors/* InputError */.dz('dispatcher_url', `invalid URL "${url}" for input "dispatcher_url": use https://HOST[/PATH]`);
    }
    if (value('secret_env') !== '') {
        throw new errors/* InputError */.dz('secret_env', 'input "secret_env" is not available in mode dispatch: the dispatcher takes no secrets');
    }
    const wait = (0,parse/* parseBoolean */.yG)('wait', value('wait'));
    const bucket = value('bucket') || undefined;
    const auth = (0,auth_config/* validateAuthConfig */.DS)(raw, { create: false });
    const reach = wait && Boolean(auth.cluster || auth.kubeconfig);
    // Only a step that follows the builds in the cluster can stage into them.
    const context = reach && value('context') !== '' ? value('context') : undefined;
    const dependencies = parseDependencies(value('dependencies'));
    const body = {
        packages: (0,parse/* parseList */.E1)(value('packages')),
        archs: (0,parse/* parseList */.E1)(value('archs')),
        image: value('image'),
        command: value('command'),
        package_target: value('package_target'),
        cpu: value('cpu'),
        memory: value('memory'),
        env: (0,parse/* parseKeyValueLines */.FF)('env', value('env')),
        timeout: value('timeout'),
        ref: ctx.ref,
        sha: ctx.sha,
        privileged: (0,parse/* parseBoolean */.yG)('privileged', value('privileged')),
        artifacts_path: value('artifacts_path'),
        ...(value('queue_name') ? { queue_name: value('queue_name') } : {}),
        ...(dependencies ? { dependencies } : {}),
        // Pods wait for a collector only when this step collects (wait) and uploads (bucket), and
        // for their source only when this step stages it.
        ...(wait && bucket ? { bucket } : {}),
        ...(context ? { stage: true } : {}),
    };
    const specs = new Map();
    try {
        const req = parseDispatchRequest(body);
        for (const pkg of req.packages) {
            for (const arch of req.archs) {
                const rawBuild = {
                    ...rawInputsOf(req, pkg, arch, value('namespace')),
                    destination: value('destination'),
                    ...(context ? { context } : {}),
                };
                specs.set((0,dispatch_summary/* buildKey */.sI)({ package: pkg, arch }), (0,spec/* validateBuildSpec */.uZ)(rawBuild, ctx));
            }
        }
    }
    catch (err) {
        if (!(err instanceof RequestError))
            throw err;
        throw new errors/* InputError */.dz(err.field, err.message.replace(/\bfield "/g, 'input "'));
    }
    const out = { url, body, wait, specs };
    if (reach)
        out.auth = auth;
    if (bucket)
        out.bucket = bucket;
    if (context)
        out.context = context;
    return out;
}
/**
 * parseDependencies reads input `dependencies`: empty, or a JSON object
 * `{"package": ["packages it needs"]}` (plan mode's `dependencies` output). Its names are checked
 * by the dispatcher's request parser. Throws InputError.
 */
function parseDependencies(text) {
    if (text.trim() === '')
        return undefined;
    let v;
    try {
        v = JSON.parse(text);
    }
    catch {
        v = undefined;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v))
        throw new errors/* InputError */.dz('dependencies', `invalid value for input "dependencies": use a JSON object {"package": ["packages it needs"]}, e.g. the \`dependencies\` output of mode plan (got ${JSON.stringify(text.slice(0, 80))})`);
    return v;
}
/**
 * runDispatchMode runs mode `dispatch`; resolves with the exit code (0 when every build
 * succeeded, or when not waiting). SIGINT/SIGTERM (signal) cancel the dispatch.
 */
async function runDispatchMode(raw, ctx, env, signal) {
    const input = validateDispatchInputs(raw, ctx);
    const reporter = new action_reporter/* ActionsReporter */.X();
    // Listed before anything is sent: a missing context directory fails the step up front.
    const files = input.context ? (await (0,context/* listContext */.Yr)(input.context)).files : undefined;
    // The Kubernetes and Google clients are most of the bundle: loaded once the inputs are valid.
    const [{ connect }, { DispatchFollower }] = await Promise.all([
        Promise.all(/* import() */[__webpack_require__.e(608), __webpack_require__.e(47), __webpack_require__.e(567)]).then(__webpack_require__.bind(__webpack_require__, 17567)),
        Promise.all(/* import() */[__webpack_require__.e(608), __webpack_require__.e(7), __webpack_require__.e(445)]).then(__webpack_require__.bind(__webpack_require__, 70593)),
    ]);
    const clients = input.auth
        ? await connect(input.auth, {
            endpoints: (0,endpoints/* endpointsFromEnv */.k)(env),
            getIdToken: (aud) => core/* getIDToken */.V9(aud),
            mask: (s) => core/* setSecret */.Pq(s),
            ...(input.bucket ? { bucket: input.bucket } : {}),
        })
        : undefined;
    const client = new DispatcherClient({ url: input.url, token: (aud) => core/* getIDToken */.V9(aud) });
    const created = await client.create(input.body);
    const id = created.dispatch_id;
    // The post step cancels a followed dispatch that this step leaves running (killed, timed out).
    if (input.wait)
        core/* saveState */.LZ(state/* STATE */.c4.dispatch, JSON.stringify({ url: input.url, id }));
    reporter.info(`Dispatch ${id}: ${created.builds.length} builds in namespace ${created.namespace} (${created.created} created, ${created.existing} existing)`);
    // This step follows the builds with its own identity: without the permissions for that, cancel
    // the dispatch (nothing is left running) and name what is missing. The namespace is the
    // dispatcher's, known from its answer.
    const missing = clients?.kube.canI
        ? await clients.kube.canI((0,permissions/* followPermissions */.ao)(created.namespace, {
            stage: input.context !== undefined,
            collect: input.bucket !== undefined,
        }))
        : [];
    if (missing.length > 0) {
        await client.cancel(id).catch(() => undefined);
        core/* saveState */.LZ(state/* STATE */.c4.finished, 'true');
        throw new permissions/* PermissionError */.i_(missing, created.namespace);
    }
    const work = await (0,promises_.mkdtemp)((0,external_node_path_.join)(env['RUNNER_TEMP'] || (0,external_node_os_.tmpdir)(), 'kbuild-dispatch-'));
    const follower = new DispatchFollower({
        dispatchId: id,
        specs: input.specs,
        ...(clients ? { clients } : {}),
        reporter,
        work,
        signal,
        ...(input.context && files ? { stage: { dir: input.context, files } } : {}),
    });
    const tracked = () => [...follower.tracked.values()];
    follower.update(created);
    try {
        if (!input.wait)
            return await (0,dispatch_summary/* finishDispatch */._y)(id, tracked(), reporter, false);
        if (!clients)
            reporter.warning('no "cluster" or "kubeconfig" input: following statuses only, without build logs or artifacts');
        for (let namespace = created.namespace;;) {
            await follower.showEnded(namespace);
            if (follower.done)
                break;
            await report/* systemClock */.m.sleep(POLL_MS, signal);
            if (signal.aborted)
                throw signal.reason;
            const now = await client.status(id);
            namespace = now.namespace;
            follower.update(now);
        }
        const code = await (0,dispatch_summary/* finishDispatch */._y)(id, tracked(), reporter, true);
        core/* saveState */.LZ(state/* STATE */.c4.finished, 'true');
        return code;
    }
    catch (err) {
        if (!signal.aborted)
            throw err;
        reporter.warning(`cancelling dispatch ${id}`);
        const c = await client
            .cancel(id)
            .catch((e) => reporter.error(`could not cancel dispatch ${id}: ${e.message}`));
        if (c)
            reporter.info(`Cancelled ${c.cancelled.length} builds: ${c.cancelled.map(dispatch_summary/* buildKey */.sI).join(', ') || 'none was still running'}`);
        if (c)
            core/* saveState */.LZ(state/* STATE */.c4.finished, 'true');
        for (const t of tracked())
            if (!dispatch_summary/* TERMINAL */.ff.has(t.report.status))
                t.result.status = 'cancelled';
        await (0,dispatch_summary/* finishDispatch */._y)(id, tracked(), reporter, true);
        return 1;
    }
    finally {
        reporter.close();
        await (0,promises_.rm)(work, { recursive: true, force: true });
    }
}


/***/ }),

/***/ 74065:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   RS: () => (/* binding */ checkPermissions),
/* harmony export */   ao: () => (/* binding */ followPermissions),
/* harmony export */   i_: () => (/* binding */ PermissionError)
/* harmony export */ });
/* unused harmony exports requiredPermissions, describeCheck */
/** checker answers a maker of SelfSubjectAccessReview attributes in namespace. */
function checker(namespace) {
    return (verb, group, resource, subresource) => ({
        verb,
        group,
        resource,
        namespace,
        ...(subresource ? { subresource } : {}),
    });
}
/**
 * requiredPermissions lists every RBAC permission that runBuild (and the post
 * step) may use in the namespace for this spec, one SelfSubjectAccessReview
 * attribute each (authorization.k8s.io/v1 ResourceAttributes):
 * - always: `create` the Job (or bare Pod), and `get` it: a retried step whose
 *   create answers 409 adopts the existing one (create.ts);
 * - with `secret_env`: `create`, `patch` (the Job becomes its owner) and
 *   `delete` (when the Job cannot be created, and on cleanup) Secrets;
 * - with `watch`: `list`+`watch` Pods (and Jobs for `kind: job`), `get`
 *   pods/log, `list` events (the last events of a failure), and `delete` the
 *   Job or Pod: on cleanup, and also with `keep: true` when the step is
 *   cancelled, a Spot build is retried, or the post step finds it running;
 * - with `watch` and a `context` or `bucket`: exec (stage the source, collect
 *   the artifacts), which needs both `create` and `get` on pods/exec.
 * deploy/kubernetes/base/builder-role.yaml grants the union of all cases.
 */
function requiredPermissions(spec) {
    const c = checker(spec.namespace);
    const [group, owner] = spec.kind === 'job' ? ['batch', 'jobs'] : ['', 'pods'];
    const out = [c('create', group, owner), c('get', group, owner)];
    if (Object.keys(spec.secretEnv).length > 0)
        out.push(c('create', '', 'secrets'), c('patch', '', 'secrets'), c('delete', '', 'secrets'));
    if (!spec.watch)
        return out;
    if (spec.kind === 'job')
        out.push(c('list', 'batch', 'jobs'), c('watch', 'batch', 'jobs'));
    out.push(c('list', '', 'pods'), c('watch', '', 'pods'), c('get', '', 'pods', 'log'), c('list', '', 'events'));
    // Exec over WebSocket is an upgraded GET: the API server checks `get`, and
    // since Kubernetes 1.35 also `create` (AuthorizePodWebsocketUpgradeCreatePermission).
    if (spec.context || spec.bucket)
        out.push(c('create', '', 'pods', 'exec'), c('get', '', 'pods', 'exec'));
    out.push(c('delete', group, owner));
    return out;
}
/**
 * followPermissions lists what mode `dispatch` (wait: true) does with the step's own identity in
 * the dispatcher's namespace: `list` Pods (to find each build's), `get` pods/log, exec (`create`
 * and `get` pods/exec) when it stages a context or collects artifacts, and `delete` Jobs (a build
 * that cannot start or be staged). The dispatcher creates the Jobs with its own identity.
 */
function followPermissions(namespace, o) {
    const c = checker(namespace);
    const out = [c('list', '', 'pods'), c('get', '', 'pods', 'log')];
    if (o.stage || o.collect)
        out.push(c('create', '', 'pods', 'exec'), c('get', '', 'pods', 'exec'));
    out.push(c('delete', 'batch', 'jobs'));
    return out;
}
/** describeCheck renders a check like RBAC: `create batch/jobs`, `get pods/log`. */
function describeCheck(a) {
    const res = `${a.group ? `${a.group}/` : ''}${a.resource}${a.subresource ? `/${a.subresource}` : ''}`;
    return `${a.verb} ${res}`;
}
/** PermissionError: the identity lacks RBAC permissions; `missing` lists them. */
class PermissionError extends Error {
    name = 'PermissionError';
    missing;
    constructor(missing, namespace) {
        super(`the identity of this step is missing Kubernetes permissions in namespace "${namespace}": ` +
            `${missing.map(describeCheck).join(', ')}. Grant them with a Role bound to the service account ` +
            '(deploy/kubernetes/ has the least-privilege Role of the action).');
        this.missing = missing;
    }
}
/** checkPermissions throws PermissionError when any required permission is denied; a no-op when the client cannot check. */
async function checkPermissions(kube, spec) {
    if (!kube.canI)
        return;
    const missing = await kube.canI(requiredPermissions(spec));
    if (missing.length > 0)
        throw new PermissionError(missing, spec.namespace);
}


/***/ }),

/***/ 15299:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   m: () => (/* binding */ systemClock)
/* harmony export */ });
/**
 * report.ts: what the lifecycle engine needs from its surroundings besides
 * the APIs: where progress and build output go (Reporter) and what time it is
 * (Clock). The action implements Reporter over @actions/core, the CLI over the
 * terminal, tests with an array.
 */
/** systemClock is the Clock of the real world. */
const systemClock = {
    now: () => Date.now(),
    sleep: (ms, signal) => new Promise((resolve) => {
        const done = () => {
            clearTimeout(t);
            signal?.removeEventListener('abort', done);
            resolve();
        };
        const t = setTimeout(done, ms);
        signal?.addEventListener('abort', done, { once: true });
    }),
};


/***/ }),

/***/ 74995:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  lc: () => (/* binding */ AbortError),
  Ay: () => (/* binding */ pRetry)
});

// UNUSED EXPORTS: makeRetriable

;// CONCATENATED MODULE: ./node_modules/is-network-error/index.js
const objectToString = Object.prototype.toString;

const isError = value => objectToString.call(value) === '[object Error]';

const errorMessages = new Set([
	'network error', // Chrome
	'NetworkError when attempting to fetch resource.', // Firefox
	'The Internet connection appears to be offline.', // Safari 16
	'Network request failed', // `cross-fetch`
	'fetch failed', // Undici (Node.js)
	'terminated', // Undici (Node.js)
	' A network error occurred.', // Bun (WebKit)
	'Network connection lost', // Cloudflare Workers (fetch)
]);

function isNetworkError(error) {
	const isValid = error
		&& isError(error)
		&& error.name === 'TypeError'
		&& typeof error.message === 'string';

	if (!isValid) {
		return false;
	}

	const {message, stack} = error;

	// Safari 17+ has generic message but no stack for network errors
	if (message === 'Load failed' || (message.startsWith('Load failed (') && message.endsWith(')'))) {
		return stack === undefined
			// Sentry adds its own stack trace to the fetch error, so also check for that
			|| '__sentry_captured__' in error;
	}

	// Deno network errors start with specific text
	if (message.startsWith('error sending request for url')) {
		return true;
	}

	// Chrome: exact "Failed to fetch" or with hostname: "Failed to fetch (example.com)"
	if (message === 'Failed to fetch' || (message.startsWith('Failed to fetch (') && message.endsWith(')'))) {
		return true;
	}

	// Standard network error messages
	return errorMessages.has(message);
}

;// CONCATENATED MODULE: ./node_modules/p-retry/index.js


function validateRetries(retries) {
	if (typeof retries === 'number') {
		if (retries < 0) {
			throw new TypeError('Expected `retries` to be a non-negative number.');
		}

		if (Number.isNaN(retries)) {
			throw new TypeError('Expected `retries` to be a valid number or Infinity, got NaN.');
		}
	} else if (retries !== undefined) {
		throw new TypeError('Expected `retries` to be a number or Infinity.');
	}
}

function validateNumberOption(name, value, {min = 0, allowInfinity = false} = {}) {
	if (value === undefined) {
		return;
	}

	if (typeof value !== 'number' || Number.isNaN(value)) {
		throw new TypeError(`Expected \`${name}\` to be a number${allowInfinity ? ' or Infinity' : ''}.`);
	}

	if (!allowInfinity && !Number.isFinite(value)) {
		throw new TypeError(`Expected \`${name}\` to be a finite number.`);
	}

	if (value < min) {
		throw new TypeError(`Expected \`${name}\` to be \u2265 ${min}.`);
	}
}

class AbortError extends Error {
	constructor(message) {
		super();

		if (message instanceof Error) {
			this.originalError = message;
			({message} = message);
		} else {
			this.originalError = new Error(message);
			this.originalError.stack = this.stack;
		}

		this.name = 'AbortError';
		this.message = message;
	}
}

function calculateDelay(retriesConsumed, options) {
	const attempt = Math.max(1, retriesConsumed + 1);
	const random = options.randomize ? (Math.random() + 1) : 1;

	let timeout = Math.round(random * options.minTimeout * (options.factor ** (attempt - 1)));
	timeout = Math.min(timeout, options.maxTimeout);

	return timeout;
}

function calculateRemainingTime(start, max) {
	if (!Number.isFinite(max)) {
		return max;
	}

	return max - (performance.now() - start);
}

async function onAttemptFailure({error, attemptNumber, retriesConsumed, startTime, options}) {
	const normalizedError = error instanceof Error
		? error
		: new TypeError(`Non-error was thrown: "${error}". You should only throw errors.`);

	if (normalizedError instanceof AbortError) {
		throw normalizedError.originalError;
	}

	const retriesLeft = Number.isFinite(options.retries)
		? Math.max(0, options.retries - retriesConsumed)
		: options.retries;

	const maxRetryTime = options.maxRetryTime ?? Number.POSITIVE_INFINITY;

	const context = Object.freeze({
		error: normalizedError,
		attemptNumber,
		retriesLeft,
		retriesConsumed,
	});

	await options.onFailedAttempt(context);

	if (calculateRemainingTime(startTime, maxRetryTime) <= 0) {
		throw normalizedError;
	}

	const consumeRetry = await options.shouldConsumeRetry(context);

	const remainingTime = calculateRemainingTime(startTime, maxRetryTime);

	if (remainingTime <= 0 || retriesLeft <= 0) {
		throw normalizedError;
	}

	if (normalizedError instanceof TypeError && !isNetworkError(normalizedError)) {
		if (consumeRetry) {
			throw normalizedError;
		}

		options.signal?.throwIfAborted();
		return false;
	}

	if (!await options.shouldRetry(context)) {
		throw normalizedError;
	}

	if (!consumeRetry) {
		options.signal?.throwIfAborted();
		return false;
	}

	const delayTime = calculateDelay(retriesConsumed, options);
	const finalDelay = Math.min(delayTime, remainingTime);

	options.signal?.throwIfAborted();

	if (finalDelay > 0) {
		await new Promise((resolve, reject) => {
			const onAbort = () => {
				clearTimeout(timeoutToken);
				options.signal?.removeEventListener('abort', onAbort);
				reject(options.signal.reason);
			};

			const timeoutToken = setTimeout(() => {
				options.signal?.removeEventListener('abort', onAbort);
				resolve();
			}, finalDelay);

			if (options.unref) {
				timeoutToken.unref?.();
			}

			options.signal?.addEventListener('abort', onAbort, {once: true});
		});
	}

	options.signal?.throwIfAborted();

	return true;
}

async function pRetry(input, options = {}) {
	options = {...options};

	validateRetries(options.retries);

	if (Object.hasOwn(options, 'forever')) {
		throw new Error('The `forever` option is no longer supported. For many use-cases, you can set `retries: Infinity` instead.');
	}

	options.retries ??= 10;
	options.factor ??= 2;
	options.minTimeout ??= 1000;
	options.maxTimeout ??= Number.POSITIVE_INFINITY;
	options.maxRetryTime ??= Number.POSITIVE_INFINITY;
	options.randomize ??= false;
	options.onFailedAttempt ??= () => {};
	options.shouldRetry ??= () => true;
	options.shouldConsumeRetry ??= () => true;

	// Validate numeric options and normalize edge cases
	validateNumberOption('factor', options.factor, {min: 0, allowInfinity: false});
	validateNumberOption('minTimeout', options.minTimeout, {min: 0, allowInfinity: false});
	validateNumberOption('maxTimeout', options.maxTimeout, {min: 0, allowInfinity: true});
	validateNumberOption('maxRetryTime', options.maxRetryTime, {min: 0, allowInfinity: true});

	// Treat non-positive factor as 1 to avoid zero backoff or negative behavior
	if (!(options.factor > 0)) {
		options.factor = 1;
	}

	options.signal?.throwIfAborted();

	let attemptNumber = 0;
	let retriesConsumed = 0;
	const startTime = performance.now();

	while (Number.isFinite(options.retries) ? retriesConsumed <= options.retries : true) {
		attemptNumber++;

		try {
			options.signal?.throwIfAborted();

			const result = await input(attemptNumber);

			options.signal?.throwIfAborted();

			return result;
		} catch (error) {
			if (await onAttemptFailure({
				error,
				attemptNumber,
				retriesConsumed,
				startTime,
				options,
			})) {
				retriesConsumed++;
			}
		}
	}

	// Should not reach here, but in case it does, throw an error
	throw new Error('Retry attempts exhausted without throwing an error.');
}

function makeRetriable(function_, options) {
	return function (...arguments_) {
		return pRetry(() => function_.apply(this, arguments_), options);
	};
}


/***/ })

};
