// Vite builds the UI into dist/, which web/embed.go embeds into the runlog
// binary. dist/README.md belongs to the Go side (the embed needs a file
// there even before the first build), so the build never empties dist/:
// scripts/clean-dist.mjs removes the previous build's files instead.
import { defineConfig } from 'vite';

const server = process.env.RUNLOG_DEV_SERVER || 'http://127.0.0.1:7707';

export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    assetsDir: 'assets',
    target: 'es2022',
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  // `npm run dev` serves the UI with hot reload and sends the API to a
  // running `runlog ui` (RUNLOG_DEV_SERVER, default its usual address).
  server: {
    proxy: {
      '/api': { target: server },
      '/login': { target: server },
    },
  },
});
