"""Levies: the one levy pipeline (pipeline.py) and one folder per levy (dog_tax, waste, water) that
configures it; booking of differences, payment schedules, run guards, fee notices."""
