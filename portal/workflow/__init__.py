"""Applications in the portal: the status page and the citizen's answer (views), and the
forms of the pipeline (also the clerk's decision and criteria)."""
