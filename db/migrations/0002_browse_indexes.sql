DROP INDEX `predictions_model_confidence_idx`;--> statement-breakpoint
CREATE INDEX `predictions_model_class_confidence_idx` ON `predictions` (`model_version_id`,`predicted_class`,`confidence`,`item_id`);--> statement-breakpoint
CREATE INDEX `predictions_model_confidence_idx` ON `predictions` (`model_version_id`,`confidence`,`item_id`);--> statement-breakpoint
CREATE INDEX `items_catalogue_id_idx` ON `items` (`catalogue_id`,`id`);--> statement-breakpoint
CREATE INDEX `items_catalogue_label_source_idx` ON `items` (`catalogue_id`,`label_source`,`id`);