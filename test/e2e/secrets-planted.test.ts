/**
 * Planted secrets through the real CLI (contract §5): secrets from the environment (ship credentials, a proxy
 * password, the redaction key, the database password in each of libpq's three forms) are fed through every path
 * that prints — a collector's error in the summary and in `--json` (`collections[].error`), the config
 * collector's error, a module load error, collector code's own console output and logger, a token endpoint
 * echoing the form it was sent (a client secret with a space and `!'()`), trace logs — and stdout, stderr and
 * the files the run left are searched for each secret in every encoding: zero hits.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startIngress, type TestIngress } from '../helpers/ingress.js';
import { cleanEnv, cli, listTree, makeProject, requireBuild, type Project } from '../helpers/fault-cli.js';
import { jsonSource } from '../helpers/fault-collectors.js';

const CONTENT_TYPE = 'application/vnd.redhat.tower.tower_payload+tgz';
const PG = { host: '127.0.0.1', port: 5432, user: 'root', db: 'test' };
const SECRETS = {
  username: 'usr-Planted-41',
  password: 'pw-Planted+/7 ok',
  clientId: 'cid-Planted-77',
  clientSecret: "Top Secret!'() cs-9*",
  token: 'tok-Planted.v4lue',
  proxyPassword: 'pxp-Planted@9:x',
  redactKey: 'rk-Planted-0123456789abcdef',
  pgPassword: "pg-Planted pw!'x",
};

/** Every form a secret could leak in. */
function needles(): string[] {
  const forms = (s: string): string[] => {
    const component = encodeURIComponent(s);
    const strict = component.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    return [s, component, strict, strict.replace(/%20/g, '+'), new URLSearchParams({ x: s }).toString().slice(2), Buffer.from(s).toString('base64'), JSON.stringify(s).slice(1, -1)];
  };
  return [
    ...Object.values(SECRETS).flatMap(forms),
    Buffer.from(`${SECRETS.username}:${SECRETS.password}`).toString('base64'),
    Buffer.from(`${SECRETS.clientId}:${SECRETS.clientSecret}`).toString('base64'),
  ];
}

function assertNoSecret(where: string, text: string): void {
  for (const needle of needles()) {
    const at = text.indexOf(needle);
    assert.ok(at < 0, `${where} holds a secret (${JSON.stringify(needle)}): …${JSON.stringify(text.slice(Math.max(0, at - 120), at + needle.length + 120))}…`);
  }
}

/** The three forms of a libpq connection string, each with the planted password. */
const PG_URLS = {
  url: `postgresql://${PG.user}:${encodeURIComponent(SECRETS.pgPassword)}@${PG.host}:${PG.port}/${PG.db}`,
  query: `postgresql://${PG.user}@${PG.host}:${PG.port}/${PG.db}?password=${encodeURIComponent(SECRETS.pgPassword)}`,
  keyValue: `host=${PG.host} port=${PG.port} dbname=${PG.db} user=${PG.user} password='${SECRETS.pgPassword.replace(/'/g, "\\'")}'`,
};

const env = (pgUrl?: string): NodeJS.ProcessEnv =>
  cleanEnv({
    ANALYTICS_USERNAME: SECRETS.username,
    ANALYTICS_PASSWORD: SECRETS.password,
    ANALYTICS_CLIENT_ID: SECRETS.clientId,
    ANALYTICS_CLIENT_SECRET: SECRETS.clientSecret,
    ANALYTICS_TOKEN: SECRETS.token,
    ANALYTICS_REDACT_KEY: SECRETS.redactKey,
    HTTPS_PROXY: `http://pxu:${encodeURIComponent(SECRETS.proxyPassword)}@127.0.0.1:9`,
    NO_PROXY: '127.0.0.1',
    ...(pgUrl ? { ANALYTICS_PG_URL: pgUrl } : {}),
  });

