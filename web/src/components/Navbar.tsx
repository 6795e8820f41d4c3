import { useEffect, useRef, useState } from 'preact/hooks';
import { errorMessage } from '../api';
import { href } from '../router';
import { can, useSession } from '../session';
import { COMPONENT_LABELS, COMPONENTS, type Component } from '../types';

const MODULES = COMPONENTS.filter((c) => c !== 'admin') as Exclude<Component, 'admin'>[];

interface NavLink {
  key: string;
  label: string;
  testid?: string;
}

export const ADMIN_LINKS: NavLink[] = [
  { key: 'users', label: 'Users' },
  { key: 'roles', label: 'Roles' },
  { key: 'tokens', label: 'API tokens' },
  { key: 'webhooks', label: 'Webhooks' },
  { key: 'audit', label: 'Audit log' },
  { key: 'jobs', label: 'Jobs' },
];

/** The client hub's pages (component `customers`); imports need write. */
export function customerLinks(canWrite: boolean): NavLink[] {
  return [
    { key: 'customers', label: 'Customers', testid: 'nav-customer-list' },
    { key: 'lists', label: 'Lists' },
    { key: 'segments', label: 'Segments' },
    ...(canWrite ? [{ key: 'imports', label: 'Imports' }] : []),
  ];
}

export function Navbar(props: { route: string[] }) {
  const { me, logout } = useSession();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const current = props.route[0] ?? '';

  // Close the collapsed menu after navigating.
  useEffect(() => setOpen(false), [props.route.join('/')]);

  const modules = MODULES.filter((c) => c !== 'customers' && can(me, c, 'read'));

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
            {can(me, 'customers', 'read') && (
              <NavDropdown
                label={COMPONENT_LABELS.customers}
                testid="nav-customers"
                links={customerLinks(can(me, 'customers', 'write'))}
                current={current}
                route={props.route}
              />
            )}
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
            {can(me, 'admin', 'read') && (
              <NavDropdown label="Administration" testid="nav-admin" links={ADMIN_LINKS} current={current} route={props.route} />
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

/** A navbar dropdown of page links; closes on navigation and on an outside click. */
function NavDropdown(props: { label: string; testid: string; links: NavLink[]; current: string; route: string[] }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLLIElement>(null);
  useEffect(() => setOpen(false), [props.route.join('/')]);
  useEffect(() => {
    if (!open) return undefined;
    const onDoc = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') setOpen(false);
    };
    document.addEventListener('click', onDoc);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('click', onDoc);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);
  const active = props.links.some((l) => l.key === props.current);
  return (
    <li class="nav-item dropdown" ref={ref}>
      <button
        type="button"
        class={`nav-link dropdown-toggle btn btn-link ${active ? 'active' : ''}`}
        aria-expanded={open}
        aria-haspopup="true"
        onClick={() => setOpen(!open)}
        data-testid={props.testid}
      >
        {props.label}
      </button>
      <ul class={`dropdown-menu ${open ? 'show' : ''}`} data-testid={`${props.testid}-menu`}>
        {props.links.map((l) => (
          <li key={l.key}>
            <a
              class={`dropdown-item ${props.current === l.key ? 'active' : ''}`}
              aria-current={props.current === l.key ? 'page' : undefined}
              href={href(l.key)}
              data-testid={l.testid ?? `nav-${l.key}`}
            >
              {l.label}
            </a>
          </li>
        ))}
      </ul>
    </li>
  );
}
