import { createRequire as __kbCreateRequire } from 'node:module';
import { fileURLToPath as __kbFileURLToPath } from 'node:url';
const require = __kbCreateRequire(import.meta.url);
const __filename = __kbFileURLToPath(import.meta.url);
const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));
import{k as r}from"./chunk-PLFTWEH3.js";import{d as s}from"./chunk-LSKDDIIE.js";var t=s(r(),1);function a(e,i){return(0,t.createHash)("sha256").update(JSON.stringify(["kbuild/dispatch/v1",e.repository,e.runId,e.runAttempt,...[...i].sort()])).digest("hex").slice(0,32)}var n="kbuild.dev/dispatch-id";var d=new Set(["succeeded","failed","skipped"]);function p(e){return d.has(e)}var u=e=>`${e.package}/${e.arch}`;export{a,n as b,p as c,u as d};
