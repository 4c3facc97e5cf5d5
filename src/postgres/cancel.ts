/**
 * Stops a running query the way psql's Ctrl-C does: a CancelRequest on a fresh socket (protocol 3, no
 * authentication needed, just the backend's pid and secret key). The server then fails the query with
 * `57014 query_canceled` and the original connection stays usable — important for a pooled client that a
 * collector borrowed. Destroying our side of a COPY instead would leave that connection stuck mid-protocol.
 */
import { connect as netConnect } from 'node:net';
import type { Client } from 'pg';

const CANCEL_REQUEST_CODE = 80877102;

/** Resolves true when the request was delivered (the server closes the socket after reading it), false otherwise. */
export function sendCancelRequest(client: Client, timeoutMs = 5000): Promise<boolean> {
  // pg keeps these from the BackendKeyData message; they are not part of its typed API.
  const { processID, secretKey } = client as unknown as { processID?: number | null; secretKey?: number | null };
  if (typeof processID !== 'number' || typeof secretKey !== 'number') return Promise.resolve(false);
  const host = client.host || 'localhost';
  const port = client.port || 5432;
  return new Promise((resolve) => {
    const socket = host.startsWith('/') ? netConnect(`${host}/.s.PGSQL.${port}`) : netConnect(port, host);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('error', () => done(false));
    socket.once('connect', () => {
      const message = Buffer.alloc(16);
      message.writeInt32BE(16, 0);
      message.writeInt32BE(CANCEL_REQUEST_CODE, 4);
      message.writeInt32BE(processID, 8);
      message.writeInt32BE(secretKey, 12);
      socket.end(message);
    });
    socket.once('close', (hadError) => done(!hadError));
    socket.resume(); // the server answers nothing; draining lets 'close' arrive
  });
}
