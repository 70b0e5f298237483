// Removes the previous build from dist/, keeping dist/README.md, which the
// Go build needs (web/embed.go embeds all:dist).
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
mkdirSync(dist, { recursive: true });
for (const name of readdirSync(dist)) {
  if (name !== 'README.md') rmSync(join(dist, name), { recursive: true, force: true });
}
