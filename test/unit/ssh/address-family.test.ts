// The SSH session's address family (ssh_options -4 / -6, inet4_only / inet6_only) holds for an address as for a
// name: an address of the other family is refused before any connection. A TCP listener on that address counts
// connections, so "refused before connecting" is measured, not assumed.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliSession } from '../../../lib/ssh/index.js';

const listeners: { server: Server; port: number; connections: () => number }[] = [];

async function listen(host: string) {
  let count = 0;
  const sockets = new Set<import('node:net').Socket>();
  // Held open and silent: the session then waits for a banner until its deadline.
  const server = createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const l = { server, port: (server.address() as { port: number }).port, connections: () => count };
  listeners.push(l);
  return l;
}

const open = (host: string, port: number, family: 4 | 6 | undefined, ms = 3000) =>
  CliSession.open({
    host,
    port,
    username: 'apc',
    password: 'apc',
    hostKey: { knownHostsFile: null, fingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', policy: 'strict' },
    prompt: /> $/,
    deadline: Date.now() + ms,
    ...(family ? { family } : {}),
  });

let v6: Awaited<ReturnType<typeof listen>>;
let v4: Awaited<ReturnType<typeof listen>>;
beforeAll(async () => {
  v6 = await listen('::1');
  v4 = await listen('127.0.0.1');
});
afterAll(async () => {
  for (const l of listeners) {
    const closed = new Promise((resolve) => l.server.close(resolve));
    l.server.emit('close');
    await closed;
  }
});

describe('SSH session address family', () => {
  it('family 4 refuses an IPv6 address before connecting; family 6 an IPv4 one', async () => {
    await expect(open('::1', v6.port, 4)).rejects.toMatchObject({ kind: 'bad-input', message: '::1 is an IPv6 address, and only IPv4 may be used' });
    await expect(open('127.0.0.1', v4.port, 6)).rejects.toMatchObject({ kind: 'bad-input', message: '127.0.0.1 is an IPv4 address, and only IPv6 may be used' });
    expect(v6.connections()).toBe(0);
    expect(v4.connections()).toBe(0);
  });

  it('an address of the family asked for is connected to (the listener says nothing: the login times out)', async () => {
    await expect(open('::1', v6.port, 6, 300)).rejects.toMatchObject({ kind: 'timeout' });
    expect(v6.connections()).toBe(1);
  });
});
