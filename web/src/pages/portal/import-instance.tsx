import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Notice, PageHeader } from '../../components/ui';
import { ApiError, api, errorMessage } from '../../lib/api';
import { Field } from '../../lib/forms';
import { navigate } from '../../lib/router';
import { useTitle } from '../../lib/title';
import type { ImportUpload, Plan, Restore } from '../../lib/types';

/** Sends the chosen file as the raw body (the browser streams a File; nothing is read into memory). */
async function uploadZip(file: File): Promise<ImportUpload> {
  const response = await fetch('/api/v1/imports', {
    method: 'POST',
    headers: { 'content-type': 'application/zip', accept: 'application/json' },
    body: file,
    credentials: 'same-origin',
  });
  const parsed = await response.json().catch(() => ({ detail: `The upload failed (HTTP ${response.status}).` }));
  if (!response.ok) throw new ApiError({ status: response.status, ...parsed });
  return parsed as ImportUpload;
}

/**
 * Import: an Odoo backup zip made elsewhere (any Odoo's database manager, Odoo.sh, Odoo Online)
 * becomes a new instance. The zip is checked on upload (an Odoo backup, of the Odoo version this
 * platform runs) before anything is created; the instance then follows like a new one.
 */
export function ImportInstancePage() {
  useTitle('Import a backup');
  const client = useQueryClient();
  const plans = useQuery({ queryKey: ['plans'], queryFn: () => api.get<Plan[]>('/plans') });
  const [file, setFile] = useState<File | undefined>();
  const [values, setValues] = useState({ name: '', plan: '', adminEmail: '', adminPassword: '' });
  const set = (field: keyof typeof values) => (event: { target: { value: string } }) =>
    setValues((current) => ({ ...current, [field]: event.target.value }));
  const submit = useMutation({
    mutationFn: async () => {
      if (!file) throw new Error('Choose the .zip file of the backup.');
      const upload = await uploadZip(file);
      return api.post<{ restore: Restore; tenantName: string }>('/imports/tenants', {
        uploadToken: upload.uploadToken,
        name: values.name,
        plan: values.plan || plans.data?.[0]?.code,
        adminEmail: values.adminEmail,
        adminPassword: values.adminPassword,
      });
    },
    onSuccess: (accepted) => {
      void client.invalidateQueries({ queryKey: ['tenants'] });
      navigate(`/instances/${encodeURIComponent(accepted.tenantName)}`);
    },
  });
  const fieldErrors = submit.error instanceof ApiError ? submit.error.fieldErrors : {};
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    submit.mutate();
  };

  return (
    <>
      <PageHeader
        title="Import a backup"
        subtitle="Make an instance from an Odoo backup (.zip with filestore) taken from any Odoo's database manager, Odoo.sh or Odoo Online."
      />
      <form className="card form-card" noValidate onSubmit={onSubmit}>
        {submit.isError && !fieldErrors.name && !fieldErrors.adminPassword ? (
          <Notice tone="error">{errorMessage(submit.error)}</Notice>
        ) : null}
        <Field
          label="Backup file (.zip)"
          name="file"
          type="file"
          accept=".zip,application/zip"
          required
          onChange={(event) => setFile(event.target.files?.[0])}
          hint="It must come from the same Odoo version as this platform runs; it is checked before anything is created."
        />
        <Field label="Name (subdomain)" name="name" required value={values.name} onChange={set('name')} error={fieldErrors.name} />
        <div className="field">
          <label htmlFor="import-plan">Plan</label>
          <select id="import-plan" name="plan" value={values.plan} onChange={set('plan')}>
            {(plans.data ?? []).map((plan) => (
              <option key={plan.code} value={plan.code}>
                {plan.name}
              </option>
            ))}
          </select>
          {fieldErrors.plan ? <p className="field__error">{fieldErrors.plan}</p> : null}
        </div>
        <Field
          label="Admin email (login)"
          name="adminEmail"
          type="email"
          required
          value={values.adminEmail}
          onChange={set('adminEmail')}
          error={fieldErrors.adminEmail}
        />
        <Field
          label="Admin password"
          name="adminPassword"
          type="password"
          autoComplete="new-password"
          required
          value={values.adminPassword}
          onChange={set('adminPassword')}
          error={fieldErrors.adminPassword}
          hint="The imported database gets this admin login and password, and an identity of its own."
        />
        <button type="submit" className="button button--primary" disabled={submit.isPending}>
          {submit.isPending ? 'Uploading and checking…' : 'Import'}
        </button>
      </form>
    </>
  );
}
