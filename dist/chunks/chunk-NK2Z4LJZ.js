import { createRequire as __kbCreateRequire } from 'node:module';
import { fileURLToPath as __kbFileURLToPath } from 'node:url';
const require = __kbCreateRequire(import.meta.url);
const __filename = __kbFileURLToPath(import.meta.url);
const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));
function s(r,e){if(!(Number(r.split(".")[0])>=24))return`kbuild-action needs Node 24 or newer; this runner's node is v${r} (${e}): use a runner whose Actions runtime supports node24, or put Node 24 first on PATH for nektos/act`}async function n(r){let e=s(process.versions.node,process.execPath);if(e){process.stdout.write(`::error::${e}
`),process.exitCode=1;return}let o;try{o=await r()}catch(t){process.stdout.write(`::error::kbuild-action could not load its code: ${String(t)}
`),process.exitCode=1;return}await o()}export{n as a};
