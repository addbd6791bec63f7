import { useEffect, useState } from 'react';

export default function Reports() {
  const [rows, setRows] = useState(null);
  useEffect(() => {
    let cancelled = false;
    fetch('/api/slow?ms=50')
      .then((res) => res.json())
      .then((data) => !cancelled && setRows([{ label: 'Backend version', value: data.version }]))
      .catch(() => !cancelled && setRows([]));
    return () => {
      cancelled = true;
    };
  }, []);

  return (
    <section>
      <h2>Reports</h2>
      {rows === null ? (
        <p>Loading…</p>
      ) : (
        <table>
          <tbody>
            {rows.map((r) => (
              <tr key={r.label}>
                <td>{r.label}</td>
                <td>{r.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
