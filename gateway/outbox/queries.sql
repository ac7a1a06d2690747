-- The outbox's hot queries, kept together so a reviewer can read them whole.
-- Each block starts with "-- name: <name>" and a one-line comment; {skip_locked} is
-- "FOR UPDATE SKIP LOCKED" on PostgreSQL and empty on SQLite, where BEGIN IMMEDIATE already
-- gives the claiming transaction the database's only write lock.

-- name: expire_leases
-- Put deliveries whose worker stopped renewing its lease back in the queue, marked as reclaimed.
UPDATE deliveries
SET status = 'pending', status_reason = 'reclaimed from ' || lease_owner, next_attempt_at = :now,
    lease_owner = NULL, lease_expires_at = NULL, updated_at = :now
WHERE backend = :backend AND status = 'in_flight' AND lease_expires_at < :now;

-- name: claim_due
-- Lease up to :limit due deliveries of one back-end, oldest first (an ordered index scan);
-- a new version waits while the delivery it replaces is still queued or in flight.
UPDATE deliveries
SET status = 'in_flight',
    lease_owner = :owner,
    lease_expires_at = :lease_until,
    attempts = attempts + 1,
    status_reason = CASE WHEN status_reason LIKE 'reclaimed from %' THEN status_reason ELSE NULL END,
    updated_at = :now
WHERE id IN (
    SELECT candidate.id FROM deliveries AS candidate
    WHERE candidate.backend = :backend
      AND candidate.status = 'pending'
      AND candidate.next_attempt_at <= :now
      AND NOT EXISTS (SELECT 1 FROM deliveries AS earlier
                      WHERE earlier.id = candidate.supersedes AND earlier.status IN ('pending', 'in_flight'))
    ORDER BY candidate.next_attempt_at
    LIMIT :limit
    {skip_locked}
)
RETURNING id, outcome_id, action_key, kind, payload, attempts, document_version, supersedes,
          consent_id, status_reason;

-- name: claim_one
-- Lease one given delivery now (a first attempt made while the caller waits), if it is due.
UPDATE deliveries
SET status = 'in_flight', lease_owner = :owner, lease_expires_at = :lease_until, attempts = attempts + 1,
    status_reason = NULL, updated_at = :now
WHERE id = :id AND status = 'pending'
RETURNING id, outcome_id, action_key, kind, payload, attempts, document_version, supersedes,
          consent_id, status_reason;

-- name: release_lease
-- Give a claimed delivery back to the queue at once (the caller stopped waiting for it).
UPDATE deliveries
SET status = 'pending', next_attempt_at = :now, lease_owner = NULL, lease_expires_at = NULL, updated_at = :now
WHERE id = :id AND lease_owner = :owner AND status = 'in_flight';

-- name: renew_leases
-- Extend the leases this worker still holds (heartbeat), so a slow delivery is not reclaimed.
UPDATE deliveries
SET lease_expires_at = :lease_until
WHERE lease_owner = :owner AND status = 'in_flight' AND id IN :ids;

-- name: complete
-- Mark a delivery delivered, keeping the back-end's references; only if we still hold the lease.
UPDATE deliveries
SET status = 'delivered', backend_refs = :refs, delivered_at = :now, updated_at = :now,
    lease_owner = NULL, lease_expires_at = NULL, last_error = NULL, status_reason = :reason
WHERE id = :id AND lease_owner = :owner AND status = 'in_flight';

-- name: reschedule
-- Put a delivery back in the queue after a transient failure.
UPDATE deliveries
SET status = 'pending', next_attempt_at = :not_before, last_error = :error, status_reason = :reason,
    updated_at = :now, lease_owner = NULL, lease_expires_at = NULL
WHERE id = :id AND lease_owner = :owner AND status = 'in_flight';

-- name: park
-- Stop retrying: 'held' (attempts exhausted) or 'failed' (permanent error), for an operator.
UPDATE deliveries
SET status = :status, last_error = :error, status_reason = :reason, updated_at = :now,
    lease_owner = NULL, lease_expires_at = NULL
WHERE id = :id AND lease_owner = :owner AND status = 'in_flight';

-- name: hold_for_consent
-- The consent bound to a claimed delivery lapsed (expired, revoked) before sending: wait for a new one.
UPDATE deliveries
SET status = 'held_for_consent', consent_id = NULL, status_reason = :reason, attempts = attempts - 1,
    updated_at = :now, lease_owner = NULL, lease_expires_at = NULL
WHERE id = :id AND lease_owner = :owner AND status = 'in_flight';

-- name: release_awaiting_adapter
-- A worker that serves a back-end releases the deliveries that waited for its adapter.
UPDATE deliveries
SET status = 'pending', status_reason = NULL, updated_at = :now
WHERE backend = :backend AND status = 'awaiting_adapter';

-- name: purge_payloads
-- Remove personal payloads of finished deliveries once the retention period has passed.
UPDATE deliveries
SET payload = NULL, purged_at = :now
WHERE payload IS NOT NULL
  AND status IN ('delivered', 'cancelled')
  AND updated_at < :older_than;
