import { createRequire as __kbCreateRequire } from 'node:module';
import { fileURLToPath as __kbFileURLToPath } from 'node:url';
const require = __kbCreateRequire(import.meta.url);
const __filename = __kbFileURLToPath(import.meta.url);
const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));
import{b as a,c as b}from"./chunk-XQCGOUZ4.js";import"./chunk-ZFHOW2FV.js";import"./chunk-5NXR7RYO.js";import"./chunk-674SI5T4.js";import"./chunk-PLFTWEH3.js";import"./chunk-OYMEG2PU.js";import"./chunk-56MISOU3.js";import"./chunk-ROIOXDAV.js";import"./chunk-LSKDDIIE.js";export{b as connect,a as tokenSourceFor};
