/**
 * The hospital side of the ingest benchmark, run as a child process (as real senders are other machines): N MLLP
 * connections in HL7 original mode (one message in flight each), whole stays per connection (A01, A08, A03) so a
 * stay's order holds. Reports to the parent over IPC: ACK counts and latencies, and when each A01 was sent
 * (wall-clock ms, comparable across processes). The senders write MLLP frames themselves (`frame()` of the server) and
 * read only MSA-1 of each ACK: a full HL7 client would spend this machine's CPU (shared with the gateway) on parsing.
 * With a rate (messages/s) the messages are paced to a fixed schedule (open loop) and every latency is measured
 * from the message's scheduled time, so a gateway that falls behind is not flattered (no coordinated omission).
 * The mix says what each stay sends: `stay3` (A01, A08, A03: `adt`) or `national` (five messages: `nationalStay`).
 *   argv: <port> <stays> <connections> <runId> [rate, 0 for none] [mix]
 */
import { connect, type Socket } from 'node:net';
import { frame } from '../../src/intake/hl7v2/mllp-server';
import { adt, nationalStay } from './synthetic';

const [port, stays, connections, runId, rate, mix] = process.argv.slice(2);
const interval = Number(rate) > 0 ? 1000 / Number(rate) : 0;
const messagesOf = (i: number): string[] =>
  mix === 'national' ? nationalStay(i, runId!) : ['A01', 'A08', 'A03'].map((event, n) => adt(event, i, n, runId!));
let nextSlot = 0;

const wallNow = () => performance.timeOrigin + performance.now();
const cpu0 = process.cpuUsage();
const start = wallNow();
let nextStay = 0;
const ackMs: number[] = [];
const a01Sent: [string, number][] = [];
let notAA = 0;

/** One MLLP connection: send a framed message, wait for the framed reply, return its MSA-1. */
function mllpConnection(): Promise<{ send(msg: string): Promise<string>; close(): void }> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: '127.0.0.1', port: Number(port) }, () => resolve({ send, close }));
    socket.setNoDelay(true);
    socket.once('error', reject);
    let buffer = '';
    let waiting: ((ack: string) => void) | undefined;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf('\x1c\r');
      if (end < 0) return;
      const reply = buffer.slice(buffer.indexOf('\x0b') + 1, end);
      buffer = buffer.slice(end + 2);
      const msa = reply.split('\r').find((seg) => seg.startsWith('MSA|'));
      waiting?.(msa?.split('|')[1] ?? '');
    });
    function send(msg: string): Promise<string> {
      return new Promise((res) => {
        waiting = res;
        socket.write(frame(msg));
      });
    }
    function close() {
      socket.end();
    }
  });
}

async function connection(): Promise<void> {
  const client = await mllpConnection();
  try {
    for (let i = nextStay++; i < Number(stays); i = nextStay++) {
      for (const [n, msg] of messagesOf(i).entries()) {
        let t0 = wallNow();
        if (interval > 0) {
          const due = start + nextSlot++ * interval;
          if (due > t0) await new Promise((r) => setTimeout(r, due - t0));
          t0 = due;
        }
        if (n === 0) a01Sent.push([`B-${runId}-${i}-${n}`, t0]);
        const code = await client.send(msg);
        ackMs.push(wallNow() - t0);
        if (code !== 'AA') notAA++;
      }
    }
  } finally {
    client.close();
  }
}

await Promise.all(Array.from({ length: Number(connections) }, connection));
const end = wallNow();
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000;
process.send?.({ start, end, ackMs, a01Sent, notAA, cpuMs }, () => process.exit(0));
