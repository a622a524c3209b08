import { useEffect } from 'react';

/** Every page names itself in the browser tab (and for screen readers on navigation). */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Odoo SaaS`;
  }, [title]);
}
