// Prints the size of the built UI, raw and gzipped, file by file: the
// number to keep small.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name !== 'README.md') files.push(p);
  }
})(dist);
let raw = 0, gz = 0;
for (const f of files.sort()) {
  const data = readFileSync(f);
  const z = gzipSync(data, { level: 9 }).length;
  raw += data.length;
  gz += z;
  console.log(`  ${relative(dist, f).padEnd(32)} ${(data.length / 1024).toFixed(1).padStart(7)} KiB  ${(z / 1024).toFixed(1).padStart(6)} KiB gzipped`);
}
console.log(`  ${'total'.padEnd(32)} ${(raw / 1024).toFixed(1).padStart(7)} KiB  ${(gz / 1024).toFixed(1).padStart(6)} KiB gzipped`);
