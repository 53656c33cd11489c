import { createRequire as __kbCreateRequire } from 'node:module';
import { fileURLToPath as __kbFileURLToPath } from 'node:url';
const require = __kbCreateRequire(import.meta.url);
const __filename = __kbFileURLToPath(import.meta.url);
const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));
var e=class extends Error{status;reason;constructor(n,r,t){super(t),this.name="KubeApiError",this.status=n,this.reason=r}};export{e as a};
