/**
 * The bodies of refused RPCs, in the protocol the client speaks so that Odoo's own clients (the
 * web client, `xmlrpc.client`, odoorpc, ...) show a readable error instead of a parse failure.
 * Pure. The message is fixed: it never repeats what the request named.
 */
import { renderStatusPage } from './status-pages.js';

export interface RefusalResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type RefusalCause = 'forbidden' | 'too_large';

const MESSAGES: Record<RefusalCause, { message: string; detail: string; exception: string; faultCode: number }> = {
  forbidden: {
    message: 'Access Denied',
    detail: 'This address only serves its own database; the request named another database or a service that is not available here.',
    exception: 'odoo.exceptions.AccessDenied',
    // Odoo's RPC_FAULT_CODE_ACCESS_DENIED, what its own XML-RPC endpoint answers for AccessDenied.
    faultCode: 3,
  },
  too_large: {
    message: 'Request Entity Too Large',
    detail: 'The request body is larger than this address accepts for RPC calls.',
    exception: 'werkzeug.exceptions.RequestEntityTooLarge',
    faultCode: 1,
  },
};

function withLength(status: number, contentType: string, body: string): RefusalResponse {
  return {
    status,
    headers: {
      'content-type': contentType,
      'content-length': String(Buffer.byteLength(body)),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
    body,
  };
}

function escapeXml(text: string): string {
  return text.replace(/[&<>]/g, (char) => (char === '&' ? '&amp;' : char === '<' ? '&lt;' : '&gt;'));
}

/** A refusal as JSON-RPC error (Odoo's error shape), XML-RPC fault, or HTML page. */
export function rpcRefusal(
  protocol: 'jsonrpc' | 'xmlrpc' | 'http',
  cause: RefusalCause,
  requestId: string | number | null = null,
): RefusalResponse {
  const status = cause === 'forbidden' ? 403 : 413;
  const text = MESSAGES[cause];
  if (protocol === 'jsonrpc') {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: requestId,
      error: {
        code: status,
        message: text.message,
        data: { name: text.exception, message: text.detail, arguments: [text.detail], context: {}, debug: '' },
      },
    });
    return withLength(status, 'application/json', body);
  }
  if (protocol === 'xmlrpc') {
    const body =
      "<?xml version='1.0'?>\n<methodResponse><fault><value><struct>" +
      `<member><name>faultCode</name><value><int>${text.faultCode}</int></value></member>` +
      `<member><name>faultString</name><value><string>${escapeXml(`${text.message}: ${text.detail}`)}</string></value></member>` +
      '</struct></value></fault></methodResponse>\n';
    return withLength(status, 'text/xml; charset=utf-8', body);
  }
  // Only RPC paths are buffered, so a 413 is always JSON-RPC or XML-RPC; the page is a fallback.
  return { ...renderStatusPage('forbidden'), status };
}

/**
 * A call refused by a plan limit, as Odoo answers a `UserError`: JSON-RPC errors with HTTP 200
 * and the message in `data.message` (the web client shows it in a dialog), XML-RPC faults with
 * Odoo's warning fault code 2.
 */
export function limitRefusal(protocol: 'jsonrpc' | 'xmlrpc', message: string, requestId: string | number | null = null): RefusalResponse {
  if (protocol === 'jsonrpc') {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: requestId,
      error: {
        code: 200,
        message: 'Odoo Server Error',
        data: { name: 'odoo.exceptions.UserError', message, arguments: [message], context: {}, debug: '' },
      },
    });
    return withLength(200, 'application/json', body);
  }
  const body =
    "<?xml version='1.0'?>\n<methodResponse><fault><value><struct>" +
    '<member><name>faultCode</name><value><int>2</int></value></member>' +
    `<member><name>faultString</name><value><string>${escapeXml(message)}</string></value></member>` +
    '</struct></value></fault></methodResponse>\n';
  return withLength(200, 'text/xml; charset=utf-8', body);
}
