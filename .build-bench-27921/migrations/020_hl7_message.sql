-- Raw HL7 v2 messages as received (MLLP or POST /hl7v2), kept whatever their outcome: accepted messages for
-- audit and replay, rejected/error ones for the integration admin (GET /admin/api/hl7/messages). The row is
-- committed before the ACK is sent. (sender, control_id) de-duplicates repeats of MSH-10 per sender.
CREATE TABLE hl7_message (
  id bigserial PRIMARY KEY,
  -- 'MSH-3.1/MSH-4.1'; '(unparsed)' when the header could not be read
  sender text NOT NULL,
  -- MSH-10; NULL when unreadable (NULLs never collide)
  control_id text,
  event text,
  raw text NOT NULL,
  -- 'mllp' | 'http'
  channel text NOT NULL,
  remote text,
  received_at timestamptz NOT NULL DEFAULT now(),
  -- 'accepted' | 'ignored' | 'rejected' | 'error'
  status text NOT NULL,
  -- GatewayError code and reason for rejected/error messages
  error_code text,
  error_reason text,
  -- the stay (Encounter id) the message applied to
  stay_id text,
  -- the ACK code sent (AA, AE, AR)
  ack_code text,
  processed_at timestamptz,
  CONSTRAINT hl7_message_sender_control UNIQUE (sender, control_id)
);
CREATE INDEX hl7_message_status ON hl7_message (status, id);
CREATE INDEX hl7_message_stay ON hl7_message (stay_id);
