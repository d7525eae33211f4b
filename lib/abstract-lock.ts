// A name only one live process can hold: a listening UNIX socket in Linux's abstract namespace. The kernel
// binds a name to one socket at most, so claiming it is one atomic step (bind succeeds or fails EADDRINUSE),
// and it frees the name when the holder's process ends, however it ends (SIGKILL included). Nothing is ever
// half-written, nothing goes stale, so there is no takeover and no race in one. Whoever finds the name taken
// learns the holder's PID by connecting: the holder answers with it.
//
// Scope: one host and one network namespace (abstract names belong to the network namespace).
import { createConnection, createServer, type Server } from 'node:net';

export interface Claim {
  release(): void;
}

/** Claim `name` (a leading NUL makes it abstract), or undefined if a live process holds it. */
export function claimName(name: string): Promise<Claim | undefined> {
  return new Promise((resolvePromise, reject) => {
    const server: Server = createServer((socket) => socket.end(`${process.pid}\n`));
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolvePromise(undefined) : reject(err)));
    server.listen({ path: name, exclusive: true }, () => {
      server.unref(); // holding a claim never keeps a process alive on its own
      resolvePromise({ release: () => void server.close() });
    });
  });
}

/** The holder's PID, as it answers on the name; undefined if nobody holds it or it does not answer within 1 s. */
export function holderOf(name: string): Promise<number | undefined> {
  return new Promise((resolvePromise) => {
    let text = '';
    const socket = createConnection({ path: name });
    const done = (pid?: number) => {
      socket.destroy();
      resolvePromise(pid);
    };
    socket.setTimeout(1000, () => done());
    socket.on('data', (b: Buffer) => (text += b.toString()));
    socket.on('end', () => done(/^\d+\n$/.test(text) ? Number(text.trim()) : undefined));
    socket.on('error', () => done());
  });
}
