-- Provider message ids are looked up only for SMS delivery receipts. The
-- index on every message (push and email too, and a NULL entry for each
-- message still queued) cost an index write per message on the bulk path;
-- now it holds only SMS messages a provider has accepted.
DROP INDEX messages_provider_id;
CREATE INDEX messages_provider_id ON messages(provider, provider_message_id)
  WHERE channel = 'sms' AND provider_message_id IS NOT NULL;
