import { createRequire as __kbCreateRequire } from 'node:module';
import { fileURLToPath as __kbFileURLToPath } from 'node:url';
const require = __kbCreateRequire(import.meta.url);
const __filename = __kbFileURLToPath(import.meta.url);
const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));
import{a,b}from"./chunk-SL4FAIW2.js";import"./chunk-CNIX36AE.js";import"./chunk-LSKDDIIE.js";export{a as createObjects,b as deleteBuild};
