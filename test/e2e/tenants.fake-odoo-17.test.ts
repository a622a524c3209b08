import { delimiter, dirname, resolve } from 'node:path';
import { defineTenantScenarios } from './tenant-scenarios.js';

// The scenario file against the fake Odoo claiming 17.0 (its asset and session behaviour, see
// test/fixtures/fake-odoo/lib/series.mjs); tenants.fake-odoo.test.ts runs it as 16.0.
process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;
defineTenantScenarios('fake Odoo 17.0', resolve('test/fixtures/fake-odoo/odoo-bin-17'), { templateTimeoutMs: 120_000 });
