-- When a worker claimed a batch item for dialling. An item still 'calling'
-- long after its claim belongs to a worker that died between the claim and
-- the record of what happened: the next pass settles it from the call the
-- worker stored (never dialling the lead twice) or gives it back.
ALTER TABLE call_batch_items ADD COLUMN claimed_at TIMESTAMPTZ;
