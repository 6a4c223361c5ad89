"""Documents: PDF rendering of notices (WeasyPrint); later the archive and delivery.

The PDF renderer has its own Jinja2 environment for ``templates/documents/`` — the one place in
core that may import jinja2 (ARCHITECTURE.md); it never uses Flask's.
"""
