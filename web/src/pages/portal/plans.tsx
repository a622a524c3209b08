import { useQuery } from '@tanstack/react-query';
import { PageHeader, QueryStatus } from '../../components/ui';
import { api } from '../../lib/api';
import { formatMemory, formatPrice, usagePricingLines } from '../../lib/format';
import { Link } from '../../lib/router';
import { useTitle } from '../../lib/title';
import type { Plan, User } from '../../lib/types';

export function PlansPage({ user }: { user: User | null }) {
  useTitle('Plans');
  const plans = useQuery({ queryKey: ['plans'], queryFn: () => api.get<Plan[]>('/plans') });
  return (
    <>
      <PageHeader title="Plans" subtitle="Every plan runs the same Odoo; they differ in resources and isolation." />
      <QueryStatus query={plans} loading="Loading plans…" />
      {plans.data ? (
        <ul className="plan-grid">
          {plans.data.map((plan) => (
            <li key={plan.code} className="card plan">
              <h2 className="plan__name">{plan.name}</h2>
              <p className="plan__price">
                {plan.free || plan.prices.length === 0 ? (
                  <strong>Free</strong>
                ) : (
                  plan.prices.map((price) => (
                    <span key={price.interval} className="plan__price-line">
                      <strong>{formatPrice(price)}</strong>
                      {usagePricingLines(price).map((line) => (
                        <span key={line} className="plan__usage-price">
                          {line}
                        </span>
                      ))}
                    </span>
                  ))
                )}
              </p>
              {plan.trialDays > 0 ? <p className="plan__trial">{plan.trialDays}-day free trial</p> : null}
              <p className="plan__description">{plan.description}</p>
              <ul className="plan__limits">
                <li>
                  {plan.limits.odooUsers} Odoo user{plan.limits.odooUsers === 1 ? '' : 's'}
                </li>
                <li>{plan.limits.storageGiB} GiB storage</li>
                <li>
                  {plan.limits.cpu} CPU · {formatMemory(plan.limits.memoryMiB)} memory
                </li>
                <li>{plan.placement.processStrategy === 'pool' ? 'Shared Odoo server' : 'Dedicated Odoo server'}</li>
                <li>{plan.placement.databaseStrategy === 'shared' ? 'Shared database server' : 'Dedicated database server'}</li>
                {plan.placement.replicas > 1 ? <li>{plan.placement.replicas} Odoo replicas</li> : null}
                {plan.limits.maxTenantsPerAccount !== null ? (
                  <li>
                    {plan.limits.maxTenantsPerAccount === 1
                      ? 'One instance per account'
                      : `Up to ${plan.limits.maxTenantsPerAccount} instances per account`}
                  </li>
                ) : null}
              </ul>
              {user?.role === 'operator' ? null : (
                <Link to={user ? `/instances/new?plan=${plan.code}` : '/signup'} className="button button--primary button--block">
                  {user ? `Create a ${plan.name} instance` : 'Sign up'}
                </Link>
              )}
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}
