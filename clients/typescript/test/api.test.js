// Every public method and function the package exports is called by a test against the real
// server: the list is read from the built package itself, so a new export without a test
// fails here.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import * as sdk from '../dist/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, '..', 'dist');

/** Members the declarations mark `private` (TypeScript keeps them on the prototype). */
function privateNames() {
  const names = new Set();
  for (const file of readdirSync(dist).filter((f) => f.endsWith('.d.ts'))) {
    for (const m of readFileSync(path.join(dist, file), 'utf8').matchAll(/\bprivate (?:readonly )?(\w+)/g)) {
      names.add(m[1]);
    }
  }
  return names;
}

test('every exported method and function is called by a test', () => {
  const hidden = privateNames();
  const exported = [];
  for (const [name, value] of Object.entries(sdk)) {
    if (typeof value !== 'function') continue;
    if (!/^class\b/.test(Function.prototype.toString.call(value))) {
      exported.push({ name, call: `${name}(` });
      continue;
    }
    const methods = Object.getOwnPropertyNames(value.prototype).filter((m) => m !== 'constructor');
    // A class: its public methods, and its static ones.
    for (const m of methods.filter((m) => !hidden.has(m))) exported.push({ name: `${name}.${m}`, call: `.${m}(` });
    for (const m of Object.getOwnPropertyNames(value).filter((m) => typeof value[m] === 'function')) {
      exported.push({ name: `${name}.${m}`, call: `${name}.${m}(` });
    }
  }
  assert.ok(exported.length > 20, `read the exports: ${exported.map((e) => e.name)}`);
  const tests = readdirSync(here)
    .filter((f) => f.endsWith('.test.js') && f !== 'api.test.js')
    .map((f) => readFileSync(path.join(here, f), 'utf8'))
    .join('\n');
  const untested = exported.filter((e) => !tests.includes(e.call)).map((e) => e.name);
  assert.deepEqual(untested, [], `exported but called by no test: ${untested.join(', ')}`);
});
