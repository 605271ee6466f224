import net from 'node:net';

const VT = 0x0b;
const END = Buffer.from([0x1c, 0x0d]);

/** An MLLP client that writes raw bytes (any framing, any content) and collects the answer frames in order. */
export class RawMllpClient {
  private buf = Buffer.alloc(0);
  private readonly frames: string[] = [];
  private readonly waiters: ((frame: string) => void)[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (;;) {
        const s = this.buf.indexOf(VT);
        const e = this.buf.indexOf(END);
        if (s < 0 || e < 0) break;
        const text = this.buf.subarray(s + 1, e).toString('utf8');
        this.buf = this.buf.subarray(e + 2);
        const w = this.waiters.shift();
        if (w) w(text);
        else this.frames.push(text);
      }
    });
  }

  static async connect(port: number): Promise<RawMllpClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawMllpClient(socket);
  }

  write(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  /** Wraps a text in `<VT> … <FS><CR>` and writes it. */
  send(text: string): void {
    this.write(Buffer.concat([Buffer.from([VT]), Buffer.from(text, 'utf8'), END]));
  }

  /** The next answer frame; rejects after `timeoutMs` without one. */
  next(timeoutMs = 5000): Promise<string> {
    const f = this.frames.shift();
    if (f !== undefined) return Promise.resolve(f);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no MLLP answer within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  }

  /** Answer frames received but not yet taken. */
  pending(): number {
    return this.frames.length;
  }

  close(): void {
    this.socket.destroy();
  }
}
