-- The fold cache keeps a stay's two parts apart, so the indicators read only their small part (about a quarter of
-- the fold) and the liability only its own. `body` now holds the liability's stay, `indicator` the indicators' row.
-- The table is a cache: emptied here, every stay is folded again on its next run (FOLD_VERSION 2).
TRUNCATE stay_fold;
ALTER TABLE stay_fold ADD COLUMN indicator text NOT NULL DEFAULT '';
ALTER TABLE stay_fold ALTER COLUMN indicator DROP DEFAULT;
