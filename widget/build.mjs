// Bundles src/ into dist/huiqi-widget.js: one self-contained script (CSS inside)
// that any page can load with a single <script> tag.
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
const result = await build({
  entryPoints: [join(here, 'src', 'widget.js')],
  outfile: join(dist, 'huiqi-widget.js'),
  bundle: true,
  format: 'iife',
  minify: true,
  sourcemap: false,
  target: 'es2020',
  loader: { '.css': 'text' },
  legalComments: 'eof',
  metafile: true,
  logLevel: 'warning',
});
const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
console.log(`widget/dist/huiqi-widget.js ${(bytes / 1024).toFixed(1)} KiB`);
