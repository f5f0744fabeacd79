-- A disconnected number whose due purge a legal hold keeps waiting (state `held`): the hold,
-- and when the purge first found it. Set and audited once by the purge, cleared when the hold
-- is released (or the purge goes on), so the settings and the holds page can show it.
ALTER TABLE channels ADD COLUMN purge_hold_id UUID;
ALTER TABLE channels ADD COLUMN purge_held_at BIGINT;

-- The keyword confirmations in each language the tenant wrote them in: JSON
-- {"opt_out": {"en": …, "tr": …}, "opt_in": {…}}. A language without its own text falls back
-- to opt_out_reply / opt_in_reply (every language), then to the built-in text.
ALTER TABLE privacy_settings ADD COLUMN replies TEXT;
