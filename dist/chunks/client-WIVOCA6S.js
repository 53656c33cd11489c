import { createRequire as __kbCreateRequire } from 'node:module';
import { fileURLToPath as __kbFileURLToPath } from 'node:url';
const require = __kbCreateRequire(import.meta.url);
const __filename = __kbFileURLToPath(import.meta.url);
const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));
import{a,b}from"./chunk-LS2PIST2.js";import"./chunk-HDZXHACW.js";import"./chunk-LSKDDIIE.js";export{b as DispatcherClient,a as DispatcherError};
