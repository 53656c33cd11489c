import { createRequire as __kbCreateRequire } from 'node:module';
import { fileURLToPath as __kbFileURLToPath } from 'node:url';
const require = __kbCreateRequire(import.meta.url);
const __filename = __kbFileURLToPath(import.meta.url);
const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));
import{a as r,c as i}from"./chunk-LSKDDIIE.js";var o=i((p,e)=>{e.exports=r("node:fs/promises")});export{o as a};
