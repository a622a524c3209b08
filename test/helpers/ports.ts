import { createServer } from 'node:net';

/**
 * Test servers that must listen on a port known in advance (a platform child process, an Odoo
 * started by hand) take one from below the kernel's ephemeral range (32768-60999 here): a port
 * the kernel hands out for port 0 or for an outgoing connection can be taken again between this
 * check and the real listen, which made a platform fail with EADDRINUSE under load.
 */
const FIRST = 20_000;
const LAST = 32_000;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export async function freeTestPort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = FIRST + Math.floor(Math.random() * (LAST - FIRST));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port between ${FIRST} and ${LAST}`);
}
