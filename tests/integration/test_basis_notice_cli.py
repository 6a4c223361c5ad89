"""`openkasse import messbescheide FILE` on a fresh demo database: the town is found by its
Gemeindeschlüssel, a second run changes nothing, a refused file lists its lines and applies
nothing, an unknown municipality is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.levies.basis_notices import queue
from core.levies.basis_notices.models import (
    BasisNotice,
    NoticeKind,
    PendingNotice,
    TaxKind,
    TaxObject,
)
from core.levies.basis_notices.queries import history, share_in_force
from core.levies.trade_tax import approval
from core.levies.trade_tax.assessment import last_notice
from core.notices.records import Notice
from core.persons.models import Person, PersonKind
from core.tenancy.municipalities import get_by_slug
from tests.basis_notice_files import business, delivery, plot

SCRIPT = Path(sys.executable).with_name("openkasse")


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def _demo_has_basis_notices(session: Session, municipality_id: int) -> None:
    """The demo's delivery: plots and businesses, a Zerlegung, a change, a cancellation, one
    notice waiting for the clerk — enough for the assessment to come."""
    objects = session.scalars(
        select(TaxObject).where(TaxObject.municipality_id == municipality_id)
    ).all()
    taxes = {o.tax for o in objects}
    assert taxes == {TaxKind.PROPERTY_TAX, TaxKind.TRADE_TAX}
    year = clock.today().year
    plots = [o for o in objects if o.tax is TaxKind.PROPERTY_TAX]
    kinds = {n.kind for o in plots for n in history(session, o.id)}
    assert {NoticeKind.NEW, NoticeKind.CHANGE, NoticeKind.CANCELLATION} <= kinds
    assert all(share_in_force(session, o.id, year) for o in plots)
    assert sum(1 for o in plots if share_in_force(session, o.id, year + 1) is None) == 1
    shares = [
        share_in_force(session, o.id, year - 1) for o in objects if o.tax is TaxKind.TRADE_TAX
    ]
    assert Fraction(2, 5) in {s.share for s in shares if s}
    assert queue.open_count(session, municipality_id) == 1
    # trade tax is assessed from them: a notice per business, or one waiting for the approver
    trade = {o.id for o in objects if o.tax is TaxKind.TRADE_TAX}
    issued = {o for o in trade if last_notice(session, o, year - 1) is not None}
    waiting = {a.subject_id for a in approval.open_applications(session, municipality_id)}
    assert issued and issued | waiting == trade
    unassessed = select(func.count(Claim.id)).where(
        Claim.municipality_id == municipality_id,
        Claim.kind == ClaimKind.TRADE_TAX,
        Claim.assessment_key.is_(None),
    )
    assert session.scalar(unassessed) == 0  # no random trade-tax claims any more


def test_import_messbescheide_command(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    assert run("db", "upgrade", env=env).returncode == 0
    assert run("demo", "--persons", "6", env=env).returncode == 0
    factory = make_session_factory(make_engine(env["DATABASE_URL"]))
    with factory() as session:
        m = get_by_slug(session, "musterstadt")
        _demo_has_basis_notices(session, m.id)
        person = session.scalars(select(Person).where(Person.municipality_id == m.id)).first()
        firm = session.scalars(
            select(Person).where(Person.municipality_id == m.id, Person.kind == PersonKind.BUSINESS)
        ).first()
        assert person is not None and firm is not None
        good = delivery(
            plot(m, "9999/1/1", person_number=person.number),
            plot(m, "9999/2/2", name="Offen"),
            business(m, "9999/5/5", person_number=firm.number, year_from=clock.today().year),
        )
        notices_of = select(func.count(Notice.id)).where(Notice.person_id.in_([person.id, firm.id]))
        issued_before = session.scalar(notices_of) or 0
        bad = delivery(plot(m, "9999/3/3", person_number=123456789), plot(m, "9999/3/3"))
        foreign = delivery(plot(m, "9999/4/4", municipality_key="01234567"))
        notices = session.scalar(select(func.count(BasisNotice.id)))
        pending = session.scalar(select(func.count(PendingNotice.id)))
    (tmp_path / "gut.xml").write_bytes(good)
    (tmp_path / "schlecht.xml").write_bytes(bad)
    (tmp_path / "fremd.xml").write_bytes(foreign)

    done = run("import", "messbescheide", str(tmp_path / "gut.xml"), env=env)
    assert done.returncode == 0, done.stderr
    assert (
        "Musterstadt" in done.stdout and "3 Bescheide, 2 übernommen, 1 zur Klärung" in done.stdout
    )
    # the import assessed what it brought: the plot's owner, the business's notice
    assert "Festgesetzt:" in done.stdout and "Gewerbesteuerbescheide erlassen" in done.stdout
    with factory() as session:
        issued = (session.scalar(notices_of) or 0) - issued_before
    assert issued >= 2
    assert f"Festgesetzt: {issued - 1} Grundsteuerbescheide erlassen, 1 Gewerbe" in done.stdout
    again = run("import", "messbescheide", str(tmp_path / "gut.xml"), env=env)
    assert again.returncode == 0 and "bereits eingelesen" in again.stdout
    assert "Festgesetzt" not in again.stdout

    refused = run(
        "import",
        "messbescheide",
        str(tmp_path / "schlecht.xml"),
        "--municipality",
        "musterstadt",
        env=env,
    )
    assert refused.returncode != 0 and "Festgesetzt" not in refused.stdout
    assert "nichts übernommen" in refused.stderr
    assert "Zeile 4: ein Personenkonto 123456789 gibt es" in refused.stderr
    assert "steht schon in Zeile 4" in refused.stderr
    unknown = run("import", "messbescheide", str(tmp_path / "fremd.xml"), env=env)
    assert unknown.returncode != 0 and "Unbekannte Kommune" in unknown.stderr
    wrong = run(
        "import",
        "messbescheide",
        str(tmp_path / "fremd.xml"),
        "--municipality",
        "beispielhausen",
        env=env,
    )
    assert wrong.returncode != 0 and "für die Gemeinde 01234567" in wrong.stderr

    with factory() as session:
        assert session.scalar(select(func.count(BasisNotice.id))) == (notices or 0) + 2
        assert (session.scalar(notices_of) or 0) == issued_before + issued  # twice: no more
        assert session.scalar(select(func.count(PendingNotice.id))) == (pending or 0) + 1
