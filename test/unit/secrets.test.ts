import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import {
  clearSecrets,
  configSecrets,
  connectionStringSecrets,
  escapeControl,
  escapeControlInJson,
  escapeControlLine,
  escapeRawInJson,
  installOutputBoundary,
  redactBytes,
  redactSecrets,
  registerSecret,
} from '../../src/secrets/index.js';

afterEach(clearSecrets);

const SECRET = 'Top Secret!\'()*~/+=&é"\\<x>';

/** Every encoding a secret may travel in, as something outside us would write it. */
function encodings(secret: string): Record<string, string> {
  const strict = encodeURIComponent(secret).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return {
    raw: secret,
    uriComponent: encodeURIComponent(secret),
    rfc3986: strict,
    lowerHex: strict.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    form: new URLSearchParams({ client_secret: secret }).toString().slice('client_secret='.length),
    formStrict: strict.replace(/%20/g, '+'),
    base64: Buffer.from(secret).toString('base64'),
    base64url: Buffer.from(secret).toString('base64url'),
    json: JSON.stringify(secret).slice(1, -1),
    jsonTwice: JSON.stringify(JSON.stringify(secret).slice(1, -1)).slice(1, -1),
    html: secret.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;'),
  };
}

describe('redactSecrets', () => {
  it('masks a registered secret in every encoding', () => {
    registerSecret(SECRET);
    for (const [name, form] of Object.entries(encodings(SECRET))) {
      const out = redactSecrets(`before ${form} after`);
      assert.equal(out, 'before *** after', `${name}: ${form}`);
    }
  });

  it('masks a secret inside a longer base64 text at every alignment (Basic auth, a document encoded whole)', () => {
    registerSecret('hunter2-password');
    for (const prefix of ['', 'a', 'ab', 'alice:', 'user:x']) {
      const blob = Buffer.from(`${prefix}hunter2-password;tail`).toString('base64');
      assert.ok(redactSecrets(blob).includes('***'), `prefix ${JSON.stringify(prefix)}: ${blob}`);
    }
  });

  it('masks the longer of two overlapping secrets whole, and ignores very short ones', () => {
    registerSecret('abcd');
    registerSecret('abcdef123');
    registerSecret('ab');
    assert.equal(redactSecrets('key=abcdef123 x=abcd y=ab'), 'key=*** x=*** y=ab');
  });

  it('masks URL passwords and credential headers even when not registered', () => {
    const out = redactSecrets('via http://bob:hunter22@proxy:3128 and {"authorization":"Basic Ym9iOmh1bnRlcjIy"} x-rh-identity: eyJpZGVudGl0eSI6e319');
    for (const leak of ['hunter22', 'Ym9iOmh1bnRlcjIy', 'eyJpZGVudGl0eSI6e319']) assert.ok(!out.includes(leak), out);
    assert.match(out, /http:\/\/bob:\*\*\*@proxy:3128/);
  });

  it('leaves ordinary text alone', () => {
    registerSecret('s3cr3t-value');
    const text = 'upload of a-0.tar.gz failed: HTTP 503 Service Unavailable; basic authentication';
    assert.equal(redactSecrets(text), text);
  });
});

describe('redactBytes', () => {
  it('replaces secrets byte for byte and leaves other bytes, binary included, untouched', () => {
    registerSecret('pässwörd-1');
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0xc3]);
    const input = Buffer.concat([binary, Buffer.from(' pässwörd-1 '), binary]);
    const out = Buffer.from(redactBytes(input));
    assert.deepEqual(out, Buffer.concat([binary, Buffer.from(' *** '), binary]));
    const clean = Buffer.from('nothing here');
    assert.equal(redactBytes(clean), clean);
  });
});

describe('connectionStringSecrets', () => {
  it('finds the password in every form libpq accepts', () => {
    assert.deepEqual(connectionStringSecrets('postgres://app:p%40ss-w0rd@db:5432/x'), ['p%40ss-w0rd', 'p@ss-w0rd']);
    assert.deepEqual(connectionStringSecrets('postgresql://app@db/x?sslmode=require&password=qp%2Bw0rd'), ['qp%2Bw0rd', 'qp+w0rd']);
    assert.ok(connectionStringSecrets("host=db password='kv pass\\'s' user=app").includes("kv pass's"));
    assert.ok(connectionStringSecrets('host=db password=bare-w0rd user=app').includes('bare-w0rd'));
    assert.deepEqual(connectionStringSecrets('postgresql://root@127.0.0.1:5432/test'), []);
  });
});

