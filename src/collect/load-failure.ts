/**
 * Why a user module failed to load, in one line with the place: `SyntaxError at line 4, column 3: Unexpected
 * identifier 'b'`. Node reports a JavaScript syntax error without its position, so the position is found again
 * by parsing the module's import graph with esbuild (only on this error path). Quoted source text longer than a
 * few characters is elided: a module's literals may hold credentials.
 */
import { ContainedError } from './contain.js';
import { describeThrown, locationSuffix, shownPath, stackOf, userFrame } from './where.js';

export async function loadFailure(err: unknown, file: string): Promise<string> {
  if (err instanceof ContainedError) {
    if (!err.timedOut) return err.message;
    const bound = err.message.replace(' (collectorTimeoutMs)', ' (collectorTimeoutMs, at least 5 s for loading)');
    return `${bound}; does its top-level code wait for something that never comes?`;
  }
  const text = err instanceof Error && typeof err.message === 'string' ? err.message : '';
  const transform = /^(.*?):(\d+):(\d+): ERROR: (.*)$/m.exec(text);
  if (transform && /Transform failed/.test(text)) {
    const [, where = '', line, column, reason = ''] = transform;
    return `SyntaxError${inOther(where, file)} at line ${line}, column ${Number(column) + 1}: ${elide(reason)}`;
  }
  if (err instanceof SyntaxError && userFrame(stackOf(err)) === null) {
    const found = await locate(file);
    if (found) return `SyntaxError${inOther(found.file, file)} at line ${found.line}, column ${found.column + 1}: ${describeThrown(err)}`;
  }
  const name = err instanceof Error && err.name !== 'Error' && typeof err.name === 'string' ? `${err.name}: ` : '';
  return `${name}${describeThrown(err)}${locationSuffix(err)}`;
}

const inOther = (where: string, file: string): string => (where === '' || where === file ? '' : ` in ${shownPath(where)}`);

const elide = (reason: string): string => reason.replace(/"(?:[^"\\]|\\.)*"/g, (quoted) => (quoted.length > 7 ? '"…"' : quoted)).slice(0, 200);

interface Found {
  file: string;
  line: number;
  column: number;
}

/** The first error esbuild finds in `file` and the modules it imports by relative path, or null. */
async function locate(file: string): Promise<Found | null> {
  try {
    const esbuild = await import('esbuild');
    await esbuild.build({
      entryPoints: [file],
      bundle: true,
      write: false,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      logLevel: 'silent',
    });
    return null;
  } catch (err) {
    const errors = (err as { errors?: { text?: string; location?: { file: string; line: number; column: number } | null }[] }).errors ?? [];
    const hit = errors.find((e) => e.location && !/^Could not resolve/.test(e.text ?? ''));
    if (!hit?.location) return null;
    const { line, column } = hit.location;
    const where = hit.location.file.startsWith('/') ? hit.location.file : `${process.cwd()}/${hit.location.file}`;
    return { file: where, line, column };
  }
}
