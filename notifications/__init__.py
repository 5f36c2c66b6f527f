"""Rendering (Jinja2, zh-CN) and mail transports (SMTP over one connection, or an outbox folder)."""