describe('configSecrets', () => {
  it('collects credentials, proxy userinfo, the database password, the redaction key and the environment', () => {
    const secrets = configSecrets(
      {
        ship: { username: 'alice', password: 'pw-1', token: 'tok', proxy: 'http://puser:p%40ss@proxy:3128', clientId: 'cid', clientSecret: 'csec' },
        coordination: { postgres: "host=db password='db pass' user=x" },
        redact: { keyEnv: 'MY_KEY', key: 'redaction-key-0123456789' },
      },
      { HTTPS_PROXY: 'http://envuser:envpass@proxy:1', ANALYTICS_PG_URL: 'postgres://u:envpg@h/d', MY_KEY: 'redaction-key-0123456789' },
    );
    for (const value of ['alice', 'pw-1', 'alice:pw-1', 'cid:csec', 'tok', 'puser', 'p%40ss', 'p@ss', 'puser:p@ss', 'db pass', 'envpass', 'envpg', 'redaction-key-0123456789']) {
      assert.ok(secrets.includes(value), `${value} missing from ${JSON.stringify(secrets)}`);
    }
  });
});

describe('escapeControl', () => {
  it('escapes what could drive a terminal and keeps tabs and line feeds', () => {
    const hostile = 'a\u001b[2J\u001b]0;title\u0007\u001b]52;c;Y2xpcA==\u0007\u009b1m\r\u202eb\tc\nd';
    assert.equal(escapeControl(hostile), 'a\\x1b[2J\\x1b]0;title\\x07\\x1b]52;c;Y2xpcA==\\x07\\u009b1m\\x0d\\u202eb\tc\nd');
    assert.equal(escapeControlLine('x\ty\nz'), 'x\\ty\\nz');
    assert.equal(escapeControl('plain ünïcode ✓'), 'plain ünïcode ✓');
  });
});

describe('control characters in JSON texts', () => {
  it('escapeControlInJson makes values print their controls as text; escapeRawInJson keeps values', () => {
    const json = JSON.stringify({ msg: 'a\u001b[2Jb\rc\u009bd\\u001b', n: 1 });
    const shown = escapeControlInJson(json);
    assert.equal((JSON.parse(shown) as { msg: string }).msg, 'a\\x1b[2Jb\\x0dc\\u009bd\\u001b');
    assert.equal(JSON.parse(escapeRawInJson(json)).msg, JSON.parse(json).msg);
    assert.ok(!/[\u0080-\u009f]/.test(escapeRawInJson(json)));
  });
});

describe('installOutputBoundary', () => {
  it('redacts every write to the wrapped streams, strings and bytes, until restored', async () => {
    registerSecret('planted-secret-42');
    const chunks: Buffer[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk);
        done();
      },
    });
    const restore = installOutputBoundary([stream]);
    installOutputBoundary([stream]); // twice is harmless
    stream.write('a planted-secret-42 b\n');
    stream.write('csi \u009b2J\n');
    stream.write(Buffer.from(`c ${Buffer.from('planted-secret-42').toString('base64')} d\n`));
    await new Promise<void>((resolve) => stream.write(Buffer.from('planted-secret-42', 'utf8').toString('hex'), 'hex', () => resolve()));
    restore();
    stream.write('planted-secret-42\n');
    assert.equal(Buffer.concat(chunks).toString(), 'a *** b\ncsi \\u009b2J\nc *** d\n***planted-secret-42\n');
  });
});

it('a credential header inside a JSON string is masked without breaking the document', () => {
  // Found by the ingress fuzz: an echoed `Authorization: Basic …` followed by JSON, inside `--json`'s error text.
  const doc = JSON.stringify({ error: 'HTTP 200: Authorization: Basic ZnotdXNlci1RNzpm={"user":"u"}', nested: JSON.stringify({ authorization: 'Bearer abc123' }) });
  const masked = redactSecrets(doc);
  assert.doesNotMatch(masked, /ZnotdXNlci1RNzpm|abc123/);
  assert.doesNotThrow(() => JSON.parse(masked) as unknown);
});
