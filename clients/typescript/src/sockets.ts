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

/** The parts of a WebSocket (the browser's or the `ws` package's) the helper uses. */
interface WebSocketLike {
  // Loose on purpose: the browser's and `ws`'s overloads both fit.
  addEventListener(type: string, listener: (event: any) => void): void;
  send(data: string): void;
  close(code?: number): void;
}

export interface KeepWebSocketOptions<W extends WebSocketLike> {
  /** Builds the socket, e.g. `(url) => new WebSocket(url)`. */
  open: (url: string) => W;
  /** Called with every socket opened (the first and each reconnection). */
  onSocket?: (socket: W) => void;
  /** Close codes that mean "your token expired": reconnect with a fresh one (4001). */
  expiredCodes?: number[];
  /**
   * Answer Latchkey's `token_expiring` message with a fresh token in-band
   * (`{"type":"auth","access_token":…}`) so the socket outlives its first token (default true).
   */
  renew?: boolean;
  /** Called once when the helper gives up: the close code that ended it (4003 on logout). */
  onEnd?: (code: number) => void;
}

/** A text frame's JSON, or null. */
function parseMessage(data: unknown): { type?: string } | null {
  try {
    const value = JSON.parse(typeof data === 'string' ? data : String(data));
    return value && typeof value === 'object' ? value : null;
  } catch {
    return null;
  }
}

/**
 * Opens a WebSocket once signed in, renews its token in-band when the server warns that it is
 * about to expire, and opens it again with a fresh token when the server closes it for an
 * expired token (4001). Any other close (4003 revoked, a normal close) ends it, as does a
 * refresh the server refuses: it never loops. Returns a function that stops it.
 */
export function keepWebSocket<W extends WebSocketLike>(
  client: LatchkeyClient,
  path: string,
  options: KeepWebSocketOptions<W>,
): () => void {
  const expired = options.expiredCodes ?? [4001];
  const renew = options.renew ?? true;
  let stopped = false;
  let current: W | null = null;
  const end = (code: number) => {
    if (stopped) return;
    stopped = true;
    options.onEnd?.(code);
  };
  const connect = async () => {
    const url = await webSocketUrl(client, path);
    if (stopped) return;
    // The token the server holds for this socket: what a refresh replaces.
    let used = new URL(url).searchParams.get('access_token');
    const socket = options.open(url);
    current = socket;
    socket.addEventListener('message', (event: { data: unknown }) => {
      if (!renew || stopped || parseMessage(event.data)?.type !== 'token_expiring') return;
      client
        .refresh(used)
        .then((token) => {
          used = token;
          socket.send(JSON.stringify({ type: 'auth', access_token: token }));
        })
        // A failed renewal ends in the server's 4001, answered below.
        .catch(() => undefined);
    });
    socket.addEventListener('close', (event: { code: number }) => {
      if (stopped || socket !== current) return;
      if (!expired.includes(event.code)) return end(event.code);
      client
        .refresh(used)
        .then(connect)
        .catch(() => end(event.code));
    });
    options.onSocket?.(socket);
  };
  void connect().catch(() => end(1006));
  return () => {
    stopped = true;
    current?.close(1000);
  };
}

/** The parts of a socket.io-client `Socket` the helper uses. */
interface SocketIoLike {
  auth: unknown;
  connect(): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
  emit(event: string, ...args: any[]): unknown;
}

/**
 * Socket.IO auth that always reads the current token: pass it as the `auth` option of `io()`.
 * socket.io-client calls it before every (re)connection. `onToken` sees each token sent.
 */
export function socketIoAuth(client: LatchkeyClient, onToken?: (token: string) => void) {
  return (cb: (data: { token: string }) => void) => {
    client
      .whenSignedIn()
      .then(() => client.getAccessToken())
      // No session any more: the server refuses the empty token and the helper stops there.
      .catch(() => '')
      .then((token) => {
        onToken?.(token);
        cb({ token });
      });
  };
}

export interface KeepSocketIoOptions {
  /** Answer `token_expiring` with the `auth` event and a fresh token (default true). */
  renew?: boolean;
}

/**
 * Connects `socket` (created with `autoConnect: false`) once signed in. Before its token
 * expires it renews in-band (`auth` event); when the server disconnects it for an expired token
 * (`token_expired`), or refuses a connection with a `connect_error` whose message says the
 * token is expired or invalid, it refreshes once and reconnects. A second refusal in a row, a
 * refused refresh or `session_revoked` (logout) ends it. socket.io-client is an optional peer:
 * pass its `io` result in.
 */
export function keepSocketIo<S extends SocketIoLike>(
  client: LatchkeyClient,
  socket: S,
  options: KeepSocketIoOptions = {},
): S {
  const renew = options.renew ?? true;
  let used: string | null = null;
  let expired = false;
  let retried = false;
  socket.auth = socketIoAuth(client, (token) => (used = token));
  const reconnect = () =>
    client
      .refresh(used || null)
      .then(() => socket.connect())
      .catch(() => undefined);
  socket.on('connect', () => {
    retried = false;
    expired = false;
  });
  socket.on('connect_error', (err: Error) => {
    if (retried || !/expired|invalid/i.test(err?.message ?? '')) return;
    retried = true;
    void reconnect();
  });
  socket.on('token_expiring', () => {
    if (!renew) return;
    client
      .refresh(used)
      .then((token) => {
        used = token;
        socket.emit('auth', { token });
      })
      .catch(() => undefined);
  });
  socket.on('token_expired', () => {
    expired = true;
  });
  // The server disconnects after `token_expired`; socket.io-client does not reconnect by itself
  // after a server-side disconnect.
  socket.on('disconnect', (reason: string) => {
    if (!expired || reason !== 'io server disconnect') return;
    expired = false;
    void reconnect();
  });
  void client.whenSignedIn().then(() => socket.connect());
  return socket;
}
