"""Fixtures of the web tests kept in modules of their own."""

from tests.oidc_flow import bundid, idp  # noqa: F401 - the OIDC log-in fixtures
from tests.saml_flow import saml_bundid, saml_idp  # noqa: F401 - the SAML log-in fixtures
