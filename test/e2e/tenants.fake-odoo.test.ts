import { delimiter, dirname, resolve } from 'node:path';
import { defineTenantScenarios } from './tenant-scenarios.js';

// The fake Odoo test double (test/fixtures/fake-odoo): CI has no Odoo.
// Its launcher runs `node` from PATH: make that the Node running the tests (>= 22).
process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;
defineTenantScenarios('fake Odoo', resolve('test/fixtures/fake-odoo/odoo-bin'), { templateTimeoutMs: 120_000 });
