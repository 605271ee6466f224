/**
 *   sender [--mllp-port 2576] [--http-port 8181] [--host 127.0.0.1] [--profile mappings/<file>.json]
 *          [--agreement vastmanland] [--agreements-dir <dir>] [--file feed.hl7 ...] [--json report.json]
 * With --file the feed is analysed and the kit exits (status 1 when a message was refused or a stay misses
 * mandatory content); without it the kit listens until Ctrl-C and prints the summary then.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadProfiles, profileSchema, type SenderProfile } from '../../mapping/profile';
import { getAgreement, loadAgreements } from '../../agreements/load-agreements';
import { splitHl7Messages } from '../../intake/hl7v2/split-messages';
import { SenderSession } from './analyse';
import { formatMessage, formatSummary } from './format';
import { startSenderEndpoints } from './server';

/** The shipped profiles, with the one under test (a file) put first so it wins for its sender. */
export function profilesWith(file: string | undefined): SenderProfile[] {
  const shipped = loadProfiles();
  if (!file) return shipped;
  const p = profileSchema.parse(JSON.parse(readFileSync(resolve(file), 'utf8')));
  return [p, ...shipped.filter((s) => s.id !== p.id)];
}

export async function senderCli(args: string[]): Promise<void> {
  const { values: a } = parseArgs({
    args,
    options: {
      'mllp-port': { type: 'string', default: '2576' },
      'http-port': { type: 'string', default: '8181' },
      host: { type: 'string', default: '127.0.0.1' },
      profile: { type: 'string' },
      agreement: { type: 'string', default: process.env.AGREEMENT ?? 'vastmanland' },
      'agreements-dir': { type: 'string', default: process.env.AGREEMENTS_DIR },
      file: { type: 'string', multiple: true },
      json: { type: 'string' },
    },
  });
  const agreement = getAgreement(await loadAgreements({ extraDir: a['agreements-dir'] }), a.agreement);
  const session = new SenderSession(profilesWith(a.profile), agreement);
  const writeJson = () => {
    if (a.json)
      writeFileSync(a.json, JSON.stringify({ messages: session.messages, stays: session.summary() }, null, 2));
  };
  if (a.file?.length) {
    for (const f of a.file)
      for (const m of splitHl7Messages(readFileSync(f, 'utf8'))) console.log(formatMessage(session.hl7(m, 'mllp')));
    console.log(formatSummary(session));
    writeJson();
    const bad = session.messages.some((m) => m.ack !== 'AA') || session.summary().some((s) => s.missing.length > 0);
    process.exitCode = bad ? 1 : 0;
    return;
  }
  const ep = await startSenderEndpoints(session, {
    httpPort: Number(a['http-port']),
    mllpPort: Number(a['mllp-port']),
    host: a.host,
    onMessage: (m) => console.log(formatMessage(m)),
  });
  console.error(
    `sender kit: MLLP on ${a.host}:${ep.mllpPort}, HTTP on http://${a.host}:${ep.httpPort} ` +
      `(POST /hl7v2, POST /fhir, GET /report); agreement ${agreement.id}. Ctrl-C prints the summary.`,
  );
  process.on('SIGINT', () => {
    console.log(formatSummary(session));
    writeJson();
    void ep.close().then(() => process.exit(0));
  });
}
