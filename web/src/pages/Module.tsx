import { LevelBadge } from '../components/ui';
import { levelOf, useSession } from '../session';
import { COMPONENT_LABELS, type Component } from '../types';

const BLURBS: Partial<Record<Component, string>> = {
  customers: 'Customer records, relationships, onboarding and KYC status.',
  messaging: 'Campaigns and one-to-one messages to customers.',
  editions: 'Research editions, newsletters and their publication workflow.',
  documents: 'Statements, contracts and the document archive.',
  portal: 'The customer portal: accounts, content and access.',
  payments: 'Payment orders, approvals and reconciliation.',
  analytics: 'Reports and dashboards across the firm.',
};

export function ModulePage(props: { component: Component }) {
  const { me } = useSession();
  const c = props.component;
  return (
    <div data-testid={`module-${c}`}>
      <div class="d-flex align-items-center gap-2 mb-3">
        <h1 class="h3 mb-0">{COMPONENT_LABELS[c]}</h1>
        <LevelBadge level={levelOf(me, c)} />
      </div>
      <div class="card shadow-sm">
        <div class="card-body py-5 text-center">
          <div class="display-6 text-body-tertiary mb-3" aria-hidden="true">
            ◷
          </div>
          <h2 class="h5">The {COMPONENT_LABELS[c]} module is coming soon</h2>
          <p class="text-body-secondary mb-0">{BLURBS[c]}</p>
        </div>
      </div>
    </div>
  );
}

export function NoAccess() {
  return (
    <div class="alert alert-warning" data-testid="no-access">
      <strong>No access.</strong> Your role does not include this part of Kontor. Ask an administrator if you need it.
    </div>
  );
}

export function NotFound() {
  return (
    <div class="alert alert-secondary" data-testid="not-found">
      <strong>Page not found.</strong> <a href="#/">Back to the start page</a>
    </div>
  );
}
