import type { OdooInstallation } from '../odoo/index.js';

/** An Odoo that runs one series: what the runtime and the template builds start. */
export interface SeriesOdoo extends OdooInstallation {
  series: string;
}

/**
 * The Odoo installations by series, as everything that runs Odoo sees them: templates are built,
 * tenants run and pools are grouped by series, each with that series' odoo-bin.
 */
export interface OdooSeriesRegistry {
  /** The series of templates and tenants that name none: the override's (what ODOO_BIN reports), else ODOO_SERIES. */
  defaultSeries(): Promise<string>;
  /** The Odoo of a series (null/undefined: the default series), if it can run now. */
  resolve(series?: string | null): Promise<SeriesOdoo | undefined>;
  /** Every series that can run now, the override's first. */
  available(): Promise<string[]>;
  /** The series the override (ODOO_BIN, an odoo on PATH) runs; undefined without one. */
  overrideSeries(): Promise<string | undefined>;
}

/**
 * The override (ODOO_BIN, or an odoo on PATH) serves the series it reports (`odoo-bin --version`,
 * asked once); every other series runs its registered installation (DATA_DIR/odoo/<series>/).
 * ODOO_ADDONS_PATH belongs to the default series only: another series' addons would not load.
 */
export function createSeriesRegistry(deps: {
  override: OdooInstallation | undefined;
  /** ODOO_SERIES. */
  configuredDefault: string;
  addonsPath?: string[] | undefined;
  detectSeries(odoo: OdooInstallation): Promise<string>;
  /** The registered, ready installations: series -> odoo-bin. */
  installations(): Promise<Array<{ series: string; bin: string }>>;
}): OdooSeriesRegistry {
  let overrideSeries: Promise<string | undefined> | undefined;
  const ofOverride = (): Promise<string | undefined> => {
    if (!deps.override) return Promise.resolve(undefined);
    // An override that does not run at all still stands for the configured series: its own start fails, saying why.
    overrideSeries ??= deps.detectSeries(deps.override).catch(() => deps.configuredDefault);
    return overrideSeries;
  };
  const defaultSeries = async () => (await ofOverride()) ?? deps.configuredDefault;
  const withAddons = (odoo: SeriesOdoo, isDefault: boolean): SeriesOdoo =>
    isDefault && deps.addonsPath ? { ...odoo, addonsPath: deps.addonsPath } : odoo;

  return {
    defaultSeries,
    overrideSeries: ofOverride,
    async resolve(wanted) {
      const fallback = await defaultSeries();
      const series = wanted ?? fallback;
      const overridden = await ofOverride();
      if (deps.override && overridden === series) return withAddons({ ...deps.override, series }, true);
      const installed = (await deps.installations()).find((i) => i.series === series);
      return installed ? withAddons({ bin: installed.bin, series }, series === fallback) : undefined;
    },
    async available() {
      const overridden = await ofOverride();
      const installed = (await deps.installations()).map((i) => i.series);
      return [...new Set([...(overridden ? [overridden] : []), ...installed])];
    },
  };
}
