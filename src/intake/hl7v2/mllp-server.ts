import net from 'node:net';
import type { Logger } from '../../platform/logger';

/**
 * MLLP listener (HL7 v2 minimal lower layer protocol: <VT> message <FS><CR>) on a plain TCP server.
 *
 * Why not `@medplum/hl7`'s Hl7Server (checked in 4.5.2): its connection keeps the receive buffer when a
 * message fails to parse (every later message on that connection then fails too), sends no answer for such a
 * message, joins two frames that arrive in one TCP chunk into one message, and has no size limit. The gateway
 * must answer every frame (AR for garbage) and keep serving, so framing is done here; parsing and ACKs use
 * `@medplum/core`'s Hl7Message, and senders (CLI, tests, benchmark) use `@medplum/hl7`'s Hl7Client.
 *
 * Frames on one connection are handled one after the other and answered in order; many connections run
 * concurrently. The handler answers only after its commit (no "commit ACK" on receipt).
 */
export interface MllpServerOptions {
  port: number;
  host?: string;
  /** Returns the ACK text for one message; must not throw (a throw is answered with nothing and logged). */
  handle: (message: string, remote: string) => Promise<string>;
  /** Largest frame in bytes; beyond it the frame is dropped and `onTooLarge` answers. Default 2 MiB. */
  maxFrameBytes?: number;
  onTooLarge?: (head: string, remote: string) => Promise<string>;
  logger: Logger;
}

export interface MllpServer {
  port: number;
  connections(): number;
  close(): Promise<void>;
}

const VT = 0x0b;
const FS = 0x1c;
const CR = 0x0d;

/** Decodes a frame: UTF-8, unless it is not valid UTF-8 and MSH-18 names an ISO 8859 character set. */
export function decodeFrame(buf: Buffer): { text: string; encoding: 'utf8' | 'latin1' } {
  const text = buf.toString('utf8');
  if (!text.includes('\uFFFD')) return { text, encoding: 'utf8' };
  const latin = buf.toString('latin1');
  return /8859/.test(latin.split('\r')[0] ?? '') ? { text: latin, encoding: 'latin1' } : { text, encoding: 'utf8' };
}

export function frame(text: string, encoding: 'utf8' | 'latin1' = 'utf8'): Buffer {
  return Buffer.concat([Buffer.from([VT]), Buffer.from(text, encoding), Buffer.from([FS, CR])]);
}

export async function startMllpServer(opts: MllpServerOptions): Promise<MllpServer> {
  const max = opts.maxFrameBytes ?? 2 * 1024 * 1024;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    let chunks: Buffer[] = [];
    let size = 0;
    let inFrame = false;
    let oversized = false;
    let head = '';
    let queue: Promise<void> = Promise.resolve();

    const answer = (work: () => Promise<{ text: string; encoding: 'utf8' | 'latin1' }>) => {
      queue = queue
        .then(async () => {
          const { text, encoding } = await work();
          if (!socket.destroyed && text) socket.write(frame(text, encoding));
        })
        .catch((e: unknown) => opts.logger.error('mllp handler failed', { remote, err: (e as Error).message }));
    };

    socket.on('data', (data: Buffer) => {
      let start = 0;
      for (let i = 0; i < data.length; i++) {
        const b = data[i];
        if (!inFrame) {
          if (b === VT) {
            inFrame = true;
            chunks = [];
            size = 0;
            oversized = false;
            head = '';
            start = i + 1;
          }
          continue;
        }
        if (b === FS && (i + 1 >= data.length || data[i + 1] === CR)) {
          // End of frame (a lone FS at the chunk end is taken as the end; the CR that follows is skipped as noise).
          const piece = data.subarray(start, i);
          inFrame = false;
          if (oversized) {
            const h = head;
            answer(async () => ({ text: opts.onTooLarge ? await opts.onTooLarge(h, remote) : '', encoding: 'utf8' }));
            continue;
          }
          const body = Buffer.concat([...chunks, piece]);
          chunks = [];
          answer(async () => {
            const { text, encoding } = decodeFrame(body);
            return { text: await opts.handle(text, remote), encoding };
          });
          continue;
        }
        if (b === VT) {
          // A new start inside a frame: the previous frame was cut off; start over.
          chunks = [];
          size = 0;
          oversized = false;
          start = i + 1;
        }
      }
      if (inFrame) {
        const rest = data.subarray(start);
        size += rest.length;
        if (!oversized && size > max) {
          oversized = true;
          head = Buffer.concat([...chunks, rest])
            .subarray(0, 4096)
            .toString('utf8');
          chunks = [];
        } else if (!oversized) {
          chunks.push(Buffer.from(rest));
        }
      }
    });
    socket.on('error', (e) => opts.logger.warn('mllp connection error', { remote, err: e.message }));
    socket.on('close', () => sockets.delete(socket));
  });
  // A listen failure (port taken) is the caller's to report, once; later server errors are logged here.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => opts.logger.error('mllp server error', { err: e.message }));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  opts.logger.info('mllp listener started', { port });
  return {
    port,
    connections: () => sockets.size,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.end();
        setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, 2000).unref();
      });
    },
  };
}
