# Shipped by the SaaS platform; loaded as a server-wide module, never installed in a database.
{
    'name': 'SaaS pool memory',
    'summary': 'Bounds the memory a shared Odoo process gives to the databases it serves',
    'description': """
Two settings of odoo.conf that Odoo reads but cannot use as written:
registry_lru_size (how many databases' registries a worker keeps) becomes a number, and
saas_worker_recycle_rss (bytes) recycles a worker whose resident memory passed it.
Version-agnostic: Odoo 16, 17 and 18.
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
