"""Retention (säilytysajat): the gateway forgets on time.

The gateway is not a register (rekisteri): it holds personal data only while a delivery needs it.
Every rule of forgetting lives here, in two halves:

- **Selection rules** (pure): when a held delivery stops waiting for consent
  (:func:`hold_expiry`), when a settled delivery's payload goes (:meth:`RetentionPolicy.purge_before`),
  when a spent consent is minimised (:meth:`RetentionPolicy.consent_cutoff`), which day's
  statistics events lose their link to the outcomes (:meth:`RetentionPolicy.statistics_day_cutoff`).
- **Sweeps**, one per kind, each idempotent (a repeat finds nothing left to do) and each run in its
  own short transactions, retried across transient database errors like the worker's own:

  ============================  ===============================================================
  sweep                         what it forgets
  ============================  ===============================================================
  ``expire_held``               a delivery held for consent past its ``expires_at`` is cancelled
                                ("no consent arrived before …"), with the booking waiting on it
  ``purge_payloads``            ``deliveries.payload`` of delivered, cancelled and failed
                                deliveries; ``held`` waits for an operator and keeps it
  ``purge_bookings``            a closed booking's ``request``/``result`` copies
  ``minimise_consents``         a revoked, expired or used-up consent keeps only its audit fields
  ``unlink_statistics``         ``outcomes.statistics_event_id``, a whole day at a time, the day's
                                events renumbered in content order so their ids say nothing of
                                the order the outcomes arrived in
  ============================  ===============================================================

What stays is codes, ids, keyed hashes (``client_key``), states and times: enough to answer "what
happened to this outcome" and "who received my data" (the disclosure log), nothing that names a
person. ``tests/e2e/test_retention.py`` proves it by scanning every column of every table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, exists, insert, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.logs import get_logger
from gateway.outbox.states import TERMINAL, Event, Status, sources, transition
from gateway.settings import WorkerSettings
from gateway.store.retrying import DEFAULT_POLICY, TransientRetryPolicy, retry_transient
from gateway.store.schema import bookings, consents, deliveries, outcomes, statistics_events

log = get_logger("gateway.retention")

T = TypeVar("T")

FINNISH_TIME = ZoneInfo("Europe/Helsinki")
# Settled: delivered and cancelled are final, and failed (a permanent error) is kept only the
# longer failed retention for an operator to replay it. ``held`` is not among them: the retry
# budget ran out on a transient error, and an operator releases it once the back-end is back.
# A replay of a purged delivery has nothing to send: the source posts the outcome again.
PURGED_STATUSES = tuple(sorted(TERMINAL | {Status.FAILED}))
EXPIRES = sources(Event.EXPIRE)
CLOSED_BOOKINGS = ("cancelled", "no_free_slot", "slot_taken")
# ``purpose`` is free text and may name the person; the column is NOT NULL, so it keeps a marker.
MINIMISED_TEXT = "(minimised)"
BATCH = 500


def local_day(moment: datetime) -> date:
    return moment.astimezone(FINNISH_TIME).date()


def start_of(day: date) -> datetime:
    """Midnight at the start of ``day`` in Finnish time, as UTC."""
    return datetime.combine(day, time(0), FINNISH_TIME).astimezone(UTC)


def window_end(payload: Mapping[str, Any] | None) -> datetime | None:
    """The end of the booking window an action's payload names (end of its last day, Finnish time), if any."""
    request = (payload or {}).get("request")
    window = request.get("window") if isinstance(request, Mapping) else None
    latest = window.get("latest") if isinstance(window, Mapping) else None
    if not isinstance(latest, str):
        return None
    try:
        return start_of(date.fromisoformat(latest) + timedelta(days=1))
    except ValueError:
        return None


def hold_expiry(payload: Mapping[str, Any] | None, *, held_at: datetime, wait: timedelta) -> datetime:
    """When a delivery held for consent stops waiting.

    A Kela booking is useless once its window has passed, so it waits until the window ends (even
    if that is sooner than ``wait``, even if it has already passed: then the next sweep cancels
    it). Anything else waits ``wait`` from the moment it was held.
    """
    return window_end(payload) or held_at + wait


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """The retention periods, from :class:`gateway.settings.WorkerSettings`."""

    payload_after: timedelta
    failed_payload_after: timedelta
    consent_wait: timedelta
    consent_after: timedelta
    statistics_link_days: int

    @classmethod
    def from_settings(cls, settings: WorkerSettings) -> RetentionPolicy:
        return cls(
            payload_after=timedelta(hours=settings.purge_after_hours),
            failed_payload_after=timedelta(hours=settings.failed_purge_after_hours),
            consent_wait=timedelta(hours=settings.consent_wait_hours),
            consent_after=timedelta(hours=settings.consent_retention_hours),
            statistics_link_days=settings.statistics_link_days,
        )

    def purge_before(self, now: datetime) -> dict[str, datetime]:
        """Per settled status: a delivery that settled before this moment loses its payload."""
        settled = now - self.payload_after
        failed = now - self.failed_payload_after
        return {status: failed if status == Status.FAILED else settled for status in PURGED_STATUSES}

    def consent_cutoff(self, now: datetime) -> tuple[datetime, date]:
        """A consent revoked or used before the moment, or valid until a day before the day, is minimised.

        A consent lapses at the end of its ``valid_until`` day, so it has been expired for the
        whole retention once that day lies before the Finnish day ``consent_after`` ago.
        """
        moment = now - self.consent_after
        return moment, local_day(moment)

    def statistics_day_cutoff(self, now: datetime) -> datetime:
        """Outcomes received before this moment (a Finnish midnight) lose their statistics link."""
        return start_of(local_day(now) - timedelta(days=self.statistics_link_days))


