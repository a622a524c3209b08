"""Refuses RPC calls that name a database the request's host may not open.

Why: a pool Odoo serves many tenant databases and picks one per request from the host
(`dbfilter = ^t_%d$`), but its RPC endpoints (`/jsonrpc`, `/xmlrpc/<service>`,
`/xmlrpc/2/<service>`) take the database from the request body and ignore dbfilter. The platform's
gateway reads the bodies sent to those paths, but the website module lets a tenant's admin add a
rewrite (website.rewrite, 308) that makes the RPC controller answer at any path, where the
gateway sees an ordinary page. So Odoo itself must refuse too: this module wraps
`odoo.http.dispatch_rpc`, where every RPC call goes whatever the path.

Loaded as a server-wide module (`server_wide_modules = base,web,saas_rpc_guard`): imported once at
start-up, before any request; it has no models and is never installed in a database.
"""
import logging
import sys

from odoo import http
from odoo.exceptions import AccessDenied

_logger = logging.getLogger(__name__)

# `common` methods that take no database (exp_version, exp_about, exp_set_loglevel). Every other
# `common` method (login, authenticate, ...) takes it as its first parameter, like `object`.
_COMMON_METHODS_WITHOUT_DATABASE = frozenset({'version', 'about', 'set_loglevel'})


def _allowed(service_name, method, params):
    if service_name == 'common' and method in _COMMON_METHODS_WITHOUT_DATABASE:
        return True
    if service_name not in ('common', 'object'):
        # `db` (dump, drop, duplicate, list, ...) has nothing to offer a tenant.
        return False
    database = params[0] if isinstance(params, (list, tuple)) and params else None
    # What dbfilter (or db_name) lets this request's host open.
    return isinstance(database, str) and bool(http.db_filter([database]))


def _guarded(original):
    def dispatch_rpc(service_name, method, params):
        # Checked before calling Odoo's dispatch_rpc: it hides the request (borrow_request).
        # Without a request (Odoo's own internal calls) nothing is checked.
        if http.request and not _allowed(service_name, method, params):
            _logger.warning(
                'saas_rpc_guard: refused %s.%s for host %s',
                service_name, method, http.request.httprequest.environ.get('HTTP_HOST', ''),
            )
            raise AccessDenied()
        return original(service_name, method, params)

    dispatch_rpc.saas_rpc_guard_wraps = original
    return dispatch_rpc


def _install():
    original = http.dispatch_rpc
    if getattr(original, 'saas_rpc_guard_wraps', None) is not None:
        return
    guarded = _guarded(original)
    # Modules imported later (`from odoo.http import dispatch_rpc`) get the guarded function;
    # modules already imported hold the original by name (odoo.addons.base.controllers.rpc and
    # odoo.addons.web.controllers.database in Odoo 16), so every such reference is replaced.
    http.dispatch_rpc = guarded
    for module in list(sys.modules.values()):
        namespace = getattr(module, '__dict__', None)
        if isinstance(namespace, dict) and namespace.get('dispatch_rpc') is original:
            module.dispatch_rpc = guarded
    _logger.info('saas_rpc_guard: RPC calls are limited to the databases the request host selects')


_install()
