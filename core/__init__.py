"""OpenKasse core: plain Python + SQLAlchemy, no web framework.

Every service takes an explicit ``as_of`` date (or datetime) so that each rule can be tested for
any day. The edges (portal, back office, CLI) parse input, call one service and commit.
"""
