import { describe, it } from 'vitest';
import { defineRealOdooBackupScenarios } from './real-odoo-backups.js';
import { defineTenantScenarios } from './tenant-scenarios.js';

const odooBin = process.env.ODOO_BIN;
if (odooBin) {
  // Building a real template (-i base web, asset warm-up) takes a while on 2 cores.
  defineTenantScenarios(`real Odoo at ${odooBin}`, odooBin, {
    templateTimeoutMs: 600_000,
    more: (context) => defineRealOdooBackupScenarios(context, odooBin),
  });
} else {
  const reason = 'ODOO_BIN is not set: the tenant scenarios against a real Odoo are skipped (they ran against the fake Odoo).';
  console.log(`[skipped] ${reason}`);
  describe.skip(`tenants end to end (real Odoo): ${reason}`, () => {
    it('needs ODOO_BIN', () => undefined);
  });
}
