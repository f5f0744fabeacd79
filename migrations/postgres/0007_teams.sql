-- Teams: groups of agents a conversation can be assigned to (besides or instead of one agent),
-- and a folder of the inbox. Same tables, columns and index names on both databases. Team
-- names are the organisation's own words, not personal data: stored in clear.

CREATE TABLE teams (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX teams_name ON teams (tenant_id, name);

CREATE TABLE team_members (
    tenant_id UUID NOT NULL,
    team_id UUID NOT NULL,
    user_id UUID NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, team_id, user_id),
    FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX team_members_user ON team_members (tenant_id, user_id);

-- The team a conversation belongs to (the team folder of the inbox).
ALTER TABLE conversations ADD COLUMN team_id UUID;
CREATE INDEX conversations_team ON conversations (tenant_id, team_id, last_message_at);

-- Activity lines "assigned to team …": the team, like target_user_id holds the agent.
ALTER TABLE conversation_activity ADD COLUMN target_team_id UUID;
