// Stand-ins for an application's own socket servers, which check tokens with Latchkey.
import http from 'node:http';

import { Server as SocketIoServer } from 'socket.io';
import { WebSocketServer } from 'ws';

/** An app's Socket.IO server that lets in only sockets whose token Latchkey accepts. */
export async function socketIoApp(latchkey) {
  const httpServer = http.createServer();
  const io = new SocketIoServer(httpServer);
  const seen = [];
  io.use(async (socket, next) => {
    const token = socket.handshake.auth?.token;
    seen.push(token);
    const res = await fetch(`${latchkey}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    next(res.ok ? undefined : new Error(res.status === 401 ? 'token expired or invalid' : 'forbidden'));
  });
  await new Promise((r) => httpServer.listen(0, '127.0.0.1', r));
  return {
    io,
    url: `http://127.0.0.1:${httpServer.address().port}`,
    seen,
    close: (server) => new Promise((r) => server.close(() => r())),
  };
}

/** An app's WebSocket server: checks `?access_token=` with Latchkey, closes 4001 when refused. */
export async function webSocketApp(latchkey) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const seen = [];
  wss.on('connection', async (ws, req) => {
    const token = new URL(req.url, 'http://x').searchParams.get('access_token');
    seen.push(token);
    const res = await fetch(`${latchkey}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) ws.close(4001, 'token expired');
  });
  await new Promise((r) => wss.once('listening', r));
  return {
    url: `ws://127.0.0.1:${wss.address().port}`,
    seen,
    close: () =>
      new Promise((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  };
}
