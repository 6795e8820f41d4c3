import { useEffect, useRef, useState } from 'preact/hooks';
import { errorMessage } from '../api';
import { href } from '../router';
import { can, useSession } from '../session';
import { COMPONENT_LABELS, COMPONENTS, type Component } from '../types';

const MODULES = COMPONENTS.filter((c) => c !== 'admin') as Exclude<Component, 'admin'>[];

const ADMIN_LINKS = [
  { key: 'users', label: 'Users' },
  { key: 'roles', label: 'Roles' },
  { key: 'tokens', label: 'API tokens' },
  { key: 'audit', label: 'Audit log' },
  { key: 'jobs', label: 'Jobs' },
];

export function Navbar(props: { route: string[] }) {
  const { me, logout } = useSession();
  const [open, setOpen] = useState(false);
  const [adminOpen, setAdminOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const adminRef = useRef<HTMLLIElement>(null);
  const current = props.route[0] ?? '';

  // Close menus after navigating, and the dropdown on an outside click.
  useEffect(() => {
    setOpen(false);
    setAdminOpen(false);
  }, [props.route.join('/')]);
  useEffect(() => {
    if (!adminOpen) return undefined;
    const onDoc = (e: MouseEvent) => {
      if (adminRef.current && !adminRef.current.contains(e.target as Node)) setAdminOpen(false);
    };
    document.addEventListener('click', onDoc);
    return () => document.removeEventListener('click', onDoc);
  }, [adminOpen]);

  const modules = MODULES.filter((c) => can(me, c, 'read'));
  const showAdmin = can(me, 'admin', 'read');
  const adminActive = ADMIN_LINKS.some((l) => l.key === current);

  return (
    <nav class="navbar navbar-expand-lg navbar-dark kontor-navbar shadow-sm" data-testid="navbar" aria-label="Main">
      <div class="container-xl">
        <a class="navbar-brand fw-semibold d-flex align-items-center gap-2" href="#/">
          <span class="kontor-logo" aria-hidden="true">
            K
          </span>
          Kontor
        </a>
        <button
          class="navbar-toggler"
          type="button"
          aria-controls="main-nav"
          aria-expanded={open}
          aria-label="Toggle navigation"
          onClick={() => setOpen(!open)}
        >
          <span class="navbar-toggler-icon" />
        </button>
        <div class={`collapse navbar-collapse ${open ? 'show' : ''}`} id="main-nav">
          <ul class="navbar-nav me-auto mb-2 mb-lg-0">
            {modules.map((c) => (
              <li class="nav-item" key={c}>
                <a
                  class={`nav-link ${current === c ? 'active' : ''}`}
                  aria-current={current === c ? 'page' : undefined}
                  href={href(c)}
                  data-testid={`nav-${c}`}
                >
                  {COMPONENT_LABELS[c]}
                </a>
              </li>
            ))}
            {showAdmin && (
              <li class="nav-item dropdown" ref={adminRef}>
                <button
                  type="button"
                  class={`nav-link dropdown-toggle btn btn-link ${adminActive ? 'active' : ''}`}
                  aria-expanded={adminOpen}
                  onClick={() => setAdminOpen(!adminOpen)}
                  data-testid="nav-admin"
                >
                  Administration
                </button>
                <ul class={`dropdown-menu ${adminOpen ? 'show' : ''}`} data-testid="nav-admin-menu">
                  {ADMIN_LINKS.map((l) => (
                    <li key={l.key}>
                      <a
                        class={`dropdown-item ${current === l.key ? 'active' : ''}`}
                        href={href(l.key)}
                        data-testid={`nav-${l.key}`}
                      >
                        {l.label}
                      </a>
                    </li>
                  ))}
                </ul>
              </li>
            )}
          </ul>
          <div class="d-flex align-items-center gap-3">
            <span
              class="navbar-text d-flex flex-column lh-sm text-end text-nowrap"
              title={`${me.email} · ${me.role}`}
              data-testid="current-user"
            >
              <span class="text-white fw-medium" data-testid="current-user-name">
                {me.name || me.email}
              </span>
              {/* The email only where there is room for it (it is in the title anyway). */}
              <small class="text-white-50">
                <span class="d-none d-xxl-inline">{me.email} · </span>
                {me.role}
              </small>
            </span>
            <button
              type="button"
              class="btn btn-outline-light btn-sm text-nowrap"
              data-testid="logout"
              disabled={busy}
              onClick={async () => {
                setBusy(true);
                try {
                  await logout();
                } catch (e) {
                  setBusy(false);
                  window.alert(`Sign out failed: ${errorMessage(e)}`);
                }
              }}
            >
              Sign out
            </button>
          </div>
        </div>
      </div>
    </nav>
  );
}
