-- The HL7 message log's time searches (GET /admin/api/hl7/messages?from=&to=: received at) read the log back to the
-- window: `received_at` had no index, so a day in June walked every message newer than it (110 ms per 100 000
-- messages, issue 17, docs/performance.md). Messages are appended in the order received, so a BRIN index (the
-- smallest and lowest and highest `received_at` of each 128 pages) finds a window's pages: a few kB for the whole
-- log, and close to nothing per insert on the intake's path (a B-tree would add an index entry per message).
-- Building it reads the table once, under a lock that holds new messages back meanwhile (≈ a sequential scan of
-- `hl7_message`: 0.1 s for 50 000 messages here; about a minute for a national year's 6.9 M).
CREATE INDEX IF NOT EXISTS hl7_message_received ON hl7_message USING brin (received_at);
