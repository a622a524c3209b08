import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { EmptyState, PageHeader, QueryStatus, Spinner, StateBadge } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { formatDateTime, formatRelative, formatSeconds } from '../../lib/format';
import { Link } from '../../lib/router';
import { useTitle } from '../../lib/title';
import type { DatabaseServer, OperatorTemplate, TemplateBuild } from '../../lib/types';

function buildSeconds(build: TemplateBuild): number | null {
  return build.finishedAt ? (new Date(build.finishedAt).getTime() - new Date(build.startedAt).getTime()) / 1000 : null;
}

export function TemplatesPage() {
  useTitle('Templates');
  const client = useQueryClient();
  const templates = useQuery({
    queryKey: ['templates'],
    queryFn: () => api.get<OperatorTemplate[]>('/templates'),
    refetchInterval: (q) => (q.state.data?.some((t) => t.builds.some((b) => b.status === 'building')) ? 2000 : 15_000),
  });
  const servers = useQuery({ queryKey: ['database-servers'], queryFn: () => api.get<DatabaseServer[]>('/database-servers') });
  const serverName = new Map(servers.data?.map((s) => [s.id, s.name]) ?? []);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const build = useMutation({
    mutationFn: (code: string) => api.post<TemplateBuild[]>(`/templates/${code}/build`),
    onMutate: (code) => setErrors((current) => ({ ...current, [code]: '' })),
    onSuccess: (builds, code) => {
      client.setQueryData<OperatorTemplate[]>(['templates'], (list) =>
        list?.map((t) =>
          t.code === code ? { ...t, builds: [...t.builds.filter((b) => !builds.some((n) => n.serverId === b.serverId)), ...builds] } : t,
        ),
      );
      void client.invalidateQueries({ queryKey: ['templates'] });
    },
    onError: (error, code) => setErrors((current) => ({ ...current, [code]: errorMessage(error) })),
  });

  return (
    <>
      <PageHeader title="Templates" subtitle="Prebuilt Odoo databases new tenants are cloned from, one build per database server." />
      <QueryStatus query={templates} loading="Loading templates…" />
      {templates.data && templates.data.length === 0 ? <EmptyState title="No templates" /> : null}
      {templates.data ? (
        <ul className="template-list">
          {templates.data.map((template) => {
            const busy = template.builds.some((b) => b.status === 'building') || (build.isPending && build.variables === template.code);
            return (
              <li key={template.code} className="card template" data-template={template.code}>
                <div className="template__head">
                  <div>
                    <h2 className="template__name">
                      {template.name} <code className="muted small">{template.code}</code>
                    </h2>
                    <p className="muted">{template.description}</p>
                  </div>
                  <button type="button" className="button button--secondary" disabled={busy} onClick={() => build.mutate(template.code)}>
                    {busy ? <Spinner label="Building" /> : null}
                    {template.builds.length === 0 ? 'Build' : 'Rebuild'}
                    <span className="visually-hidden"> {template.name}</span>
                  </button>
                </div>
                <p className="small">
                  <span className="muted">Modules:</span> {template.modules.join(', ')}
                </p>
                {errors[template.code] ? (
                  <p className="field__error" role="alert">
                    {errors[template.code]}
                  </p>
                ) : null}
                {template.builds.length === 0 ? (
                  <p className="muted small">Not built on any server yet: tenants cannot use it.</p>
                ) : (
                  <table className="table table--compact table--cards">
                    <caption className="visually-hidden">Builds of {template.name}</caption>
                    <thead>
                      <tr>
                        <th scope="col">Server</th>
                        <th scope="col">Status</th>
                        <th scope="col">Odoo</th>
                        <th scope="col">Started</th>
                        <th scope="col">Took</th>
                      </tr>
                    </thead>
                    <tbody>
                      {template.builds.map((b) => (
                        <tr key={b.serverId} data-started={b.startedAt}>
                          <td data-label="Server">{serverName.get(b.serverId) ?? b.serverId.slice(0, 8)}</td>
                          <td data-label="Status">
                            <StateBadge state={b.status} />
                            {b.error ? <div className="field__error small">{b.error}</div> : null}
                          </td>
                          <td data-label="Odoo">{b.odooVersion ?? '—'}</td>
                          <td data-label="Started" title={formatDateTime(b.startedAt)}>
                            {formatRelative(b.startedAt)}
                          </td>
                          <td data-label="Took">
                            {formatSeconds(buildSeconds(b))}
                            {b.jobId ? (
                              <>
                                {' '}
                                · <Link to={`/ops/jobs?id=${b.jobId}`}>job</Link>
                              </>
                            ) : null}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </li>
            );
          })}
        </ul>
      ) : null}
    </>
  );
}
