import { createRequire as __kbCreateRequire } from 'node:module';
import { fileURLToPath as __kbFileURLToPath } from 'node:url';
const require = __kbCreateRequire(import.meta.url);
const __filename = __kbFileURLToPath(import.meta.url);
const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));
import{h as t}from"./chunk-674SI5T4.js";import{a as i}from"./chunk-ODO2IU4H.js";import{d as r}from"./chunk-LSKDDIIE.js";var e=r(i(),1);var s=["pod/index.js","../pod/index.js","../../dist/pod/index.js"];async function f(o){for(let d of s){let n=await(0,e.readFile)(new URL(d,o),"utf8").catch(()=>{});if(n!==void 0)return n}}function a(o){return o.storage===t.storage?{}:{storage:o.storage}}export{f as a,a as b};
