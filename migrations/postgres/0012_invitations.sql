-- Invitations: an admin invites a person by e-mail with a role; the link carries a random token
-- of which only the SHA-256 is stored. Single use (accepted_at), revocable (revoked_at),
-- expires_at seven days after creation. The e-mail is sealed under the tenant key and blind
-- indexed like users.email. Opening the link looks the token up before the tenant is known: a
-- platform-wide entry point, as sessions are.
CREATE TABLE invitations (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    token_hash BYTEA NOT NULL,
    email_sealed BYTEA NOT NULL,
    email_index BYTEA NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'supervisor', 'agent', 'analyst')),
    invited_by UUID,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    accepted_at BIGINT,
    accepted_user_id UUID,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX invitations_token ON invitations (token_hash);
