"""Acting for others in the portal: the "Handeln für …" switcher, an organisation's
representatives ("Vertreter") and powers of attorney ("Vollmachten")."""
