import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The HTTP side the forge fakes share: a loopback server that answers each request with
 * what `handle` gives, a handler that throws is a 500 and a recorded problem, and a close
 * that ends kept connections first.
 */
export async function startFakeServer<R>(options: {
  handle: (req: http.IncomingMessage) => Promise<R>;
  send: (res: http.ServerResponse, reply: R) => void;
  failed: (res: http.ServerResponse, error: unknown) => void;
}): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((req, res) => {
    void options.handle(req).then(
      (reply) => options.send(res, reply),
      (error: unknown) => options.failed(res, error),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export async function closeFakeServer(server: http.Server | undefined): Promise<void> {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
}
