import { createRequire as __kbCreateRequire } from 'node:module';
import { fileURLToPath as __kbFileURLToPath } from 'node:url';
const require = __kbCreateRequire(import.meta.url);
const __filename = __kbFileURLToPath(import.meta.url);
const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));
import{a as e,c as r}from"./chunk-LSKDDIIE.js";var p=r((s,i)=>{i.exports=e("node:http")});var q=r((t,o)=>{o.exports=e("node:https")});export{p as a,q as b};
