-- Retention finds messages past the two-year cap by their creation time without a scan.
CREATE INDEX messages_created ON messages (tenant_id, created_at);
