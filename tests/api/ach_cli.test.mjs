// kontor ach validate|format|json|build, run as a black box on the
// conformance files (tests/conformance/ach, copied from moov-io/ach).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { runKontor, tempDir, removeTempDir } from './lib/harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'conformance', 'ach');
const VALID = fs.readdirSync(path.join(ROOT, 'valid')).map((f) => path.join(ROOT, 'valid', f));
const lines = (s) => s.split(/\r?\n/).filter((l) => l.length > 0);

describe('kontor ach', () => {
  const dir = tempDir('kontor-ach-');
  after(() => removeTempDir(dir));

  test('validate accepts every valid conformance file', async () => {
    const r = await runKontor(['ach', 'validate', ...VALID]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
  });

  test('validate names file, line, record, field and columns', async () => {
    const file = path.join(ROOT, 'invalid', 'ppd-debit-invalid-entryDetail-checkDigit.ach');
    const r = await runKontor(['ach', 'validate', file]);
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: record 6 field checkDigit \\(cols 12-12\\): entry detail: RDFI check digit does not match the routing number`, 'm'),
    );
  });

  test('validate --json reports every file; exit 1 when one is invalid', async () => {
    const bad = path.join(ROOT, 'invalid', 'web-invalidNOCFile.ach');
    const r = await runKontor(['ach', 'validate', '--json', VALID[0], bad]);
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout);
    assert.equal(out.length, 2);
    assert.equal(out[0].valid, true);
    assert.equal(out[1].valid, false);
    const e = out[1].errors.find((x) => x.field === 'changeCode');
    assert.ok(e, r.stdout);
    assert.deepEqual([e.line, e.recordType, e.start, e.end, e.kind], [4, '7', 4, 6, 'invalid change code']);
  });

  test('no input crashes the reader', async () => {
    const junk = path.join(dir, 'junk.ach');
    fs.writeFileSync(junk, Buffer.from([0, 255, 10, 54, 13, 13, 10, 57, 57]));
    const r = await runKontor(['ach', 'validate', junk, ...fs.readdirSync(path.join(ROOT, 'invalid')).filter((f) => f.endsWith('.ach')).map((f) => path.join(ROOT, 'invalid', f))]);
    assert.equal(r.code, 1);
    assert.equal(r.signal, null);
  });

  test('usage and I/O errors exit 2', async () => {
    assert.equal((await runKontor(['ach', 'validate', path.join(dir, 'missing.ach')])).code, 2);
    assert.equal((await runKontor(['ach', 'validate'])).code, 2);
    assert.equal((await runKontor(['ach', 'format', path.join(dir, 'missing.ach')])).code, 2);
  });

  test('format writes back record for record; CRLF becomes LF', async () => {
    for (const f of VALID) {
      const r = await runKontor(['ach', 'format', f]);
      assert.equal(r.code, 0, f + r.stderr);
      assert.deepEqual(lines(r.stdout), lines(fs.readFileSync(f, 'latin1')), f);
    }
    const crlf = path.join(dir, 'crlf.ach');
    const src = lines(fs.readFileSync(path.join(ROOT, 'valid', 'ppd-debit.ach'), 'latin1'));
    fs.writeFileSync(crlf, src.join('\r\n'));
    const r = await runKontor(['ach', 'format', crlf]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, src.join('\n') + '\n');
  });

  test('json then build gives the same file; build computes the controls', async () => {
    const file = path.join(ROOT, 'valid', 'web-debit.ach');
    const j = await runKontor(['ach', 'json', file]);
    assert.equal(j.code, 0, j.stderr);
    const doc = JSON.parse(j.stdout);
    assert.equal(doc.batches.length, 3);
    assert.equal(doc.batches[0].entries[0].amount, 3521);
    const jf = path.join(dir, 'web.json');
    fs.writeFileSync(jf, j.stdout);
    let b = await runKontor(['ach', 'build', jf]);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(lines(b.stdout), lines(fs.readFileSync(file, 'latin1')));

    // Change an amount and drop the controls: the builder recomputes them.
    doc.batches[0].entries[0].amount = 100;
    for (const batch of doc.batches) delete batch.batchControl;
    delete doc.fileControl;
    fs.writeFileSync(jf, JSON.stringify(doc));
    b = await runKontor(['ach', 'build', jf]);
    assert.equal(b.code, 0, b.stderr);
    const out = path.join(dir, 'built.ach');
    fs.writeFileSync(out, b.stdout);
    const v = await runKontor(['ach', 'validate', out]);
    assert.equal(v.code, 0, v.stdout);
    assert.equal(lines(b.stdout).length % 10, 0);

    fs.writeFileSync(jf, JSON.stringify({ fileHeader: { bogus: 1 }, batches: [] }));
    b = await runKontor(['ach', 'build', jf]);
    assert.equal(b.code, 1);
    assert.match(b.stderr, /bogus: unknown field/);
  });
});
