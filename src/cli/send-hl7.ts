/**
 * Sends a file of HL7 v2 messages over MLLP and prints each ACK.
 *
 *   npm run send-hl7 -- <file> [--host 127.0.0.1] [--port 2575] [--timeout 10000]
 *
 * Messages in the file are separated by blank lines or start at each `MSH` line; line ends become `\r`.
 * Each message waits for its ACK before the next is sent (HL7 original mode). Exit code 1 when any ACK is
 * not AA (or none came), 2 on bad usage.
 */
import { readFileSync } from 'node:fs';
import { Hl7Message } from '@medplum/core';
import { Hl7Client } from '@medplum/hl7';
import { loadConfig } from '../config/config';
import { splitHl7Messages } from '../intake/hl7v2/split-messages';

interface Args {
  file: string;
  host: string;
  port: number;
  timeout: number;
}

function parseArgs(argv: string[]): Args {
  const config = loadConfig();
  const args: Args = { file: '', host: '127.0.0.1', port: config.MLLP_PORT, timeout: 10_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i] ?? '';
    if (a === '--host') args.host = next();
    else if (a === '--port') args.port = Number(next());
    else if (a === '--timeout') args.timeout = Number(next());
    else if (a && !a.startsWith('--')) args.file = a;
  }
  if (!args.file || !Number.isInteger(args.port)) {
    process.stderr.write('usage: npm run send-hl7 -- <file> [--host 127.0.0.1] [--port 2575] [--timeout 10000]\n');
    process.exit(2);
  }
  return args;
}

/**
 * `client.sendAndWait` with a timer of our own, cleared when the ACK comes: @medplum/hl7 4.5 leaves its own
 * `timeoutMs` timer running after the ACK, which kept this command alive for the whole timeout (10 s by default)
 * after the last message had its answer.
 */
async function sendAndWait(client: Hl7Client, msg: Hl7Message, timeoutMs: number): Promise<Hl7Message> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([client.sendAndWait(msg), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const messages = splitHl7Messages(readFileSync(args.file, 'utf8'));
  const client = new Hl7Client({ host: args.host, port: args.port, connectTimeout: 5000 });
  let failed = 0;
  try {
    for (const [i, text] of messages.entries()) {
      const msg = Hl7Message.parse(text);
      const label = `${i + 1}/${messages.length} ${msg.getSegment('MSH')?.getField(9)?.toString() ?? '?'} ${msg.getSegment('MSH')?.getField(10)?.toString() ?? '?'}`;
      try {
        const ack = await sendAndWait(client, msg, args.timeout);
        const code = ack.getSegment('MSA')?.getField(1)?.toString() ?? '?';
        if (code !== 'AA') failed++;
        process.stdout.write(`${label} → ${ack.toString().split('\r').join(' | ')}\n`);
      } catch (e) {
        failed++;
        process.stdout.write(`${label} → no ACK: ${(e as Error).message}\n`);
      }
    }
  } finally {
    await client.close();
  }
  process.stdout.write(`${messages.length - failed} of ${messages.length} acknowledged AA\n`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((e: unknown) => {
  process.stderr.write(`send-hl7: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
