import { useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { Link, navigate, useLocation } from '../lib/router';
import { logOut } from '../lib/session';
import type { User } from '../lib/types';
import { ReadinessBanner } from './readiness';

export interface NavItem {
  to: string;
  label: string;
  /** Other paths under which this item is the current one. */
  prefix?: string;
}

export interface NavSection {
  title?: string;
  items: NavItem[];
}

/**
 * The navigation, one list per role. Later capabilities slot in as one line each:
 * customers get "Backups", "Domains" and "Billing" next to Instances (and as tabs on an
 * instance's page), operators get "Backups", "Domains" and "Billing" under Platform/Customers.
 */
export const CUSTOMER_NAV: NavSection[] = [
  {
    items: [
      { to: '/instances', label: 'Instances', prefix: '/instances' },
      { to: '/plans', label: 'Plans' },
      { to: '/billing', label: 'Billing' },
      { to: '/account', label: 'Account', prefix: '/account' },
      { to: '/webhooks', label: 'Webhooks' },
    ],
  },
];

export const OPERATOR_NAV: NavSection[] = [
  {
    title: 'Platform',
    items: [
      { to: '/ops', label: 'Overview' },
      { to: '/ops/tenants', label: 'Tenants', prefix: '/ops/tenants' },
      { to: '/ops/servers', label: 'Database servers' },
      { to: '/ops/odoo', label: 'Odoo' },
      { to: '/ops/pools', label: 'Odoo pools' },
      { to: '/ops/templates', label: 'Templates' },
      { to: '/ops/jobs', label: 'Jobs' },
      { to: '/ops/domains', label: 'Domains' },
      { to: '/webhooks', label: 'Webhooks' },
    ],
  },
  {
    title: 'Customers',
    items: [
      { to: '/ops/accounts', label: 'Accounts', prefix: '/ops/accounts' },
      { to: '/ops/users', label: 'Users' },
      { to: '/plans', label: 'Plans' },
      { to: '/ops/billing', label: 'Billing' },
    ],
  },
  {
    title: 'Security',
    items: [
      { to: '/ops/audit', label: 'Audit log' },
      { to: '/account', label: 'Your sign-in', prefix: '/account' },
    ],
  },
];

function isCurrent(item: NavItem, pathname: string): boolean {
  if (pathname === item.to) return true;
  return item.prefix !== undefined && pathname.startsWith(`${item.prefix}/`);
}

export function AppShell({ user, children }: { user: User; children: ReactNode }) {
  const { pathname } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const client = useQueryClient();
  const sections = user.role === 'operator' ? OPERATOR_NAV : CUSTOMER_NAV;

  // Close the small-screen menu whenever the page changes.
  const [menuPath, setMenuPath] = useState(pathname);
  if (menuPath !== pathname) {
    setMenuPath(pathname);
    setMenuOpen(false);
  }

  async function handleLogout() {
    await logOut().catch(() => undefined);
    client.clear();
    client.setQueryData(['me'], null);
    navigate('/login', { replace: true });
  }

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand" aria-label="Odoo SaaS home">
          <span className="brand__mark" aria-hidden="true" />
          <span className="brand__name">Odoo SaaS</span>
          {user.role === 'operator' ? <span className="brand__tag">Operator</span> : null}
        </Link>
        <button
          type="button"
          className="menu-button"
          aria-expanded={menuOpen}
          aria-controls="primary-nav"
          onClick={() => setMenuOpen((open) => !open)}
        >
          <span className="menu-button__bars" aria-hidden="true" />
          Menu
        </button>
        <div className="topbar__user">
          <span className="topbar__who" title={user.email}>
            {user.name}
          </span>
          <button type="button" className="button button--ghost button--small" onClick={handleLogout}>
            Log out
          </button>
        </div>
      </header>
      <div className="shell__body">
        <nav id="primary-nav" className={`sidebar${menuOpen ? ' sidebar--open' : ''}`} aria-label="Main">
          {sections.map((section, index) => (
            <div className="sidebar__section" key={section.title ?? index}>
              {section.title ? <h2 className="sidebar__title">{section.title}</h2> : null}
              <ul>
                {section.items.map((item) => (
                  <li key={item.to}>
                    <Link to={item.to} className="sidebar__link" aria-current={isCurrent(item, pathname) ? 'page' : undefined}>
                      {item.label}
                    </Link>
                  </li>
                ))}
              </ul>
            </div>
          ))}
          <div className="sidebar__section sidebar__footer">
            <span className="muted small">{user.email}</span>
            <button type="button" className="button button--ghost button--small" onClick={handleLogout}>
              Log out
            </button>
          </div>
        </nav>
        <main id="main" className="main" tabIndex={-1}>
          <ReadinessBanner user={user} />
          {children}
        </main>
      </div>
    </div>
  );
}

/** Pages for people who are not logged in: sign up, log in, password reset. */
export function PublicShell({ children, wide = false }: { children: ReactNode; wide?: boolean }) {
  return (
    <div className="public">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="public__header">
        <Link to="/" className="brand">
          <span className="brand__mark" aria-hidden="true" />
          <span className="brand__name">Odoo SaaS</span>
        </Link>
        <nav aria-label="Account">
          <Link to="/plans" className="public__link">
            Plans
          </Link>
          <Link to="/login" className="public__link">
            Log in
          </Link>
          <Link to="/signup" className="button button--primary button--small">
            Sign up
          </Link>
        </nav>
      </header>
      <main id="main" className={`public__main${wide ? ' public__main--wide' : ''}`} tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
