import type { LatchkeyClient } from './client.js';

/**
 * The WebSocket URL for `path` with the current access token in the query, waiting until there
 * is a session (an app that opens its socket before the user signs in simply waits).
 * Browsers cannot set headers on a WebSocket, hence the query.
 */
export async function webSocketUrl(client: LatchkeyClient, path: string): Promise<string> {
  const token = await client.whenSignedIn();
  const url = new URL(path, client.baseUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('access_token', await client.getAccessToken().catch(() => token));
  return url.toString();
}

interface WebSocketLike {
  addEventListener(type: 'close', listener: (event: { code: number }) => void): void;
  close(code?: number): void;
}

export interface KeepWebSocketOptions<W extends WebSocketLike> {
  /** Builds the socket, e.g. `(url) => new WebSocket(url)`. */
  open: (url: string) => W;
  /** Called with every socket opened (the first and each reconnection). */
  onSocket?: (socket: W) => void;
  /** Close codes that mean "your token expired": reconnect with a fresh one (4001). */
  expiredCodes?: number[];
}

/**
 * Opens a WebSocket once signed in and opens it again with a fresh token when the server closes
 * it for an expired token (4001). Any other close (4003 revoked, a normal close) ends it.
 * Returns a function that stops it.
 */
export function keepWebSocket<W extends WebSocketLike>(
  client: LatchkeyClient,
  path: string,
  options: KeepWebSocketOptions<W>,
): () => void {
  const expired = options.expiredCodes ?? [4001];
  let stopped = false;
  let current: W | null = null;
  const connect = async () => {
    const url = await webSocketUrl(client, path);
    if (stopped) return;
    const used = new URL(url).searchParams.get('access_token');
    const socket = options.open(url);
    current = socket;
    socket.addEventListener('close', (event) => {
      if (stopped || !expired.includes(event.code)) return;
      client
        .refresh(used)
        .then(connect)
        .catch(() => undefined);
    });
    options.onSocket?.(socket);
  };
  void connect().catch(() => undefined);
  return () => {
    stopped = true;
    current?.close(1000);
  };
}

/** The parts of a socket.io-client `Socket` the helper uses. */
interface SocketIoLike {
  auth: unknown;
  connect(): unknown;
  on(event: 'connect_error', listener: (err: Error) => void): unknown;
}

/**
 * Socket.IO auth that always reads the current token: pass it as the `auth` option of `io()`.
 * socket.io-client calls it before every (re)connection.
 */
export function socketIoAuth(client: LatchkeyClient) {
  return (cb: (data: { token: string }) => void) => {
    client
      .whenSignedIn()
      .then(() => client.getAccessToken())
      .then((token) => cb({ token }));
  };
}

/**
 * Connects `socket` (created with `autoConnect: false`) once signed in, and after a
 * `connect_error` whose message says the token is expired, invalid or unauthorized, refreshes
 * once and reconnects. socket.io-client is an optional peer: pass its `io` result in.
 */
export function keepSocketIo<S extends SocketIoLike>(client: LatchkeyClient, socket: S): S {
  socket.auth = socketIoAuth(client);
  socket.on('connect_error', (err) => {
    if (!/expired|invalid|unauthori[sz]ed/i.test(err?.message ?? '')) return;
    const used = client.currentAccessToken();
    client
      .refresh(used)
      .then(() => socket.connect())
      .catch(() => undefined);
  });
  void client.whenSignedIn().then(() => socket.connect());
  return socket;
}
