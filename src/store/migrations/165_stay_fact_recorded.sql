-- The order in which the gateway recorded the facts of a stay. Two facts of the same kind at the same instant (a
-- death reported twice, by an A03 with PV1-36 `20` and by an A08 with PID-29) ordered by their ids let a later copy
-- whose id sorts first take the place of the first one (and the key of the Task it made). The fact store stamps each
-- new fact's body with `recorded`, the next value of this sequence, and the engine orders such facts by it
-- (src/core/engine/sort-facts.ts): the first recorded stays first. Facts stored before have no `recorded` and count
-- as recorded before every later one.
CREATE SEQUENCE IF NOT EXISTS stay_fact_recorded;
