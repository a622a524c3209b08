import { useQuery } from '@tanstack/react-query';
import { api } from '../lib/api';
import { Link } from '../lib/router';
import type { PlatformReadiness, User } from '../lib/types';
import { Notice } from './ui';

/** Whether instances can be created now; asked often while not (an installation may be running). */
export function usePlatformReadiness() {
  return useQuery({
    queryKey: ['platform-readiness'],
    queryFn: () => api.get<PlatformReadiness>('/platform/readiness'),
    refetchInterval: (q) => (q.state.data?.canCreateInstances === false ? 5000 : 60_000),
  }).data;
}

/**
 * One banner on every page while the platform cannot create instances (no Odoo installed):
 * customers read that it is not ready yet, operators what is missing and where to fix it.
 */
export function ReadinessBanner({ user }: { user: User }) {
  const readiness = usePlatformReadiness();
  if (!readiness || readiness.canCreateInstances) return null;
  return (
    <div className="readiness-banner" data-testid="readiness-banner">
      {user.role === 'operator' ? (
        <Notice tone="warn">
          {readiness.operatorMessage} <Link to="/ops/odoo">Open the Odoo page</Link>
        </Notice>
      ) : (
        <Notice tone="warn">{readiness.customerMessage}</Notice>
      )}
    </div>
  );
}
