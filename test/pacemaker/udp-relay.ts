// A UDP relay from the cluster's management address to a peer on the host's loopback. The test peers
// (ipmi_sim, snmpd) listen on 127.0.0.1 and accept their write community from 127.0.0.1 only; the
// cluster nodes live in network namespaces that reach the host through a management veth. The relay
// keeps one upstream socket per client address, so sessions (RMCP+, SNMP request ids) pass unchanged.
import { createSocket, type Socket } from 'node:dgram';

export interface UdpRelay {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startUdpRelay(listen: string, target: { host: string; port: number }): Promise<UdpRelay> {
  const front = createSocket('udp4');
  const upstreams = new Map<string, Socket>();
  front.on('error', () => undefined);
  front.on('message', (msg, from) => {
    const key = `${from.address}:${from.port}`;
    let up = upstreams.get(key);
    if (!up) {
      const s = createSocket('udp4');
      s.on('error', () => undefined);
      s.on('message', (reply) => front.send(reply, from.port, from.address));
      s.bind(0, '127.0.0.1');
      upstreams.set(key, s);
      up = s;
    }
    up.send(msg, target.port, target.host);
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.bind(0, listen, () => resolve());
  });
  return {
    address: listen,
    port: front.address().port,
    close: async () => {
      for (const s of upstreams.values()) s.close();
      await new Promise<void>((r) => front.close(() => r()));
    },
  };
}
