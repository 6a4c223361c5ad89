"""Dog tax (Hundesteuer): dogs and tags (models), the statute's rules (rules), the levy
(assessment), the online services of the Hundemanager (services)."""
