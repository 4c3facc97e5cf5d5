/**
 * coordination.postgres is libpq's connection string (URL or key=value): parsed once into typed options, with
 * libpq's sslmode default, and its password found in every form for redaction.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '../../src/errors.js';
import { describeTarget, redact } from '../../src/postgres/connection.js';
import { conninfoPasswords, parseConnInfo } from '../../src/postgres/conninfo.js';
import { pgLocker } from '../../src/postgres/lock.js';
import { pgSkipReason } from '../helpers/pg.js';

const usage = (pattern: RegExp) => (err: unknown) => err instanceof AppError && err.code === 'USAGE' && pattern.test(err.message);
const env = {};

describe('parseConnInfo', () => {
  test('a URL: user, password, host, port, database, parameters', () => {
    const info = parseConnInfo(' postgresql://u%40x:p%3Aw@db.local:6543/my%20db?sslmode=verify-full&application_name=a ', 'k', env);
    assert.deepEqual(
      { host: info.host, port: info.port, database: info.database, user: info.user, password: info.password, sslmode: info.sslmode, app: info.applicationName },
      { host: 'db.local', port: 6543, database: 'my db', user: 'u@x', password: 'p:w', sslmode: 'verify-full', app: 'a' },
    );
    assert.equal(parseConnInfo('postgres://[::1]/d', 'k', env).host, '::1');
    assert.equal(parseConnInfo('postgresql://h/d?password=s%20e', 'k', env).password, 's e');
    assert.equal(parseConnInfo('postgresql:///d?host=/var/run/postgresql', 'k', env).host, '/var/run/postgresql');
  });

  test('key=value pairs, quoting and escapes as libpq reads them', () => {
    const info = parseConnInfo("host = db.example  dbname='my db' user=o\\'k password='p@ss w:rd' sslmode=require", 'k', env);
    assert.deepEqual([info.host, info.database, info.user, info.password, info.sslmode], ['db.example', 'my db', "o'k", 'p@ss w:rd', 'require']);
    assert.equal(parseConnInfo('host=::1 port=5433', 'k', env).port, 5433);
  });

  test('sslmode: prefer by default (as libpq), PGSSLMODE, and pg\'s ssl=true', () => {
    assert.equal(parseConnInfo('host=h', 'k', env).sslmode, 'prefer');
    assert.equal(parseConnInfo('host=h', 'k', { PGSSLMODE: 'disable' }).sslmode, 'disable');
    assert.equal(parseConnInfo('postgresql://h/d?ssl=true', 'k', env).sslmode, 'require');
    assert.throws(() => parseConnInfo('host=h sslmode=maybe', 'k', env), usage(/sslmode must be one of disable, allow, prefer/));
  });

  test('the description names host, port and database; redaction hides the password in every form', () => {
    const text = "host=/var/run/postgresql dbname=app user=me password='s3cret!pw'";
    assert.equal(describeTarget(parseConnInfo(text, 'k', env)), '/var/run/postgresql:5432/app');
    assert.equal(redact('failed with s3cret!pw', text), 'failed with ***');
    assert.deepEqual(conninfoPasswords('postgresql://u:p%40ss@h/d'), ['p%40ss', 'p@ss']);
    assert.deepEqual(conninfoPasswords('postgresql://u@h/d?sslmode=require&password=a%2Bb+c'), ['a%2Bb+c', 'a+b c']);
    assert.deepEqual(conninfoPasswords("host=h password='x y\\'z'"), ["x y'z", "'x y\\'z'", "x y\\'z"]);
    assert.deepEqual(conninfoPasswords('host=h password=plain'), ['plain']);
  });

  test('unknown keywords, several hosts and garbage are USAGE errors that never show a value', () => {
    assert.throws(() => parseConnInfo('host=h passfile=/secret/file', 'k', env), usage(/keyword "passfile" is not supported/));
    assert.throws(() => parseConnInfo('postgresql://h/d?sslpassword=x', 'k', env), usage(/keyword "sslpassword" is not supported/));
    assert.throws(() => parseConnInfo('host=a,b dbname=x', 'k', env), usage(/several hosts/));
    assert.throws(() => parseConnInfo('port=54x32', 'k', env), usage(/port must be a number/));
    assert.throws(() => parseConnInfo('just-a-password-like-string', 'k', env), (err: unknown) => usage(/neither a postgresql:\/\/ URL nor libpq/)(err) && !String(err).includes('just-a-password'));
    assert.throws(() => parseConnInfo('host=h x', 'copyToCsv: connectionString', env), usage(/^copyToCsv: connectionString is neither/));
  });
});

const skip = await pgSkipReason();

test('a key=value connection string takes a real lock', { skip }, async () => {
  const held = await pgLocker({ connectionString: 'host=127.0.0.1 port=5432 dbname=test user=root', lockName: `conninfo-${process.pid}` }).acquire();
  await held.release();
});
