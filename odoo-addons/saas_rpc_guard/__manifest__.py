# Shipped by the SaaS platform; loaded as a server-wide module, never installed in a database.
{
    'name': 'SaaS RPC guard',
    'summary': "RPC calls may open only the databases the request's host selects",
    'description': """
Odoo's RPC endpoints (/jsonrpc, /xmlrpc/<service>, /xmlrpc/2/<service>) open whatever database
the request body names, whatever dbfilter says. This server-wide module refuses, for calls that
come over HTTP, the `db` service and every `common`/`object` call whose database the dbfilter
would not select for the request's host. Version-agnostic: Odoo 16, 17 and 18.
""",
    'version': '1.0.0',
    'category': 'Hidden',
    'license': 'LGPL-3',
    'depends': ['base'],
    'data': [],
    'installable': True,
    'auto_install': False,
    'application': False,
}
