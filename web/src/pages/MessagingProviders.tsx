// Provider health: each messaging provider's state, queue and recent outcomes.
import { ApiError, get } from '../api';
import { DataTable } from '../components/DataTable';
import { PageHeader, ProblemAlert, Time } from '../components/ui';
import { useLoader, usePolling } from '../hooks';
import type { ProviderHealth } from '../messaging';
import { useCan } from '../session';
import { ChannelBadge, MissingRoute, MessagingLayout, routeMissing, StateBadge } from './MessagingCommon';

export function ProvidersPage() {
  const canSeeDevices = useCan('customers', 'read');
  const providers = useLoader(async () => (await get<{ items: ProviderHealth[] }>('/v1/messaging/providers')).items, []);
  usePolling(() => void providers.reload(), 5000, !providers.error);
  return (
    <MessagingLayout active="providers">
      <div data-testid="providers-page">
        <PageHeader title="Providers" subtitle="Where messages go out, whether each is sending, and how it went in the last hour" />
        {routeMissing(providers.error) ? (
          <MissingRoute what="provider health (GET /v1/messaging/providers)" />
        ) : (
          <div class="card shadow-sm">
            <ProblemAlert error={providers.error} />
            <DataTable
              testid="providers-table"
              cols={7}
              hover={false}
              head={
                <>
                  <th>Provider</th>
                  <th>Channel</th>
                  <th>State</th>
                  <th class="text-end">Queued</th>
                  <th class="text-end">Sent (1 h)</th>
                  <th class="text-end">Failed (1 h)</th>
                  <th>Last error</th>
                </>
              }
              items={providers.data}
              loading={providers.loading}
              empty="No providers are configured."
              row={(p) => (
                <tr key={`${p.name}:${p.channel}`} data-testid="provider-row" data-name={p.name} data-state={p.state}>
                  <td class="fw-medium">{p.name}</td>
                  <td>
                    <ChannelBadge channel={p.channel} />
                  </td>
                  <td>
                    <StateBadge state={p.state} testid="provider-state" title={p.paused_reason ?? undefined} />
                    {p.state !== 'ok' && (p.paused_reason || p.paused_until) && (
                      <div class="small text-body-secondary mt-1">
                        {p.paused_reason}
                        {p.paused_until && (
                          <>
                            {' '}
                            until <Time iso={p.paused_until} />
                          </>
                        )}
                      </div>
                    )}
                  </td>
                  <td class="text-end font-monospace">{p.queued.toLocaleString()}</td>
                  <td class="text-end font-monospace">{p.sent_1h.toLocaleString()}</td>
                  <td class={`text-end font-monospace ${p.failed_1h > 0 ? 'text-danger' : ''}`}>{p.failed_1h.toLocaleString()}</td>
                  <td class="small text-break" style={{ maxWidth: '22rem' }}>
                    {p.last_error ? (
                      <>
                        <span class="text-danger">{p.last_error}</span>
                        {p.last_error_at && (
                          <div class="text-body-secondary">
                            <Time iso={p.last_error_at} relative />
                          </div>
                        )}
                      </>
                    ) : (
                      <span class="text-body-tertiary">—</span>
                    )}
                  </td>
                </tr>
              )}
            />
          </div>
        )}
        {canSeeDevices && <DeviceStats />}
      </div>
    </MessagingLayout>
  );
}

interface DeviceStat {
  platform: string;
  active: number;
  unregistered: number;
  stale: number;
}

/** Push devices per platform (component `customers`): how many a push campaign can reach. */
function DeviceStats() {
  const stats = useLoader(async () => (await get<{ items: DeviceStat[] }>('/v1/devices/stats')).items, []);
  // Before GET /v1/devices/stats existed, the path meant the device "stats": a 404 either way.
  const missing = routeMissing(stats.error) || (stats.error instanceof ApiError && stats.error.status === 404);
  return (
    <div class="card shadow-sm mt-3">
      <div class="card-header bg-body">Push devices</div>
      {missing ? (
        <div class="card-body text-body-secondary small" data-testid="device-stats-missing">
          This server does not offer device statistics (GET /v1/devices/stats) yet.
        </div>
      ) : stats.error ? (
        <ProblemAlert error={stats.error} />
      ) : (
        <DataTable
          testid="device-stats-table"
          cols={4}
          hover={false}
          head={
            <>
              <th>Platform</th>
              <th class="text-end">Active</th>
              <th class="text-end">Stale</th>
              <th class="text-end">Unregistered</th>
            </>
          }
          items={stats.data}
          loading={stats.loading}
          empty="No devices registered."
          row={(d) => (
            <tr key={d.platform} data-testid="device-stat-row" data-platform={d.platform}>
              <td class="fw-medium">{d.platform}</td>
              <td class="text-end font-monospace">{d.active.toLocaleString()}</td>
              <td class="text-end font-monospace">{d.stale.toLocaleString()}</td>
              <td class="text-end font-monospace">{d.unregistered.toLocaleString()}</td>
            </tr>
          )}
        />
      )}
    </div>
  );
}
