import { lazy, Suspense, useEffect, useState } from 'react';
import { version } from './version.json';

// Loaded on demand: the build emits it as a separate chunk under dist/assets/.
const Reports = lazy(() => import('./Reports.jsx'));

function useHashRoute() {
  const [hash, setHash] = useState(() => window.location.hash);
  useEffect(() => {
    const onChange = () => setHash(window.location.hash);
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return hash;
}

function useApiVersion() {
  const [api, setApi] = useState({ state: 'loading' });
  useEffect(() => {
    let cancelled = false;
    fetch('/api/version')
      .then((res) => {
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return res.json();
      })
      .then((data) => !cancelled && setApi({ state: 'ok', data }))
      .catch((err) => !cancelled && setApi({ state: 'error', error: String(err.message ?? err) }));
    return () => {
      cancelled = true;
    };
  }, []);
  return api;
}

export default function App() {
  const hash = useHashRoute();
  const api = useApiVersion();

  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 640, margin: '2rem auto' }}>
      <h1>Shop</h1>
      <nav style={{ display: 'flex', gap: '1rem' }}>
        <a href="#/">Home</a>
        <a href="#/reports">Reports</a>
      </nav>
      <p>
        Frontend version: <strong data-testid="frontend-version">{version}</strong>
      </p>
      <p>
        Backend version:{' '}
        <strong data-testid="backend-version">
          {api.state === 'ok' && `${api.data.version}${api.data.release ? ` (${api.data.release})` : ''}`}
          {api.state === 'loading' && '…'}
          {api.state === 'error' && `unavailable (${api.error})`}
        </strong>
      </p>
      {hash === '#/reports' ? (
        <Suspense fallback={<p>Loading reports…</p>}>
          <Reports />
        </Suspense>
      ) : (
        <section>
          <h2>Home</h2>
          <p>Welcome to the shop.</p>
        </section>
      )}
    </main>
  );
}