/** A collector's error text holding every secret, in several encodings, as collector code might build it. */
const LEAK_EXPRESSION = `[
  'db: ' + process.env.ANALYTICS_PG_URL,
  'pw ' + process.env.ANALYTICS_PASSWORD,
  'enc ' + encodeURIComponent(process.env.ANALYTICS_CLIENT_SECRET),
  'form ' + new URLSearchParams({ client_secret: process.env.ANALYTICS_CLIENT_SECRET }),
  'basic ' + Buffer.from(process.env.ANALYTICS_USERNAME + ':' + process.env.ANALYTICS_PASSWORD).toString('base64'),
  'json ' + JSON.stringify({ token: process.env.ANALYTICS_TOKEN, id: process.env.ANALYTICS_CLIENT_ID }),
  'key ' + process.env.ANALYTICS_REDACT_KEY,
  'proxy ' + process.env.HTTPS_PROXY,
  'pgpw ' + decodeURIComponent(${JSON.stringify(encodeURIComponent(SECRETS.pgPassword))}),
].join('; ')`;

const HEAD = `import { register } from 'analytics-collect';\n`;
const leakyCollector = (key: string): string =>
  `${HEAD}export const c = register({ key: ${JSON.stringify(key)}, version: '1.0' }, async (ctx) => {
  const leak = ${LEAK_EXPRESSION};
  console.log('console.log ' + leak);
  console.error('console.error ' + leak);
  process.stdout.write('stdout.write ' + leak + '\\n');
  ctx.logger.warn({ detail: leak, password: process.env.ANALYTICS_PASSWORD }, 'logger ' + leak);
  throw new Error('collector failed: ' + leak);
});\n`;
const leakyConfigCollector = `${HEAD}export const config = register({ key: 'config', version: '1.0', config: true }, async () => {
  throw new Error('config collector failed: ' + ${LEAK_EXPRESSION});
});\n`;
const leakyModule = `${HEAD}throw new Error('cannot load: ' + ${LEAK_EXPRESSION});\n`;

const projects: Project[] = [];
let lockSeq = 0;

/** A project using the PostgreSQL state (so the connection string is really used) or the file state. */
async function project(ship: Record<string, unknown> = {}, pg = false): Promise<Project> {
  const coordination = pg ? { coordination: { lockName: `ac-secrets-planted-${process.pid}-${lockSeq++}`, table: 'ac_secrets_planted' } } : {};
  const p = await makeProject({ ...coordination, ship: { contentType: CONTENT_TYPE, retries: 0, timeoutMs: 5000, ...ship } });
  projects.push(p);
  return p;
}

async function searchLeftFiles(p: Project): Promise<void> {
  for (const rel of await listTree(p.dir)) {
    if (rel === 'analytics.config.json' || rel.startsWith('collectors')) continue;
    const bytes = await readFile(join(p.dir, rel)).catch(() => null);
    if (bytes) assertNoSecret(rel, bytes.toString('latin1'));
  }
}

/** Runs the CLI; checks the exit code and that nothing it printed or left holds a secret. */
async function run(p: Project, args: string[], code: number, pgUrl?: string): Promise<{ stdout: string; stderr: string }> {
  const result = await cli(args, { cwd: p.dir, env: env(pgUrl) });
  assertNoSecret(`stdout of ${args.join(' ')}`, result.stdout);
  assertNoSecret(`stderr of ${args.join(' ')}`, result.stderr);
  assert.equal(result.code, code, result.stderr);
  await searchLeftFiles(p);
  return result;
}

before(requireBuild);
after(async () => {
  await Promise.all(projects.map((p) => p.cleanup()));
});

