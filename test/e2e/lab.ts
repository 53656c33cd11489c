// lab.ts: the lab helpers for end-to-end tests (lab/env.ts).
export * from '../../lab/env.ts';
