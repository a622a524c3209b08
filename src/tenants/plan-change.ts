/**
 * What a plan change would break, pure: a downgrade is refused while the tenant uses more than
 * the new plan allows. Each refusal names the limit and by how much it is exceeded, in words a
 * customer can act on.
 */
const GIB = 1024 ** 3;

export interface PlanChangeRefusal {
  limit: 'odooUsers' | 'storageGiB';
  allowed: number;
  used: number;
  message: string;
}

export function planChangeRefusals(
  plan: { code: string; limits: { odooUsers: number; storageGiB: number } },
  usage: { odooUsers: number | null; databaseBytes: number | null; filestoreBytes: number },
): PlanChangeRefusal[] {
  const refusals: PlanChangeRefusal[] = [];
  if (usage.odooUsers !== null && usage.odooUsers > plan.limits.odooUsers) {
    const over = usage.odooUsers - plan.limits.odooUsers;
    refusals.push({
      limit: 'odooUsers',
      allowed: plan.limits.odooUsers,
      used: usage.odooUsers,
      message: `${usage.odooUsers} active Odoo users, plan ${plan.code} allows ${plan.limits.odooUsers}: archive ${over} user(s) first`,
    });
  }
  const bytes = (usage.databaseBytes ?? 0) + usage.filestoreBytes;
  if (bytes > plan.limits.storageGiB * GIB) {
    const used = Math.ceil((bytes / GIB) * 100) / 100;
    const over = Math.ceil(((bytes - plan.limits.storageGiB * GIB) / GIB) * 100) / 100;
    refusals.push({
      limit: 'storageGiB',
      allowed: plan.limits.storageGiB,
      used,
      message: `${used} GiB of storage used, plan ${plan.code} allows ${plan.limits.storageGiB} GiB: free ${over} GiB first`,
    });
  }
  return refusals;
}
