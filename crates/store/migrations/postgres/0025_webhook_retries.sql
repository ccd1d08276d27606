-- A webhook's effects retried until they are done (docs/voice.md; issue 19).
-- Forward-only: never edit once landed.
--
-- A receipt commits with the call's changes and claims the effects that
-- follow (the transcript's activity, the analysis's fill of the lead, its
-- new score and `call_completed`); they run after the commit. A receipt
-- keeps what it owes until they have all run: `processed_at` stays NULL,
-- `attempts` counts the runs, `next_attempt_at` says when a failed one may
-- run again (doubling, a bounded number of times) and `last_error` why it
-- failed. `lead_filled` commits with the lead's update, so a retry never
-- fills the lead twice. Receipts from before this migration took effect
-- when they came.
ALTER TABLE call_webhook_receipts ADD COLUMN owes_activity BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE call_webhook_receipts ADD COLUMN owes_completion BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE call_webhook_receipts ADD COLUMN lead_filled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE call_webhook_receipts ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE call_webhook_receipts ADD COLUMN next_attempt_at TIMESTAMPTZ;
ALTER TABLE call_webhook_receipts ADD COLUMN processed_at TIMESTAMPTZ;
ALTER TABLE call_webhook_receipts ADD COLUMN last_error TEXT;
UPDATE call_webhook_receipts SET processed_at = received_at;
-- What the retry pass looks for: the receipts still owing effects.
CREATE INDEX call_webhook_receipts_unprocessed ON call_webhook_receipts (next_attempt_at)
    WHERE processed_at IS NULL;
