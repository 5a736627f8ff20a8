-- The revocation state of sealed-cookie sessions (storage.Revocations),
-- in tables of its own: nothing that reads or ends sessions reaches it.
-- It needs nothing of the sessions table, so it applies before or after
-- any other migration. IDs and subjects are bytea, byte for byte as given.
CREATE TABLE {{schema}}.keycard_denied_ids (
	id    bytea       NOT NULL PRIMARY KEY, -- the public ID of an ended sealed session
	until timestamptz NOT NULL              -- kept until then: the latest of the denials
);
CREATE INDEX keycard_denied_ids_until ON {{schema}}.keycard_denied_ids (until);

CREATE TABLE {{schema}}.keycard_generations (
	subject   bytea       NOT NULL PRIMARY KEY,
	n         bigint      NOT NULL,          -- the current generation: sessions sealed under an earlier one are ended
	except_id bytea       NOT NULL,          -- except this one, spared by the latest RevokeSubject ('' none)
	until     timestamptz NOT NULL
);
CREATE INDEX keycard_generations_until ON {{schema}}.keycard_generations (until);

-- A subject whose row was dropped starts its next generation here, above
-- every generation the schema handed out before.
CREATE SEQUENCE {{schema}}.keycard_generation_seq AS bigint;
