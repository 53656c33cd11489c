import { createRequire as __kbCreateRequire } from 'node:module';
import { fileURLToPath as __kbFileURLToPath } from 'node:url';
const require = __kbCreateRequire(import.meta.url);
const __filename = __kbFileURLToPath(import.meta.url);
const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));
import{a as e,c as r}from"./chunk-LSKDDIIE.js";var s=r((a,i)=>{i.exports=e("node:http")});var t=r((b,o)=>{o.exports=e("node:https")});var u=r((c,p)=>{p.exports=e("node:buffer")});var x=r((d,q)=>{q.exports=e("node:net")});export{s as a,t as b,u as c,x as d};
