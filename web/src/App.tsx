import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, get, onUnauthorized, post, setCsrfToken } from './api';
import { Navbar } from './components/Navbar';
import { ProblemAlert, Spinner } from './components/ui';
import { AuditPage } from './pages/Audit';
import { CustomerDetailPage } from './pages/CustomerDetail';
import { CustomersPage } from './pages/Customers';
import { ImportDetailPage, ImportsPage } from './pages/Imports';
import { ListDetailPage, ListsPage } from './pages/Lists';
import { SegmentEditPage, SegmentsPage } from './pages/Segments';
import { WebhookDetailPage, WebhooksPage } from './pages/Webhooks';
import { HomePage } from './pages/Home';
import { JobsPage } from './pages/Jobs';
import { LoginPage } from './pages/Login';
import { MessagingRoutes } from './pages/Messaging';
import { ModulePage, NoAccess, NotFound } from './pages/Module';
import { BankingCalendarPage } from './pages/PaymentsCalendar';
import { CounterpartiesPage, CounterpartyDetailPage } from './pages/PaymentsCounterparties';
import { PaymentDetailPage } from './pages/PaymentsDetail';
import { AchFileDetailPage, AchFilesPage } from './pages/PaymentsFiles';
import { PaymentsListPage } from './pages/PaymentsList';
import { NewPaymentPage } from './pages/PaymentsNew';
import { OriginatorPage, OriginatorsPage } from './pages/PaymentsOriginators';
import { PaymentReturnsPage } from './pages/PaymentsReturns';
import { TemplatesPage } from './pages/PaymentsTemplates';
import { PaymentUploadDetailPage, PaymentUploadsPage } from './pages/PaymentsUploads';
import { RolesPage } from './pages/Roles';
import { TokensPage } from './pages/Tokens';
import { UserDetailPage } from './pages/UserDetail';
import { UsersPage } from './pages/Users';
import { useRoute } from './router';
import { can, SessionContext, type Session } from './session';
import { COMPONENTS, type Component, type Me } from './types';

type Boot =
  | { state: 'loading' }
  | { state: 'anonymous'; notice?: string }
  | { state: 'error'; error: unknown }
  | { state: 'ready'; me: Me };

async function fetchMe(): Promise<Me> {
  const me = await get<Me>('/v1/me');
  if (me.csrf_token) setCsrfToken(me.csrf_token);
  return me;
}

export function App() {
  const [boot, setBoot] = useState<Boot>({ state: 'loading' });

  const load = useCallback(async () => {
    try {
      setBoot({ state: 'ready', me: await fetchMe() });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setBoot({ state: 'anonymous' });
      else setBoot({ state: 'error', error: e });
    }
  }, []);

  useEffect(() => {
    // A 401 from any call made while signed in means the session ended.
    onUnauthorized(() => {
      setCsrfToken(null);
      setBoot((b) =>
        b.state === 'ready' ? { state: 'anonymous', notice: 'Your session has ended. Please sign in again.' } : b,
      );
    });
    void load();
    return () => onUnauthorized(null);
  }, [load]);

  if (boot.state === 'loading') {
    return (
      <div class="container py-5">
        <Spinner label="Starting Kontor…" />
      </div>
    );
  }
  if (boot.state === 'error') {
    return (
      <div class="container py-5" style={{ maxWidth: '40rem' }}>
        <ProblemAlert error={boot.error} />
        <button class="btn btn-primary" onClick={() => void load()}>
          Try again
        </button>
      </div>
    );
  }
  if (boot.state === 'anonymous') {
    return (
      <LoginPage
        notice={boot.notice}
        onLoggedIn={async (csrf) => {
          setCsrfToken(csrf);
          const me = await fetchMe();
          setBoot({ state: 'ready', me });
        }}
      />
    );
  }
  return <Shell me={boot.me} setBoot={setBoot} />;
}

