-- The outbox's hot queries, kept together so a reviewer can read them whole.
-- Each block starts with "-- name: <name>" and a one-line comment; {skip_locked} is
-- "FOR UPDATE SKIP LOCKED" and {lock_rows} "FOR UPDATE" on PostgreSQL, both empty on SQLite,
-- where BEGIN IMMEDIATE already gives every writing transaction the database's only write lock.
--
-- Every claim counts an attempt (deliveries.attempts) and every attempt that ends leaves exactly
-- one row in attempts, written in the transaction that ends it: delivered, transient or permanent
-- by its worker, abandoned by whoever takes the claim away (an expired lease, a caller that
-- stopped waiting). A hold for consent ends a claim that sent nothing: it gives the count back
-- instead. A worker that reports after its claim was taken away adds a row marked late, which
-- counts nothing. So, for every delivery:
--     attempts = (rows with result <> 'late') + (1 if in flight else 0).

-- name: record_abandoned
-- Record the attempt of every expired lease of a back-end as abandoned, from its claim; locks those rows for expire_leases.
INSERT INTO attempts (delivery_id, number, worker, started_at, duration_ms, result, backend_status, message)
SELECT id, attempts, lease_owner, COALESCE(claimed_at, :now), 0, 'abandoned', NULL,
       'the worker''s lease expired before it reported; reclaimed'
FROM deliveries
WHERE backend = :backend AND status = 'in_flight' AND lease_expires_at < :now
{skip_locked}
RETURNING delivery_id, worker;

-- name: expire_leases
-- Put the deliveries whose abandoned attempts record_abandoned just recorded back in the queue, marked as reclaimed.
UPDATE deliveries
SET status = 'pending', status_reason = 'reclaimed from ' || lease_owner, next_attempt_at = :now,
    lease_owner = NULL, lease_expires_at = NULL, claimed_at = NULL, updated_at = :now
WHERE id IN :ids;

-- name: claim_due
-- Lease up to :limit due deliveries of one back-end, oldest first (an ordered index scan);
-- a new version waits while the delivery it replaces is still queued or in flight.
UPDATE deliveries
SET status = 'in_flight',
    lease_owner = :owner,
    lease_expires_at = :lease_until,
    claimed_at = :now,
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
SET status = 'in_flight', lease_owner = :owner, lease_expires_at = :lease_until, claimed_at = :now,
    attempts = attempts + 1, status_reason = NULL, updated_at = :now
WHERE id = :id AND status = 'pending'
RETURNING id, outcome_id, action_key, kind, payload, attempts, document_version, supersedes,
          consent_id, status_reason;

-- name: record_released
-- Record a claimed attempt whose caller stopped waiting for it as abandoned; locks the row for release_lease.
INSERT INTO attempts (delivery_id, number, worker, started_at, duration_ms, result, backend_status, message)
SELECT id, attempts, lease_owner, COALESCE(claimed_at, :now), 0, 'abandoned', NULL,
       'the caller stopped waiting before the result was recorded; handed back to the queue'
FROM deliveries
WHERE id = :id AND lease_owner = :owner AND status = 'in_flight'
{lock_rows};

-- name: release_lease
-- Give a claimed delivery back to the queue at once (the caller stopped waiting for it).
UPDATE deliveries
SET status = 'pending', next_attempt_at = :now, lease_owner = NULL, lease_expires_at = NULL, claimed_at = NULL,
    updated_at = :now
WHERE id = :id AND lease_owner = :owner AND status = 'in_flight';

-- name: renew_leases
-- Extend the leases this worker still holds (heartbeat), so a slow delivery is not reclaimed.
UPDATE deliveries
SET lease_expires_at = :lease_until
WHERE lease_owner = :owner AND status = 'in_flight' AND id IN :ids;

-- name: complete
-- Mark a delivery delivered, keeping the back-end's references; only if this claim still holds it.
UPDATE deliveries
SET status = 'delivered', backend_refs = :refs, delivered_at = :now, updated_at = :now,
    lease_owner = NULL, lease_expires_at = NULL, claimed_at = NULL, last_error = NULL, status_reason = :reason
WHERE id = :id AND lease_owner = :owner AND status = 'in_flight' AND attempts = :attempt;

-- name: reschedule
-- Put a delivery back in the queue after a transient failure; only if this claim still holds it.
UPDATE deliveries
SET status = 'pending', next_attempt_at = :not_before, last_error = :error, status_reason = :reason,
    failing_since = :failing_since, retry_spent_seconds = :spent,
    updated_at = :now, lease_owner = NULL, lease_expires_at = NULL, claimed_at = NULL
WHERE id = :id AND lease_owner = :owner AND status = 'in_flight' AND attempts = :attempt;

-- name: park
-- Stop retrying: 'held' (retry budget spent) or 'failed' (permanent error), for an operator; only if this claim still holds it.
UPDATE deliveries
SET status = :status, last_error = :error, status_reason = :reason, updated_at = :now,
    failing_since = :failing_since, retry_spent_seconds = :spent,
    lease_owner = NULL, lease_expires_at = NULL, claimed_at = NULL
WHERE id = :id AND lease_owner = :owner AND status = 'in_flight' AND attempts = :attempt;

-- name: pause_retry_budgets
-- The back-end's circuit opened: stop the retry clocks of its queued and in-flight deliveries (waiting for it spends no budget).
UPDATE deliveries
SET failing_since = NULL
WHERE backend = :backend AND failing_since IS NOT NULL AND status IN ('pending', 'in_flight');

-- name: hold_for_consent
-- The bound consent lapsed before sending: wait for a new one until :expires_at, giving back the attempt the claim counted but never made.
UPDATE deliveries
SET status = 'held_for_consent', consent_id = NULL, status_reason = :reason, attempts = attempts - 1,
    expires_at = :expires_at, updated_at = :now, lease_owner = NULL, lease_expires_at = NULL, claimed_at = NULL
WHERE id = :id AND lease_owner = :owner AND status = 'in_flight' AND attempts = :attempt;

-- name: claim_taken
-- Whether a claim that no longer holds its delivery was taken away (its attempt recorded abandoned) rather than ended by its own worker.
SELECT count(*) FROM attempts
WHERE delivery_id = :id AND number = :attempt AND worker = :owner AND result = 'abandoned';

-- name: release_awaiting_adapter
-- A worker that serves a back-end releases the deliveries that waited for its adapter.
UPDATE deliveries
SET status = 'pending', status_reason = NULL, updated_at = :now
WHERE backend = :backend AND status = 'awaiting_adapter';
