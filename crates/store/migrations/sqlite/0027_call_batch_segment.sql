-- The segment a call batch was started from, so that the batches list and
-- a batch's page name it ("Churn risk, EMEA") instead of only a time.
-- Forward-only: never edit once landed.
--
-- `segment_name` is the name when the batch started: the batch called the
-- segment's leads as they were then, and a segment renamed or deleted since
-- still names what was called. Both are NULL for a batch of chosen leads
-- and for the batches started before this migration.
ALTER TABLE call_batches ADD COLUMN segment_id INTEGER;
ALTER TABLE call_batches ADD COLUMN segment_name TEXT;
