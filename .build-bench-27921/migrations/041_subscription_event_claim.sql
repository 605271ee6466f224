-- An event handed straight to a delivery worker in the process that recorded it (no BullMQ job) is claimed
-- until this time: the delivery reconciler leaves it alone until then, and adds a job for it afterwards if it is
-- still queued (the process died before delivering it).
ALTER TABLE subscription_event ADD COLUMN claimed_until timestamptz;
