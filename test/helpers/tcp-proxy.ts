import net from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a real database server, for injecting the faults
 * a hung server or a middlebox makes without touching the server: `freeze()` stops
 * forwarding on every connection open now, in both directions, and leaves the sockets
 * open (neither side hears anything: no data, no FIN, no RST), as a partition does;
 * connections made after it pass through. The servers are never stopped.
 */
export type TcpProxy = {
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  /** Connections open now. */
  open(): number;
  freeze(): void;
  /** The server goes away: open connections are cut and new ones refused, as when a database stops. */
  stop(): Promise<void>;
  /** Back on the same port after `stop`. */
  start(): Promise<void>;
  close(): Promise<void>;
};

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket; frozen: boolean }>();
  let accepted = 0;
  // Half-open allowed: a frozen side's FIN must not be answered by the proxy's own (a partition answers nothing).
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    accepted++;
    const upstream = net.connect({ port: target.port, host: target.host, allowHalfOpen: true });
    const pair = { client, upstream, frozen: false };
    pairs.add(pair);
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk: Buffer) => {
        // Frozen: what arrives is dropped, as a partition drops it (the kernel still ACKs it; nothing more).
        if (!pair.frozen) to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    client.on('end', () => {
      if (!pair.frozen) upstream.end();
    });
    upstream.on('end', () => {
      if (!pair.frozen) client.end();
    });
    const end = () => {
      if (pair.frozen) return;
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const cut = () => {
    for (const pair of pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    connections: () => accepted,
    open: () => pairs.size,
    freeze() {
      for (const pair of pairs) pair.frozen = true;
    },
    async stop() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async start() {
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    async close() {
      cut();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
