import { createRequire as __kbCreateRequire } from 'node:module';
import { fileURLToPath as __kbFileURLToPath } from 'node:url';
const require = __kbCreateRequire(import.meta.url);
const __filename = __kbFileURLToPath(import.meta.url);
const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));
import{a as t}from"./chunks/chunk-NK2Z4LJZ.js";import"./chunks/chunk-LSKDDIIE.js";await t(async()=>(await import("./chunks/main-TW2EBM67.js")).main);setTimeout(()=>{process.stdout.write(`::debug::the step ended with handles still open; exiting
`),process.exit()},5e3).unref();
