import { type ReactNode, useEffect, useRef } from 'react';
import { AppShell, PublicShell } from './components/layout';
import { EmptyState, ErrorState, Loading, PageHeader } from './components/ui';
import { Link, matchPath, navigate, useLocation } from './lib/router';
import { useSession } from './lib/session';
import { useTitle } from './lib/title';
import type { User } from './lib/types';
import { ForgotPasswordPage, LoginPage, ResetPasswordPage, SignedInPage, SignupPage, VerifyEmailPage } from './pages/auth/auth-pages';
import { OpsBillingPage } from './pages/ops/billing';
import { JobsPage } from './pages/ops/jobs';
import { OdooPage } from './pages/ops/odoo';
import { OverviewPage } from './pages/ops/overview';
import { AccountDetailPage, AccountsPage, AuditPage, UsersPage } from './pages/ops/people';
import { PoolsPage } from './pages/ops/pools';
import { ServersPage } from './pages/ops/servers';
import { TemplatesPage } from './pages/ops/templates';
import { OpsTenantsPage } from './pages/ops/tenants';
import { AccountPage } from './pages/portal/account';
import { BillingPage } from './pages/portal/billing';
import { CreateInstancePage } from './pages/portal/create-instance';
import { OpsDomainsPage } from './pages/portal/domains';
import { ImportInstancePage } from './pages/portal/import-instance';
import { InstancePage } from './pages/portal/instance';
import { InstancesPage } from './pages/portal/instances';
import { PlansPage } from './pages/portal/plans';
import { WebhooksPage } from './pages/portal/webhooks';

/** Pages anyone may see; everything else needs a session. */
const PUBLIC_PAGES: Record<string, () => ReactNode> = {
  '/login': () => <LoginPage />,
  '/signup': () => <SignupPage />,
  '/forgot-password': () => <ForgotPasswordPage />,
  '/reset-password': () => <ResetPasswordPage />,
  '/verify-email': () => <VerifyEmailPage />,
  '/signed-in': () => <SignedInPage />,
};
const GUEST_ONLY = new Set(['/login', '/signup', '/forgot-password']);

interface RouteDef {
  path: string;
  role?: 'operator';
  render: (params: Record<string, string>, user: User) => ReactNode;
}

const ROUTES: RouteDef[] = [
  { path: '/instances', render: () => <InstancesPage /> },
  { path: '/instances/new', render: (_p, user) => <CreateInstancePage user={user} /> },
  { path: '/instances/import', render: () => <ImportInstancePage /> },
  { path: '/instances/:name', render: (p, user) => <InstancePage key={p.name} name={p.name ?? ''} user={user} basePath="/instances" /> },
  { path: '/plans', render: (_p, user) => <PlansPage user={user} /> },
  { path: '/account', render: (_p, user) => <AccountPage user={user} /> },
  { path: '/billing', render: () => <BillingPage /> },
  { path: '/ops/billing', role: 'operator', render: () => <OpsBillingPage /> },
  { path: '/webhooks', render: (_p, user) => <WebhooksPage user={user} /> },
  { path: '/ops', role: 'operator', render: () => <OverviewPage /> },
  { path: '/ops/tenants', role: 'operator', render: () => <OpsTenantsPage /> },
  {
    path: '/ops/tenants/:name',
    role: 'operator',
    render: (p, user) => <InstancePage key={p.name} name={p.name ?? ''} user={user} basePath="/ops/tenants" />,
  },
  { path: '/ops/servers', role: 'operator', render: () => <ServersPage /> },
  { path: '/ops/templates', role: 'operator', render: () => <TemplatesPage /> },
  { path: '/ops/odoo', role: 'operator', render: () => <OdooPage /> },
  { path: '/ops/jobs', role: 'operator', render: () => <JobsPage /> },
  { path: '/ops/pools', role: 'operator', render: () => <PoolsPage /> },
  { path: '/ops/domains', role: 'operator', render: () => <OpsDomainsPage /> },
  { path: '/ops/accounts', role: 'operator', render: () => <AccountsPage /> },
  { path: '/ops/accounts/:id', role: 'operator', render: (p) => <AccountDetailPage key={p.id} id={p.id ?? ''} /> },
  { path: '/ops/users', role: 'operator', render: () => <UsersPage /> },
  { path: '/ops/audit', role: 'operator', render: () => <AuditPage /> },
];

function NotFoundPage() {
  useTitle('Page not found');
  return (
    <>
      <PageHeader title="Page not found" />
      <EmptyState
        title="There is nothing at this address."
        action={
          <Link to="/" className="button button--secondary">
            Go to the start page
          </Link>
        }
      />
    </>
  );
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return <Loading />;
}

/** After each navigation, put focus on the new page's heading (screen readers announce it) and scroll up. */
function useFocusOnNavigation(pathname: string) {
  const first = useRef(true);
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on purpose for every new pathname.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    window.scrollTo(0, 0);
    const timer = window.setTimeout(() => {
      const heading = document.querySelector<HTMLElement>('main h1');
      (heading ?? document.querySelector<HTMLElement>('main'))?.focus({ preventScroll: true });
    }, 50);
    return () => window.clearTimeout(timer);
  }, [pathname]);
}

export function App() {
  const { pathname, href } = useLocation();
  const { user, loading, error } = useSession();
  useFocusOnNavigation(pathname);

  if (loading) return <Loading label="Loading…" />;
  if (error && !user) {
    return (
      <PublicShell>
        <ErrorState error={error} onRetry={() => window.location.reload()} />
      </PublicShell>
    );
  }

  const publicPage = PUBLIC_PAGES[pathname];
  if (publicPage) {
    if (user && GUEST_ONLY.has(pathname)) return <Redirect to="/" />;
    return publicPage();
  }

  if (!user) {
    if (pathname === '/plans') {
      return (
        <PublicShell wide>
          <PlansPage user={null} />
        </PublicShell>
      );
    }
    const next = pathname === '/' ? '' : `?next=${encodeURIComponent(href)}`;
    return <Redirect to={`/login${next}`} />;
  }

  if (pathname === '/') return <Redirect to={user.role === 'operator' ? '/ops' : '/instances'} />;

  for (const route of ROUTES) {
    const params = matchPath(route.path, pathname);
    if (!params) continue;
    // Static segments win over parameters (/instances/new is not an instance called "new").
    if (route.path.endsWith('/:name') && params.name === 'new') continue;
    if (route.role === 'operator' && user.role !== 'operator') break;
    return <AppShell user={user}>{route.render(params, user)}</AppShell>;
  }
  return (
    <AppShell user={user}>
      <NotFoundPage />
    </AppShell>
  );
}
