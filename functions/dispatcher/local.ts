// local.ts: runs an App on 127.0.0.1 through the Functions Framework's own Express server (the
// same body parsing and routing as on Cloud Run functions), for the lab and end-to-end tests.
import type { AddressInfo } from 'node:net';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { App } from './app.ts';
import { httpFunction } from './index.ts';
import type { Logger } from './log.ts';

/** LocalServer is a started local dispatcher: its URL (no trailing `/`) and how to stop it. */
export interface LocalServer {
  url: string;
  close(): Promise<void>;
}

let counter = 0;

/**
 * startLocalServer serves on 127.0.0.1:port (0: an ephemeral port) the App that makeApp builds
 * for the server's URL (the audience of its callers' tokens), and answers that URL.
 */
export async function startLocalServer(
  makeApp: (url: string) => App,
  logger: Logger,
  port = 0,
): Promise<LocalServer> {
  const name = `dispatcher-local-${process.pid}-${++counter}`;
  const started: { app?: App } = {};
  functions.http(
    name,
    httpFunction(
      () =>
        started.app
          ? Promise.resolve(started.app)
          : Promise.reject(new Error('the local dispatcher is starting')),
      logger,
    ),
  );
  const server = getTestServer(name);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${bound}`;
  try {
    started.app = makeApp(url);
  } catch (err) {
    server.close();
    throw err;
  }
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
