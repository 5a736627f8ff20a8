-- Version 3 of keycard_sessions: the value changes that Merge applied
-- without rewriting data. pending_keys[i] is a key the application set
-- to the JSON value pending_values[i], or deleted when pending_values[i]
-- is NULL, in the order they were merged; both are NULL when nothing was
-- merged since data was last written whole. A record's values are data
-- with these changes applied in order (what storage.MergeData does); every
-- write of the whole record stores that and sets both columns NULL again.
-- Adding columns without a default rewrites no row.
ALTER TABLE {{schema}}.keycard_sessions ADD COLUMN pending_keys bytea[], ADD COLUMN pending_values bytea[];
