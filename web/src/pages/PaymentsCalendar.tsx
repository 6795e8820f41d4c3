import { useState } from 'preact/hooks';
import { get } from '../api';
import { DataTable } from '../components/DataTable';
import { PageHeader, ProblemAlert } from '../components/ui';
import { useLoader } from '../hooks';
import type { BankHoliday } from '../types';
import { PaymentsLayout } from './PaymentsCommon';

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
/** "2026-07-03" → "Friday" (the date read as a calendar day, not a UTC instant). */
const weekday = (iso: string) => {
  const [y, m, d] = iso.split('-').map(Number);
  return WEEKDAYS[new Date(Date.UTC(y!, m! - 1, d!)).getUTCDay()] ?? '';
};

export function BankingCalendarPage() {
  const thisYear = new Date().getFullYear();
  const [year, setYear] = useState(thisYear);
  const days = useLoader(async () => (await get<{ items: BankHoliday[] }>('/v1/banking-calendar', { year })).items, [year]);
  return (
    <PaymentsLayout active="calendar">
      <div data-testid="banking-calendar-page" style={{ maxWidth: '48rem' }}>
        <PageHeader
          title="Banking calendar"
          subtitle="Federal Reserve holidays: ACH does not settle on these days or on weekends; effective dates move to the next banking day"
          actions={
            <div class="input-group input-group-sm">
              <button class="btn btn-outline-secondary" onClick={() => setYear(year - 1)} aria-label="Previous year" disabled={year <= 1990}>
                ‹
              </button>
              <select class="form-select form-select-sm" aria-label="Year" value={year} onChange={(e) => setYear(Number(e.currentTarget.value))} data-testid="calendar-year">
                {Array.from({ length: 21 }, (_, i) => thisYear - 10 + i).concat(Math.abs(year - thisYear) > 10 ? [year] : []).sort((a, b) => a - b).map((y) => (
                  <option key={y} value={y}>
                    {y}
                  </option>
                ))}
              </select>
              <button class="btn btn-outline-secondary" onClick={() => setYear(year + 1)} aria-label="Next year" disabled={year >= 2200}>
                ›
              </button>
            </div>
          }
        />
        <div class="card shadow-sm">
          <ProblemAlert error={days.error} />
          <DataTable
            testid="banking-calendar-table"
            hover={false}
            cols={3}
            head={
              <>
                <th>Closed on</th>
                <th>Holiday</th>
                <th>Holiday's date</th>
              </>
            }
            items={days.data}
            loading={days.loading}
            empty="No closures."
            row={(h) => (
              <tr key={h.date} data-testid="holiday-row" data-date={h.date}>
                <td class="text-nowrap">
                  <span class="font-monospace">{h.date}</span> <span class="text-body-secondary small">{weekday(h.date)}</span>
                </td>
                <td>{h.name}</td>
                <td class="small text-nowrap">
                  {h.actual === h.date ? (
                    <span class="text-body-tertiary">same day</span>
                  ) : (
                    <>
                      <span class="font-monospace">{h.actual}</span> <span class="text-body-secondary">({weekday(h.actual)}; observed {weekday(h.date)})</span>
                    </>
                  )}
                </td>
              </tr>
            )}
          />
        </div>
      </div>
    </PaymentsLayout>
  );
}
