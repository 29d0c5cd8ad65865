DROP TRIGGER audit_events_webhooks ON audit_events;
DROP FUNCTION steward_webhook_queue();
DROP FUNCTION steward_webhook_matches(text[], text);
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
