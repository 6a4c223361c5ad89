// The SAML response arrived by a cross-site POST, which brings no session cookie (SameSite=Lax):
// posting it once more from our own page does (portal/identity/saml.py, saml_acs).
document.getElementById("saml-continue").submit();
