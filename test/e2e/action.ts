// action.ts: the local runner for end-to-end tests (lab/runner.ts).
export * from '../../lab/runner.ts';
