"""Assessment (Veranlagung): one module per levy computes what is owed; ``booking`` turns a
computation into claims (only the difference to what is already booked)."""
