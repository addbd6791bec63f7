import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const versionFile = fileURLToPath(new URL('./src/version.json', import.meta.url));

/** Exposes the app version to plain HTTP clients as <meta name="app-version">. */
function appVersionMeta() {
  return {
    name: 'app-version-meta',
    transformIndexHtml() {
      const { version } = JSON.parse(readFileSync(versionFile, 'utf8'));
      return [
        { tag: 'meta', attrs: { name: 'app-version', content: String(version) }, injectTo: 'head' },
      ];
    },
  };
}

export default defineConfig({
  plugins: [react(), appVersionMeta()],
});
