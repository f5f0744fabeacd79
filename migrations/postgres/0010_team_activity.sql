-- The name a team had when an activity line was written about it: a deleted team's lines
-- ("removed from team X") still name it. Team names are not personal data.
ALTER TABLE conversation_activity ADD COLUMN target_team_name TEXT;
