// A loopback address where nothing answers but everything is counted: proves that an agent given bad
// input contacted no device, and gives unreachable-device runs a safe target.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';

export interface SilentDevice {
  port: number;
  /** UDP datagrams and TCP connections received so far. */
  contacts(): number;
  close(): Promise<void>;
}

export async function startSilentDevice(): Promise<SilentDevice> {
  for (let attempt = 0; attempt < 20; attempt++) {
    let count = 0;
    // Connections are kept open and unanswered until close(), which ends them: a client that left is
    // never noticed otherwise (nothing reads), and the server would wait for it forever.
    const connections = new Set<TcpSocket>();
    const tcp: Server = createServer((s) => {
      count++;
      connections.add(s);
      s.on('error', () => undefined);
      s.on('close', () => connections.delete(s));
    });
    await new Promise<void>((resolve, reject) => tcp.once('error', reject).listen(0, '127.0.0.1', resolve));
    const port = (tcp.address() as { port: number }).port;
    const udp: Socket = createSocket('udp4');
    udp.on('message', () => count++);
    const ok = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    if (!ok) {
      tcp.close();
      continue;
    }
    return {
      port,
      contacts: () => count,
      close: async () => {
        udp.close();
        for (const s of connections) s.destroy();
        await new Promise<void>((r) => tcp.close(() => r()));
      },
    };
  }
  throw new Error('no free port for the silent device');
}
