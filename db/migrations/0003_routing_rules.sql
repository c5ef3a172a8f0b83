ALTER TABLE `settings` ADD `gold_rate` real DEFAULT 0.05 NOT NULL;--> statement-breakpoint
ALTER TABLE `items` ADD `routing_reason` text;--> statement-breakpoint
CREATE INDEX `items_catalogue_audit_idx` ON `items` (`catalogue_id`,`id`) WHERE "items"."routing_reason" = 'audit';--> statement-breakpoint
-- Items already waiting for review went there by confidence (model labels) or by disagreement (import labels).
UPDATE `items` SET `routing_reason` = CASE `label_source` WHEN 'import' THEN 'disagreement' ELSE 'confidence' END WHERE `status` = 'needs_review' AND `eval_role` IS NULL;
