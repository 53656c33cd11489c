import { createRequire as __kbCreateRequire } from 'node:module';
import { fileURLToPath as __kbFileURLToPath } from 'node:url';
const require = __kbCreateRequire(import.meta.url);
const __filename = __kbFileURLToPath(import.meta.url);
const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));
var s=class extends Error{static code="ERR_JOSE_GENERIC";code="ERR_JOSE_GENERIC";constructor(_,t){super(_,t),this.name=this.constructor.name,Error.captureStackTrace?.(this,this.constructor)}};var c=class extends s{static code="ERR_JWT_INVALID";code="ERR_JWT_INVALID"};export{c as a};
