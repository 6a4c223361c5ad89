"""Delivery by law (§§ 87a, 122, 122a AO): consent, notification, deemed delivery, post."""
