"""The ``duban`` command line: one module per command group, plus the CLI's own support
(the app object and error handler, Chinese click strings, consoles, terminal escaping,
database fault messages).  :mod:`flows.cli` assembles it; nothing else imports it."""
