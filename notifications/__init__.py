"""Rendering (Jinja2, zh-CN) and mail transports (SMTP via yagmail, or an outbox folder)."""
