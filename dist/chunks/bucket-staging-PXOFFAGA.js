import { createRequire as __kbCreateRequire } from 'node:module';
import { fileURLToPath as __kbFileURLToPath } from 'node:url';
const require = __kbCreateRequire(import.meta.url);
const __filename = __kbFileURLToPath(import.meta.url);
const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));
import{a,b}from"./chunk-CORK4LBR.js";import"./chunk-UDBWYYPF.js";import"./chunk-5G2OI63Y.js";import"./chunk-YUGATSIT.js";import"./chunk-PLFTWEH3.js";import"./chunk-ODO2IU4H.js";import"./chunk-OYMEG2PU.js";import"./chunk-WBVBVRHO.js";import"./chunk-OFMGY2VX.js";import"./chunk-QDIILIYE.js";import"./chunk-ROIOXDAV.js";import"./chunk-LSKDDIIE.js";export{b as removeContext,a as uploadContext};
