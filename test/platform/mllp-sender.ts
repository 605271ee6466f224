import { createConnection, type Socket } from 'node:net';

/**
 * A minimal MLLP sender as a hospital system behaves: one connection, one message at a time, and a message is
 * sent again (after a pause) until it is answered `AA`; an `AE` or a lost connection means "resend later".
 */
export class PatientSender {
  private socket: Socket | undefined;
  private buffer = '';
  private waiting: ((frame: string | undefined) => void) | undefined;
  /** Every answer code received, per control id, in order (e.g. ['AE', 'AA']). */
  readonly answers = new Map<string, string[]>();

  constructor(private readonly port: number) {}

  private connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = createConnection({ port: this.port, host: '127.0.0.1' });
      s.setEncoding('utf8');
      s.once('connect', () => resolve(s));
      s.once('error', reject);
      s.on('data', (d: string) => {
        this.buffer += d;
        const end = this.buffer.indexOf('\x1c\r');
        if (end >= 0) {
          const frame = this.buffer.slice(this.buffer.indexOf('\x0b') + 1, end);
          this.buffer = this.buffer.slice(end + 2);
          this.waiting?.(frame);
        }
      });
      s.on('close', () => {
        if (this.socket === s) this.socket = undefined;
        this.waiting?.(undefined);
      });
    });
  }

  private async once(text: string, timeoutMs: number): Promise<string | undefined> {
    this.socket ??= await this.connect().catch(() => undefined);
    const s = this.socket;
    if (!s) return undefined;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        s.destroy();
        resolve(undefined);
      }, timeoutMs);
      this.waiting = (frame) => {
        clearTimeout(timer);
        this.waiting = undefined;
        resolve(frame);
      };
      s.write(`\x0b${text}\x1c\r`);
    });
  }

  /** Sends until `AA` (or `maxTries`); returns the last answer code ('none' when nothing came back). */
  async send(controlId: string, text: string, maxTries = 200): Promise<string> {
    let code = 'none';
    for (let i = 0; i < maxTries; i++) {
      const frame = await this.once(text, 15_000);
      code = /(?:^|\r)MSA\|([A-Z]{2})/.exec(frame ?? '')?.[1] ?? 'none';
      this.answers.set(controlId, [...(this.answers.get(controlId) ?? []), code]);
      if (code === 'AA') return code;
      await new Promise((r) => setTimeout(r, 250));
    }
    return code;
  }

  close(): void {
    this.socket?.destroy();
  }
}
