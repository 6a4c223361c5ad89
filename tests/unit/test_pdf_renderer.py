"""The kept renderer (fonts, parsed stylesheet, images) makes the same bytes as bare WeasyPrint."""

from __future__ import annotations

from weasyprint import HTML

from core.kernel.pdf import ROOT, STYLESHEET_LINK, Renderer, render_html
from tests.unit.test_notice_pdf import sample_context


def test_a_kept_renderer_makes_what_a_fresh_weasyprint_makes() -> None:
    html = render_html("notice.html", sample_context())
    assert STYLESHEET_LINK in html  # else the parsed stylesheet is never used
    bare = HTML(string=html, base_url=str(ROOT)).write_pdf()
    kept = Renderer()
    assert kept.pdf(html) == bare
    assert kept.pdf(html) == bare  # the second time from the kept fonts, stylesheet and images


def test_a_page_with_its_own_styles_keeps_its_link_and_cascade() -> None:
    html = render_html("notice.html", sample_context()).replace(
        "</head>", "<style>h1 { color: #c00 }</style></head>", 1
    )
    assert Renderer().pdf(html) == HTML(string=html, base_url=str(ROOT)).write_pdf()
