import { createRequire as __kbCreateRequire } from 'node:module';
import { fileURLToPath as __kbFileURLToPath } from 'node:url';
const require = __kbCreateRequire(import.meta.url);
const __filename = __kbFileURLToPath(import.meta.url);
const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));
import{a,b}from"./chunk-4YGPMGZQ.js";import"./chunk-MQZPSARJ.js";import"./chunk-CNIX36AE.js";import"./chunk-LI6VKNP5.js";import"./chunk-AJ4JFLB4.js";import"./chunk-674SI5T4.js";import"./chunk-6TOX6PX5.js";import"./chunk-BQWTOXEL.js";import"./chunk-OYMEG2PU.js";import"./chunk-HDZXHACW.js";import"./chunk-XBHV7G2M.js";import"./chunk-LPKGGYPE.js";import"./chunk-OFMGY2VX.js";import"./chunk-YV6QRWM5.js";import"./chunk-LSKDDIIE.js";export{b as connect,a as tokenSourceFor};
