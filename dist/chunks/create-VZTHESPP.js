import { createRequire as __kbCreateRequire } from 'node:module';
import { fileURLToPath as __kbFileURLToPath } from 'node:url';
const require = __kbCreateRequire(import.meta.url);
const __filename = __kbFileURLToPath(import.meta.url);
const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));
import{a,b}from"./chunk-4KH2Z3QC.js";import"./chunk-43OU33OQ.js";import"./chunk-YUGATSIT.js";import"./chunk-PLFTWEH3.js";import"./chunk-T36UPNDQ.js";import"./chunk-OYMEG2PU.js";import"./chunk-LSKDDIIE.js";export{a as createObjects,b as deleteBuild};