function Shell(props: { me: Me; setBoot: (b: Boot) => void }) {
  const { me, setBoot } = props;
  const route = useRoute();

  const session = useMemo<Session>(
    () => ({
      me,
      refresh: async () => setBoot({ state: 'ready', me: await fetchMe() }),
      logout: async () => {
        try {
          await post('/v1/auth/logout');
        } catch (e) {
          // A session that is already gone is as good as logged out.
          if (!(e instanceof ApiError && e.status === 401)) throw e;
        }
        setCsrfToken(null);
        window.location.hash = '#/';
        setBoot({ state: 'anonymous', notice: 'You have been signed out.' });
      },
    }),
    [me, setBoot],
  );

  return (
    <SessionContext.Provider value={session}>
      <Navbar route={route} />
      <main class="container-xl py-4" data-testid="main">
        <Page route={route} me={me} />
      </main>
    </SessionContext.Provider>
  );
}

const ADMIN_PAGES = ['users', 'roles', 'tokens', 'webhooks', 'audit', 'jobs'];
const CUSTOMER_PAGES = ['customers', 'lists', 'segments', 'imports'];

function Page(props: { route: string[]; me: Me }) {
  const [first, second] = props.route;
  const { me } = props;
  if (!first) return <HomePage />;
  if (CUSTOMER_PAGES.includes(first)) {
    if (!can(me, 'customers', 'read')) return <NoAccess />;
    switch (first) {
      case 'lists':
        return second ? <ListDetailPage listKey={second} /> : <ListsPage />;
      case 'segments':
        if (!second) return <SegmentsPage />;
        return <SegmentEditPage key={second} segmentKey={second === 'new' ? null : second} />;
      case 'imports':
        if (!can(me, 'customers', 'write')) return <NoAccess />;
        return second ? <ImportDetailPage id={second} /> : <ImportsPage />;
      default:
        return second ? <CustomerDetailPage id={second} /> : <CustomersPage />;
    }
  }
  if (first === 'payments') {
    if (!can(me, 'payments', 'read')) return <NoAccess />;
    return <PaymentsRoutes route={props.route.slice(1)} canWrite={can(me, 'payments', 'write')} />;
  }
  if (first === 'messaging') {
    if (!can(me, 'messaging', 'read')) return <NoAccess />;
    return <MessagingRoutes route={props.route.slice(1)} canWrite={can(me, 'messaging', 'write')} />;
  }
  if ((COMPONENTS as readonly string[]).includes(first) && first !== 'admin') {
    const c = first as Component;
    return can(me, c, 'read') ? <ModulePage component={c} /> : <NoAccess />;
  }
  if (first === 'admin' || ADMIN_PAGES.includes(first)) {
    if (!can(me, 'admin', 'read')) return <NoAccess />;
    switch (first) {
      case 'users':
        return second ? <UserDetailPage id={second} /> : <UsersPage />;
      case 'roles':
        return <RolesPage />;
      case 'tokens':
        return <TokensPage />;
      case 'webhooks':
        return second ? <WebhookDetailPage id={second} /> : <WebhooksPage />;
      case 'audit':
        return <AuditPage />;
      case 'jobs':
        return <JobsPage />;
      default:
        return <UsersPage />;
    }
  }
  return <NotFound />;
}

/** The payments section (component `payments`): `#/payments/<page>[/<id>]`; `#/payments/<id>` is a payment. */
function PaymentsRoutes(props: { route: string[]; canWrite: boolean }) {
  const [page, id] = props.route;
  const { canWrite } = props;
  switch (page) {
    case undefined:
      return <PaymentsListPage />;
    case 'new':
      return canWrite ? <NewPaymentPage /> : <NoAccess />;
    case 'uploads':
      return id ? <PaymentUploadDetailPage id={id} /> : <PaymentUploadsPage />;
    case 'files':
      return id ? <AchFileDetailPage id={id} /> : <AchFilesPage />;
    case 'returns':
      return <PaymentReturnsPage />;
    case 'originators':
      if (id === 'new') return canWrite ? <OriginatorPage key="new" id={null} /> : <NoAccess />;
      return id ? <OriginatorPage key={id} id={id} /> : <OriginatorsPage />;
    case 'counterparties':
      return id ? <CounterpartyDetailPage id={id} /> : <CounterpartiesPage />;
    case 'templates':
      return <TemplatesPage />;
    case 'calendar':
      return <BankingCalendarPage />;
    default:
      return <PaymentDetailPage id={page} />;
  }
}
