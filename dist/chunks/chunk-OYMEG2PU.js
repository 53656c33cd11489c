import { createRequire as __kbCreateRequire } from 'node:module';
import { fileURLToPath as __kbFileURLToPath } from 'node:url';
const require = __kbCreateRequire(import.meta.url);
const __filename = __kbFileURLToPath(import.meta.url);
const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));
var e=class r extends Error{input;issues;constructor(t,n,s){super(n),this.name="InputError",this.input=t,this.issues=s??[{input:t,message:n}]}static of(t){let[n]=t;if(!n)throw new RangeError("InputError.of needs at least one issue");if(t.length===1)return new r(n.input,n.message);let s=`${t.length} invalid inputs:
${t.map(i=>`- ${i.message}`).join(`
`)}`;return new r(n.input,s,[...t])}},o=class{list=[];attempt(t){try{return t()}catch(n){if(!(n instanceof e))throw n;this.list.push(...n.issues);return}}add(t,n){this.list.push({input:t,message:n})}throwIfAny(){if(this.list.length>0)throw e.of(this.list)}},a=class extends Error{variable;constructor(t,n){super(n),this.name="ContextError",this.variable=t}},u=class extends Error{path;constructor(t,n){super(n),this.name="UnsafePathError",this.path=t}};function p(r){let t=r.length>100?`${r.slice(0,100)}...`:r;return JSON.stringify(t)}function l(r,t,n,s,i=!1){let g=i?"":` ${p(n)}`;return new e(r,`invalid ${t}${g} for input "${r}": ${s}`)}export{e as a,o as b,a as c,u as d,p as e,l as f};
