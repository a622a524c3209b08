/** Odoo's major version of a version string (`16.0`, `16.0+e`, `17.0-20240101`): its first `N.N`. Pure. */
export function majorSeries(version: string): string {
  return /^(?:saas~)?(\d+\.\d+)/.exec(version)?.[1] ?? version;
}
