import { createRequire as __kbCreateRequire } from 'node:module';
import { fileURLToPath as __kbFileURLToPath } from 'node:url';
const require = __kbCreateRequire(import.meta.url);
const __filename = __kbFileURLToPath(import.meta.url);
const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));
import{b as m}from"./chunk-UDBWYYPF.js";import{t as p}from"./chunk-YUGATSIT.js";import{a as u}from"./chunk-WBVBVRHO.js";import{d as g}from"./chunk-LSKDDIIE.js";var f=g(u(),1);async function x(e,t,o,r,c){let s=p(t),n,l=()=>(n=m(o,r),n.stream.pipe((0,f.createGzip)({level:6}))),i=await e.upload(s,l,{contentType:"application/gzip"}),a=await n.stats;c.info(`Staged ${a.files} files (${(a.bytes/1048576).toFixed(1)} MiB, ${(i.size/1048576).toFixed(1)} MiB compressed) from ${o} as ${i.uri}`);for(let d of a.skipped)c.warning(`not staged: ${d} (not a regular file or symlink)`);return{object:s,crc32c:i.crc32c}}async function $(e,t,o){e.remove&&await e.remove(t.object).catch(r=>o.warning(`could not delete the context archive ${t.object}: ${r.message}; the bucket's lifecycle rule removes it after a day`))}export{x as a,$ as b};
