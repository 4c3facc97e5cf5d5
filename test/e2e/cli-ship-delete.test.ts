/**
 * `ship TARBALL... --delete` through the real CLI (contract §5, §7): each accepted tarball is deleted, a failed one
 * stays; without --delete nothing is deleted. `disposition` says what is on disk.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { cli, makeProject, requireBuild, type Project } from '../helpers/fault-cli.js';
import { startIngress, type TestIngress } from '../helpers/ingress.js';

type ShipDoc = { tarballs: { path: string; shipped: boolean; disposition: string; error: string | null }[] };

describe('ship --delete', () => {
  let project: Project;
  let ingress: TestIngress;
  const tarballs: string[] = [];

  before(async () => {
    requireBuild();
    ingress = await startIngress();
    project = await makeProject({ ship: { url: ingress.url, contentType: 'application/vnd.redhat.tower.tower_payload+tgz' } });
    await project.collector('hosts.mjs', `import { register } from 'analytics-collect';
export const hosts = register({ key: 'hosts', version: '1.0' }, async () => ({ n: 1 }));\n`);
    for (const until of ['2026-11-26T00:00:00Z', '2026-11-27T00:00:00Z', '2026-11-28T00:00:00Z']) {
      const result = await cli(['gather', '--until', until], { cwd: project.dir });
      assert.equal(result.code, 0, result.stderr);
      tarballs.push(result.stdout.trim());
    }
  });
  after(async () => {
    await ingress.close();
    await project.cleanup();
  });

  it('without --delete every tarball stays (disposition kept)', async () => {
    const result = await cli(['ship', tarballs[0]!, '--json'], { cwd: project.dir });
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as ShipDoc).tarballs[0]!.disposition, 'kept');
    assert.ok(existsSync(tarballs[0]!));
  });

  it('--delete deletes the accepted ones and keeps a refused one; exit 1 for the failure', async () => {
    ingress.misbehave({ status: 202, body: '{"request_id":"r1"}' }, { status: 400, body: 'bad' });
    const result = await cli(['ship', tarballs[1]!, tarballs[2]!, '--delete', '--json'], { cwd: project.dir });
    assert.equal(result.code, 1, result.stderr);
    const doc = JSON.parse(result.stdout) as ShipDoc;
    assert.deepEqual(
      doc.tarballs.map((t) => [t.path, t.shipped, t.disposition]),
      [
        [tarballs[1], true, 'deleted'],
        [tarballs[2], false, 'kept'],
      ],
    );
    assert.equal(existsSync(tarballs[1]!), false);
    assert.equal(existsSync(tarballs[2]!), true);
    assert.match(result.stderr, /Deleted 1 accepted tarball \(--delete\)/);
  });
});
