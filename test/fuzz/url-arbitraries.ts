import fc from 'fast-check';

const PARAM_NAMES = [
  '_id',
  '_count',
  '_offset',
  '_sort',
  '_include',
  '_revinclude',
  '_include:iterate',
  '_revinclude:iterate',
  '_lastUpdated',
  '_elements',
  '_summary',
  '_total',
  '_since',
  '_has:Task:patient:status',
  'identifier',
  'identifier:missing',
  'owner',
  'owner:missing',
  'status',
  'status:not',
  'code',
  'code:text',
  'patient',
  'subject',
  'encounter',
  'for',
  'date',
  'period',
  'authored-on',
  'modified',
  'business-status',
  'name',
  'name:exact',
  'family:contains',
  'birthdate',
  'criteria',
  'organization',
  'patient.identifier',
  'subject:Patient.name',
  'encounter.status',
  'focus:Task.code',
  'owner.name:contains',
  'encounter.patient.identifier',
  'focus:Task.encounter.patient.name',
  'encounter.patient.organization.partof.name',
];

/** Raw (already percent-encoded or deliberately broken) pieces of a query string. */
const RAW = ['%', '%Z', '%E0%A4%A', '%00', '%C0%AF', '%FF', '+', '&&', '=', '==', '%2526', '%0A', '%7F'];

const value = fc.oneof(
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
  fc.constantFrom(...RAW),
  fc.integer().map(String),
  fc.constantFrom('gt2026-01-01', 'le2026-13-45', 'eq', 'ap1e309', 'sa', '-1', '0', '1000000', '9999999999999999999'),
  // values the result parameters take (a _sort by a search parameter with _summary=count once answered 500)
  fc.constantFrom(
    '-date',
    'authored-on',
    '-birthdate',
    'identifier,-_lastUpdated',
    'count',
    'accurate',
    'true',
    'data',
    'text',
    'status,owner',
    'name',
  ),
  fc.constantFrom(
    'Organization/kommun-1980',
    'Patient/',
    '/',
    'a|b|c',
    '|',
    'http://x|',
    'Task:patient',
    'Task:part-of',
    'Encounter:patient',
    'Task:subject:Encounter',
    'Task:*',
    '*',
  ),
  fc.nat({ max: 5000 }).map((n) => 'x'.repeat(n)),
  fc.array(fc.constantFrom('a', ',', '|', '$', ':', '.'), { maxLength: 30 }).map((a) => encodeURIComponent(a.join(''))),
);

const name = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...PARAM_NAMES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.constantFrom(...RAW) },
);

/** A query string of 0–5 parameters, names and values fuzzed (some deliberately mis-encoded). */
export const searchQuery = fc
  .array(fc.tuple(name, value), { maxLength: 5 })
  .map((pairs) => pairs.map(([n, v]) => `${n}=${v}`).join('&'));

/** An id or version id as it appears in a URL path: valid ones, odd unicode, bad percent-encoding, dot segments. */
export const strangeId = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9.-]{1,64}$/),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }).map(encodeURIComponent),
  fc.constantFrom(
    ...RAW,
    '..',
    '.',
    '%2F',
    '%2E%2E',
    '$everything',
    '_history',
    '_search',
    'x'.repeat(65),
    'a%00b',
    '1e309',
  ),
);
