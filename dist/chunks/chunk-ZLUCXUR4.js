import { createRequire as __kbCreateRequire } from 'node:module';
import { fileURLToPath as __kbFileURLToPath } from 'node:url';
const require = __kbCreateRequire(import.meta.url);
const __filename = __kbFileURLToPath(import.meta.url);
const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));
var i="kbuild.dev/dispatch-id";var t=new Set(["succeeded","failed","skipped"]);function s(e){return t.has(e)}var a=e=>`${e.package}/${e.arch}`;export{i as a,s as b,a as c};
