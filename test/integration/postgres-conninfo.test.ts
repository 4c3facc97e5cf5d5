/**
 * coordination.postgres as libpq key=value pairs: node-postgres reads URLs only, so they become one.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '../../src/errors.js';
import { describeTarget, redact } from '../../src/postgres/connection.js';
import { toConnectionUrl } from '../../src/postgres/conninfo.js';
import { pgLocker } from '../../src/postgres/lock.js';
import { pgSkipReason } from '../helpers/pg.js';

const usage = (pattern: RegExp) => (err: unknown) => err instanceof AppError && err.code === 'USAGE' && pattern.test(err.message);

describe('toConnectionUrl', () => {
  test('URLs pass unchanged', () => {
    assert.equal(toConnectionUrl(' postgresql://u:p@h:1/d?sslmode=verify-full '), 'postgresql://u:p@h:1/d?sslmode=verify-full');
    assert.equal(toConnectionUrl('postgres://h/d'), 'postgres://h/d');
  });

  test('key=value pairs become the same connection as a URL', () => {
    assert.equal(toConnectionUrl('host=127.0.0.1 port=5432 dbname=test user=root'), 'postgresql://root@127.0.0.1:5432/test');
    assert.equal(
      toConnectionUrl("host = db.example  dbname='my db' user=o\\'k password='p@ss w:rd' sslmode=verify-full"),
      'postgresql://o\'k:p%40ss%20w%3Ard@db.example/my%20db?sslmode=verify-full',
    );
    assert.equal(toConnectionUrl('host=::1 port=5433'), 'postgresql://[::1]:5433/');
    assert.equal(toConnectionUrl('host=/var/run/postgresql dbname=app'), 'postgresql://localhost/app?host=%2Fvar%2Frun%2Fpostgresql');
  });

  test('the description names host, port and database; redaction hides the password', () => {
    const url = toConnectionUrl("host=/var/run/postgresql dbname=app user=me password='s3cret!pw'");
    assert.equal(describeTarget(url), '/var/run/postgresql:5432/app');
    assert.equal(redact(`failed for ${url} with s3cret!pw`, url), 'failed for <connection string> with ***');
  });

  test('unknown keywords, several hosts and garbage are USAGE errors that never show a value', () => {
    assert.throws(() => toConnectionUrl('host=h passfile=/secret/file'), usage(/keyword "passfile" is not supported/));
    assert.throws(() => toConnectionUrl('host=a,b dbname=x'), usage(/several hosts/));
    assert.throws(() => toConnectionUrl('port=54x32'), usage(/port must be a number/));
    assert.throws(() => toConnectionUrl('just-a-password-like-string'), (err: unknown) => usage(/neither a postgresql:\/\/ URL nor libpq/)(err) && !String(err).includes('just-a-password'));
    assert.throws(() => toConnectionUrl('host=h x', 'copyToCsv: connectionString'), usage(/^copyToCsv: connectionString is neither/));
  });
});

const skip = await pgSkipReason();

test('a key=value connection string takes a real lock', { skip }, async () => {
  const held = await pgLocker({ connectionString: 'host=127.0.0.1 port=5432 dbname=test user=root', lockName: `conninfo-${process.pid}` }).acquire();
  await held.release();
});
