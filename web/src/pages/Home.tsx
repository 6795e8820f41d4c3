import { LevelBadge } from '../components/ui';
import { href } from '../router';
import { can, levelOf, useSession } from '../session';
import { COMPONENT_LABELS, COMPONENTS } from '../types';

const ADMIN_TILES = [
  { key: 'users', label: 'Users', text: 'Staff accounts, roles and per-user overrides.' },
  { key: 'roles', label: 'Roles', text: 'Built-in and custom roles and their permission matrix.' },
  { key: 'tokens', label: 'API tokens', text: 'Bearer tokens for integrations and scripts.' },
  { key: 'webhooks', label: 'Webhooks', text: 'Outbound events to other systems and their delivery log.' },
  { key: 'audit', label: 'Audit log', text: 'Who changed what, when, and from where.' },
  { key: 'jobs', label: 'Jobs', text: 'Background jobs, their progress and schedules.' },
];

export function HomePage() {
  const { me } = useSession();
  const modules = COMPONENTS.filter((c) => c !== 'admin' && can(me, c, 'read'));
  return (
    <div data-testid="home">
      <div class="mb-4">
        <h1 class="h3 mb-1">Welcome, {me.name || me.email}</h1>
        <div class="text-body-secondary">
          Signed in as <strong>{me.email}</strong> with role <span class="badge text-bg-secondary">{me.role}</span>
        </div>
      </div>
      <div class="row g-3">
        <div class="col-lg-8">
          <div class="card shadow-sm h-100">
            <div class="card-header bg-body">Modules</div>
            <div class="list-group list-group-flush">
              {modules.length === 0 && (
                <div class="list-group-item text-body-secondary">No modules are available to you yet.</div>
              )}
              {modules.map((c) => (
                <a
                  key={c}
                  href={href(c)}
                  class="list-group-item list-group-item-action d-flex justify-content-between align-items-center"
                >
                  {COMPONENT_LABELS[c]}
                  <LevelBadge level={levelOf(me, c)} />
                </a>
              ))}
            </div>
          </div>
        </div>
        <div class="col-lg-4">
          <div class="card shadow-sm h-100">
            <div class="card-header bg-body">Your permissions</div>
            <table class="table table-sm mb-0" data-testid="my-permissions">
              <tbody>
                {COMPONENTS.map((c) => (
                  <tr key={c}>
                    <td class="ps-3">{COMPONENT_LABELS[c]}</td>
                    <td class="text-end pe-3">
                      <LevelBadge level={levelOf(me, c)} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
        {can(me, 'admin', 'read') && (
          <div class="col-12">
            <div class="card shadow-sm">
              <div class="card-header bg-body">Administration</div>
              <div class="card-body">
                <div class="row g-3">
                  {ADMIN_TILES.map((t) => (
                    <div class="col-sm-6 col-lg" key={t.key}>
                      <a href={href(t.key)} class="admin-tile d-block h-100 p-3 border rounded text-decoration-none">
                        <div class="fw-semibold">{t.label}</div>
                        <div class="small text-body-secondary">{t.text}</div>
                      </a>
                    </div>
                  ))}
                </div>
              </div>
            </div>
          </div>
        )}
      </div>
    </div>
  );
}