describe('planted secrets never leave the process', () => {
  it('a failing collector: summary, --json collections[].error, console output, logs', async () => {
    const p = await project();
    await p.collector('leaky.mjs', leakyCollector('leaky'));
    await p.collector('fine.mjs', jsonSource('fine', { ok: 1 }));
    for (const pgUrl of Object.values(PG_URLS)) {
      const json = await run(p, ['gather', '--json', '--log-level', 'trace'], 1, pgUrl);
      // Collector code's own stdout writes may share stdout with the document: the document is its one JSON line.
      const report = JSON.parse(json.stdout.split('\n').find((line) => line.startsWith('{"')) ?? 'null') as { collections: { key: string; error: string | null }[] };
      const error = report.collections.find((c) => c.key === 'leaky')?.error ?? '';
      assert.match(error, /collector failed: .*pw \*\*\*/, error);
      const text = await run(p, ['gather', '--log-level', 'trace'], 1, pgUrl);
      assert.match(text.stderr, /collector failed/);
    }
  });

  it('the database password in each libpq form, with the state in PostgreSQL', async () => {
    for (const [form, pgUrl] of Object.entries(PG_URLS)) {
      const p = await project({}, true);
      await p.collector('leaky.mjs', leakyCollector('leaky'));
      const result = await run(p, ['gather', '--json', '--log-level', 'trace'], 1, pgUrl);
      assert.ok(result.stdout.includes('***'), `${form}: ${result.stdout}`);
    }
  });

  it("the config collector's error", async () => {
    const p = await project();
    await p.collector('00-config.mjs', leakyConfigCollector);
    await run(p, ['gather', '--json', '--log-level', 'trace'], 1, PG_URLS.keyValue);
    const text = await run(p, ['gather'], 1, PG_URLS.query);
    assert.match(text.stderr, /config collector failed/);
  });

  it('a module load error, as text and as the --json error document', async () => {
    const p = await project();
    await p.collector('broken.mjs', leakyModule);
    const json = await run(p, ['gather', '--json'], 2, PG_URLS.url);
    assert.match(json.stdout + json.stderr, /cannot load/);
    await run(p, ['list'], 2, PG_URLS.keyValue);
    await run(p, ['gather', '--ship'], 2, PG_URLS.query);
  });
});

describe('control characters from collector code', () => {
  it("a collector's error with escape sequences is shown escaped in the summary, --json and the logs", async () => {
    const p = await project();
    const hostile = 'boom\u001b]0;pwned\u0007\u001b[2J\u001b]52;c;ZXZpbA==\u0007\u009b31m\rdone';
    await p.collector('hostile.mjs', `${HEAD}export const c = register({ key: 'hostile', version: '1.0' }, async () => { throw new Error(${JSON.stringify(hostile)}); });\n`);
    for (const args of [['gather', '--json'], ['gather']]) {
      const result = await run(p, args, 1);
      for (const [name, text] of [['stdout', result.stdout], ['stderr', result.stderr]] as const) {
        assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(text), `${args.join(' ')} ${name}: ${JSON.stringify(text)}`);
      }
      assert.match(result.stdout + result.stderr, /boom\\x1b\]0;pwned/);
    }
  });
});

describe('planted secrets echoed by the other side', () => {
  let ingress: TestIngress;
  before(async () => {
    ingress = await startIngress({ auth: { mode: 'service-account', clientId: SECRETS.clientId, clientSecret: SECRETS.clientSecret } });
  });
  after(() => ingress.close());

  it('a token endpoint echoing the client secret form-encoded (space, !\'())', async () => {
    const p = await project({ url: ingress.url, tokenUrl: ingress.tokenUrl, auth: 'service-account' });
    await p.collector('fine.mjs', jsonSource('fine', { ok: 1 }));
    ingress.misbehaveToken({ status: 400, echoBody: true }, { status: 400, echoBody: true });
    const json = await run(p, ['gather', '--ship', '--json', '--log-level', 'trace'], 1);
    assert.match(json.stdout, /the token endpoint .* answered HTTP 400: grant_type=client_credentials&client_id=\*\*\*&client_secret=\*\*\*/);
    assert.ok(ingress.tokenRequests.length >= 1);
  });
});
