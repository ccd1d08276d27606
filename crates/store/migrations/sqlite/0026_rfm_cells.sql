-- The RFM grid's counts, stored when the customers are ranked (issue 16:
-- the grid page read and grouped every customer's scores, 270,030 rows at
-- 1M contacts, on every visit). Forward-only: never edit once landed.
--
-- One row per (recency, frequency) cell that holds a customer, written in
-- the transaction that ranks `contact_rfm`, so the two always agree.
-- Every organization's RFM is marked stale so that the next sync that
-- needs it ranks again and fills its cells.
CREATE TABLE contact_rfm_cells (
    organization_id INTEGER NOT NULL,
    rfm_recency     INTEGER NOT NULL,
    rfm_frequency   INTEGER NOT NULL,
    customers       INTEGER NOT NULL,
    PRIMARY KEY (organization_id, rfm_recency, rfm_frequency)
) WITHOUT ROWID;

UPDATE contact_metrics_state SET rfm_stale = 1;