@dataclass(frozen=True, slots=True)
class SweepReport:
    """How many rows each sweep changed in one run."""

    expired_holds: int = 0
    purged_payloads: int = 0
    purged_bookings: int = 0
    minimised_consents: int = 0
    unlinked_statistics: int = 0

    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))


class Retention:
    """The sweeps, run from the worker's housekeeping loop (or by a test with its own clock)."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        settings: WorkerSettings,
        clock: Callable[[], datetime],
        db_retries: TransientRetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.engine = engine
        self.policy = RetentionPolicy.from_settings(settings)
        self.clock = clock
        self.db_retries = db_retries

    async def sweep(self) -> SweepReport:
        """Every sweep once, expiry first so that what it cancels is purged on schedule."""
        report = SweepReport(
            expired_holds=await self.expire_held(),
            purged_payloads=await self.purge_payloads(),
            purged_bookings=await self.purge_bookings(),
            minimised_consents=await self.minimise_consents(),
            unlinked_statistics=await self.unlink_statistics(),
        )
        if report.total():
            log.info("retention sweep", **{f.name: getattr(report, f.name) for f in fields(report)})
        return report

    async def _retrying(self, fn: Callable[[], Awaitable[T]], operation: str) -> T:
        return await retry_transient(fn, operation=operation, policy=self.db_retries)

    async def _batches(self, once: Callable[[], Awaitable[int]], operation: str) -> int:
        """Run ``once`` (one transaction of at most :data:`BATCH` rows) until it finds nothing more."""
        done = 0
        while True:
            changed = await self._retrying(once, operation)
            done += changed
            if changed < BATCH:
                return done

    # -- held for consent ----------------------------------------------------------------------

    async def expire_held(self) -> int:
        """Cancel deliveries held for consent past their expiry, and the bookings waiting on them."""
        now = self.clock()
        await self._batches(lambda: self._stamp_expiry_once(now), "stamp consent expiry")
        return await self._batches(lambda: self._expire_once(now), "expire holds")

    async def _stamp_expiry_once(self, now: datetime) -> int:
        # A row held before expiry was recorded (or by a path that did not know it) gets one now,
        # from the moment it was held: it never waits indefinitely.
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(deliveries.c.id, deliveries.c.payload, deliveries.c.updated_at)
                    .where(deliveries.c.status.in_(EXPIRES), deliveries.c.expires_at.is_(None))
                    .limit(BATCH)
                )
            ).all()
            for row in rows:
                expiry = hold_expiry(row.payload, held_at=row.updated_at, wait=self.policy.consent_wait)
                await conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id == row.id, deliveries.c.expires_at.is_(None))
                    .values(expires_at=expiry)
                )
        return len(rows)

    async def _expire_once(self, now: datetime) -> int:
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(deliveries.c.id, deliveries.c.expires_at)
                    .where(deliveries.c.status.in_(EXPIRES), deliveries.c.expires_at <= now)
                    .order_by(deliveries.c.expires_at)
                    .limit(BATCH)
                )
            ).all()
            cancelled = []
            for row in rows:
                stamp = row.expires_at.astimezone(FINNISH_TIME).strftime("%Y-%m-%d %H:%M Finnish time")
                # Guarded: a consent that bound the delivery meanwhile wins, and the row is left alone.
                changed = await conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id == row.id, deliveries.c.status.in_(EXPIRES))
                    .values(
                        status=transition(Status.HELD_FOR_CONSENT, Event.EXPIRE).value,
                        status_reason=f"no consent arrived before {stamp}; cancelled without sending",
                        updated_at=now,
                    )
                )
                if changed.rowcount == 1:
                    cancelled.append(row.id)
            if cancelled:
                await conn.execute(
                    update(bookings)
                    .where(bookings.c.delivery_id.in_(cancelled), bookings.c.status == "open")
                    .values(status="cancelled", last_error="no consent arrived in time", updated_at=now)
                )
        return len(rows)

    # -- payloads ------------------------------------------------------------------------------

    async def purge_payloads(self) -> int:
        """Remove the personal payload of every delivery that settled longer ago than its retention."""
        now = self.clock()
        before = self.policy.purge_before(now)

        async def purge_once() -> int:
            async with self.engine.begin() as conn:
                result = await conn.execute(
                    update(deliveries)
                    .where(
                        deliveries.c.payload.is_not(None),
                        or_(
                            *(
                                and_(deliveries.c.status == status, deliveries.c.updated_at < moment)
                                for status, moment in before.items()
                            )
                        ),
                    )
                    .values(payload=null(), purged_at=now)
                )
            return int(result.rowcount or 0)

        return await self._retrying(purge_once, "purge payloads")

    async def purge_bookings(self) -> int:
        """Remove a closed booking's request and result copies once the payload retention has passed.

        Closed: cancelled, refused by Kela (no free slot, slot taken), or its delivery settled.
        """
        now = self.clock()
        before = now - self.policy.payload_after
        settled = exists().where(deliveries.c.id == bookings.c.delivery_id, deliveries.c.status.in_(PURGED_STATUSES))

        async def purge_once() -> int:
            async with self.engine.begin() as conn:
                result = await conn.execute(
                    update(bookings)
                    .where(
                        or_(bookings.c.request.is_not(None), bookings.c.result.is_not(None)),
                        or_(bookings.c.status.in_(CLOSED_BOOKINGS), settled),
                        bookings.c.updated_at < before,
                    )
                    .values(request=null(), result=null())
                )
            return int(result.rowcount or 0)

        return await self._retrying(purge_once, "purge bookings")

    # -- consents ------------------------------------------------------------------------------

    async def minimise_consents(self) -> int:
        """Keep of a spent consent only what the audit needs; see :func:`minimised_values`."""
        now = self.clock()
        moment, day = self.policy.consent_cutoff(now)
        used_up = exists().where(
            deliveries.c.id == consents.c.used_by_delivery, deliveries.c.status.in_(PURGED_STATUSES)
        )
        spent = and_(
            consents.c.minimised_at.is_(None),
            or_(
                and_(consents.c.status == "revoked", consents.c.revoked_at < moment),
                consents.c.valid_until < day,
                and_(consents.c.status == "used", consents.c.used_at < moment, used_up),
            ),
        )

        async def minimise_once() -> int:
            async with self.engine.begin() as conn:
                ids = (await conn.execute(select(consents.c.id).where(spent).limit(BATCH))).scalars().all()
                if ids:
                    await conn.execute(
                        update(consents)
                        .where(consents.c.id.in_(ids), consents.c.minimised_at.is_(None))
                        .values(**minimised_values(now))
                    )
            return len(ids)

        return await self._batches(minimise_once, "minimise consents")

    # -- statistics ------------------------------------------------------------------------------

    async def unlink_statistics(self) -> int:
        """Cut the outcome → statistics event links of every whole day past the retention."""
        cutoff = self.policy.statistics_day_cutoff(self.clock())
        done = 0
        while True:
            changed = await self._retrying(lambda: self._unlink_day_once(cutoff), "unlink statistics")
            if changed == 0:
                return done
            done += changed

    async def _unlink_day_once(self, cutoff: datetime) -> int:
        """One Finnish day's links, cut together; the day's events get fresh ids in content order.

        The ids of statistics events grow in the order outcomes arrived; kept, they would let one
        match the n-th event of a day with the n-th outcome received that day. Renumbered
        together, in an order that depends only on what they say, they reveal no more than their
        ``recorded_on`` day.
        """
        async with self.engine.begin() as conn:
            first = (
                await conn.execute(
                    select(outcomes.c.received_at)
                    .where(outcomes.c.statistics_event_id.is_not(None), outcomes.c.received_at < cutoff)
                    .order_by(outcomes.c.received_at)
                    .limit(1)
                )
            ).scalar()
            if first is None:
                return 0
            day = local_day(first)
            linked = and_(
                outcomes.c.statistics_event_id.is_not(None),
                outcomes.c.received_at >= start_of(day),
                outcomes.c.received_at < min(start_of(day + timedelta(days=1)), cutoff),
            )
            event_ids = (await conn.execute(select(outcomes.c.statistics_event_id).where(linked))).scalars().all()
            events = await _event_contents(conn, list(event_ids))
            await conn.execute(update(outcomes).where(linked).values(statistics_event_id=None))
            await conn.execute(delete(statistics_events).where(statistics_events.c.id.in_(event_ids)))
            if events:
                await conn.execute(insert(statistics_events), sorted(events, key=_content_order))
        return len(event_ids)


def minimised_values(now: datetime) -> dict[str, Any]:
    """What minimising a consent writes (tietojen minimointi).

    Kept for the audit: id, ``client_key`` (a keyed hash), parties, data categories, form, validity,
    status, ``used_by_delivery``/``used_at``, ``revoked_at``, ``recorded_by`` (unit and worker
    codes), ``given_at``, ``source``. Removed: who consented and their guardian, the signed form's
    reference, and free text (the purpose, the revocation reason).
    """
    return {
        "consenter": null(),
        "guardian": null(),
        "form_reference": None,
        "purpose": MINIMISED_TEXT,
        "revocation_reason": None,
        "minimised_at": now,
    }


async def _event_contents(conn: AsyncConnection, ids: list[Any]) -> list[dict[str, Any]]:
    if not ids:
        return []
    columns = [c for c in statistics_events.columns if c.name != "id"]
    rows = await conn.execute(select(*columns).where(statistics_events.c.id.in_(ids)))
    return [dict(r._mapping) for r in rows]


def _content_order(event: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(event[name]) for name in sorted(event))
