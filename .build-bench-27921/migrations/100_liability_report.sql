-- Payment liability bases as reported (invoiced), per agreement and month (src/followup/liability). A month
-- recomputed later is compared with its latest report: the difference per municipality and stay is the
-- correction (credit or debit). Rows are only added: each report keeps what was sent at the time.
CREATE TABLE liability_report (
  agreement text NOT NULL,
  month text NOT NULL,
  seq integer NOT NULL,
  reported_at timestamptz NOT NULL DEFAULT now(),
  -- who asked for the report (client id)
  reported_by text,
  daily_rate numeric NOT NULL,
  -- [{ municipality, days, amount, stays: [{ id, billableDays }] }]
  basis jsonb NOT NULL,
  PRIMARY KEY (agreement, month, seq)
);
