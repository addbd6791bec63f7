// zdd configuration, written by `zdd init`. Every key is described in zdd's README and JSON schema
// (node_modules/zdd/schema/zdd.schema.json); your editor completes them through defineConfig.
// Relative paths are relative to this file's folder. Check it with `zdd doctor`, then run `zdd deploy`.
import { defineConfig } from 'zdd';

export default defineConfig({
  // The PM2 app name: lowercase letters, digits and "-".
  app: {{app}},

  // Absolute deploy root: releases/<id>, shared/ and the `current` symlink live here.
  deployTo: {{deployTo}},

  // Releases kept on disk, current included (for `zdd rollback`).
  keepReleases: 5,

{{#frontend}}
  // The Vite frontend ({{frontendReason}}).
  frontend: {
    root: {{frontendRoot}},
    build: {{frontendBuild}}, // run in root
    outDir: {{frontendOutDir}}, // relative to root; must contain index.html ({{frontendOutDirFrom}})
    // install: zdd runs `{{frontendInstall}}` before the build ({{frontendInstallFrom}}); set frontend.install to change it
  },

{{/frontend}}
{{^frontend}}
  // No Vite frontend was found. Add one like this:
  // frontend: { root: 'frontend', build: 'npx vite build', outDir: 'dist' },

{{/frontend}}
{{#backend}}
  // The Node backend, run by PM2 in cluster mode through <deployTo>/current.
  backend: {
    root: {{backendRoot}}, // copied into the release without node_modules ({{backendRootWhy}})
{{#workspaceKey}}
    workspace: {{workspaceRoot}}, // {{workspaceWhy}}
{{/workspaceKey}}
{{#workspaceComment}}
    // workspace: {{workspaceRoot}}, // {{workspaceWhy}} (needs a zdd that knows backend.workspace)
{{/workspaceComment}}
{{#backendBuild}}
    build: {{backendBuildCommand}}, // run in root before copying ({{backendBuildFrom}})
{{/backendBuild}}
{{#backendInstall}}
    install: {{backendInstall}}, // run in the release's backend folder ({{backendInstallFrom}})
{{/backendInstall}}
{{^backendInstall}}
    // install: zdd derives it from {{backendInstallFrom}}: the backend's production dependencies and the workspace packages it needs
{{/backendInstall}}
    script: {{backendScript}}, // entry point, relative to root ({{backendScriptFrom}})
    port: {{backendPort}}, // passed to the app as PORT ({{backendPortFrom}})
{{#includeKey}}
    include: {{include}}, // files outside root the app reads: {{includeFrom}}
{{/includeKey}}
{{#includeComment}}
    // include: {{include}}, // files outside root the app reads: {{includeFrom}} (needs a zdd that knows backend.include)
{{/includeComment}}
    instances: 'max', // a number, or "max" (one per CPU)
    env: { NODE_ENV: 'production' }, // extra environment; values are never printed
    // For a reload with no failed request, the app should call process.send('ready') once it
    // listens, and on SIGINT close its server and drain within killTimeout.
    readyTimeout: 10000,
    killTimeout: 15000,
  },

  // A release must answer 2xx here (on a spare port) before any traffic moves to it.
  healthcheck: {
    path: {{healthPath}}, // {{healthFrom}}
    timeout: 30000,
  },

{{/backend}}
{{^backend}}
  // No Node backend was found. Add one like this:
  // backend: { root: 'backend', script: 'server.js', port: 3000 },

{{/backend}}
  // Nginx fronts the app: the site file is {{nginxFile}}. Remove this section if no Nginx is used.
  // zdd runs `test` before switching traffic; it reloads only when the Nginx config changed.
  // Use `sudo nginx -t` / `sudo nginx -s reload` if the deploy user needs it.
  nginx: {
    test: 'nginx -t',
    reload: 'nginx -s reload',
  },

  // Files and folders in <deployTo>/shared, linked into every release (they outlive deploys).
{{*sharedNotes}}
  // {{note}}
{{/sharedNotes}}
  shared: {
    files: {{sharedFiles}}, // {{sharedFilesWhy}}
    dirs: {{sharedDirs}}, // {{sharedDirsWhy}}
  },

  // Shell commands at named points, run in the release with ZDD_RELEASE set.
  hooks: {
    beforeSwitch: [], // e.g. ['npm run migrate']
  },
});
