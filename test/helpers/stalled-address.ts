/**
 * A loopback address where a connection attempt stalls, as at an API server address that drops
 * packets: a child process listens with the smallest backlog and then blocks, so it never accepts;
 * once the kernel's accept queue is full, it drops new SYNs and the client waits for its own
 * timeout. The queue is filled, and the stall checked, before the address is handed out.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';

export interface StalledAddress {
  readonly port: number;
  close(): Promise<void>;
}

/** How long the child blocks at most, should the test never close it. */
const CHILD_LIFETIME_MS = 60_000;
/** A connection attempt not done in this is taken for stalled. */
const STALL_CHECK_MS = 300;
const MAX_FILLERS = 16;

const CHILD = `
const server = require('node:net').createServer();
server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
  process.stdout.write(server.address().port + '\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${CHILD_LIFETIME_MS});
  process.exit(0);
});
`;

export async function stalledAddress(): Promise<StalledAddress> {
  const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['ignore', 'pipe', 'inherit'] });
  const fillers: net.Socket[] = [];
  const close = async (): Promise<void> => {
    for (const socket of fillers) socket.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  };
  try {
    const port = await portOf(child.stdout);
    for (let filled = 0; ; filled++) {
      if (filled >= MAX_FILLERS) throw new Error(`port ${port}: still accepting connections after ${MAX_FILLERS}`);
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      fillers.push(socket);
      if (!(await connects(socket))) return { port, close };
    }
  } catch (error) {
    await close();
    throw error;
  }
}

async function portOf(stdout: NodeJS.ReadableStream | null): Promise<number> {
  if (stdout === null) throw new Error('the listener child has no stdout');
  let text = '';
  const timer = setTimeout(() => stdout.emit('error', new Error('the listener child printed no port in 10 s')), 10_000);
  try {
    for await (const chunk of stdout) {
      text += String(chunk);
      if (text.includes('\n')) return Number(text.trim());
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error('the listener child exited without a port');
}

/** Whether `socket` connects within STALL_CHECK_MS. */
function connects(socket: net.Socket): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), STALL_CHECK_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
