// Written by `zdd init`. Import it once, first thing in your entry file (src/main.jsx or main.tsx):
//
//   import './zdd-preload-error.js';
//
// After a deploy, a tab opened on an older release may fail to load a lazy chunk (the file is gone,
// or the network hiccuped): Vite then fires `vite:preloadError` on window. zdd keeps the chunks of
// the releases it keeps on disk, so this is rare; when it happens anyway, the best fix is to load
// the current release: reload the page, once. A marker in sessionStorage stops a reload loop when
// the chunk is missing on the new release too; it is cleared once the page has stayed up a while.
const KEY = 'zdd:preload-reload';
const STABLE_AFTER_MS = 10_000;

function read() {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return 'unavailable'; // storage blocked: never reload (we could not stop a loop)
  }
}

window.addEventListener('vite:preloadError', (event) => {
  if (read() !== null) return; // reloaded for this already: let the app's error handling show it
  try {
    sessionStorage.setItem(KEY, String(Date.now()));
  } catch {
    return;
  }
  event.preventDefault(); // don't throw the error: the page is going away
  window.location.reload();
});

// The page loaded and stayed up: a later failure may reload again.
setTimeout(() => {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    /* storage blocked */
  }
}, STABLE_AFTER_MS);
