import { createRequire as __kbCreateRequire } from 'node:module';
import { fileURLToPath as __kbFileURLToPath } from 'node:url';
const require = __kbCreateRequire(import.meta.url);
const __filename = __kbFileURLToPath(import.meta.url);
const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));
var s={now:()=>Date.now(),sleep:(t,o)=>new Promise(r=>{let e=()=>{clearTimeout(i),o?.removeEventListener("abort",e),r()},i=setTimeout(e,t);o?.addEventListener("abort",e,{once:!0})})};export{s as a};
