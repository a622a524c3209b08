import { z } from 'zod';
import { ODOO_SERIES } from '../config/index.js';

/** The installer's steps, in order; the installation row records the last one finished. */
export const INSTALL_STEPS = ['download', 'unpack', 'venv', 'requirements', 'check_version', 'check_base', 'register'] as const;
export type InstallStep = (typeof INSTALL_STEPS)[number];

export const INSTALLATION_STATUSES = ['not_installed', 'installing', 'ready', 'failed'] as const;

/** An Odoo series as the operator sees it: installed or not, the installer's progress, the odoo-bin in use. */
export const odooInstallationViewSchema = z
  .object({
    series: z.enum(ODOO_SERIES),
    status: z.enum(INSTALLATION_STATUSES),
    /** The last step finished, and how many of INSTALL_STEPS that is. */
    step: z.enum(INSTALL_STEPS).nullable(),
    stepsDone: z.number().int(),
    stepsTotal: z.number().int(),
    /** What the running step is doing, in words. */
    detail: z.string().nullable(),
    sourceUrl: z.string().nullable(),
    archiveSha256: z.string().nullable(),
    version: z.string().nullable(),
    bin: z.string().nullable(),
    error: z.string().nullable(),
    jobId: z.string().nullable(),
    requestedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    /** True when ODOO_BIN (or an odoo on PATH) runs this series instead of its installation. */
    overridden: z.boolean(),
    usedBy: z
      .object({
        templates: z.array(z.string()).describe('templates built with this series (those naming none: the default series)'),
        tenants: z.number().int().describe('tenants (not deleted) that run this series'),
      })
      .describe('what runs this series: an installation in use cannot simply go away'),
  })
  .meta({ id: 'OdooInstallation' });
export type OdooInstallationView = z.infer<typeof odooInstallationViewSchema>;

/** Whether the platform can create instances, for everyone (the dashboard's banner, the API's refusals). */
export const platformReadinessSchema = z
  .object({
    canCreateInstances: z.boolean(),
    /** Operators: what is missing and what to do; customers: null. */
    operatorMessage: z.string().nullable(),
    /** The same for customers, in their words. */
    customerMessage: z.string().nullable(),
    defaultSeries: z.enum(ODOO_SERIES),
  })
  .meta({ id: 'PlatformReadiness' });
export type PlatformReadiness = z.infer<typeof platformReadinessSchema>;

/** What a customer reads while no Odoo can serve instances (never an operator command). */
export const NOT_READY_FOR_CUSTOMERS = 'The platform is not ready to create instances yet. Please try again later.';
