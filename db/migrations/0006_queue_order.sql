CREATE TABLE `queue_counts` (
	`catalogue_id` integer PRIMARY KEY NOT NULL,
	`waiting` integer DEFAULT 0 NOT NULL,
	`waiting_audit` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`catalogue_id`) REFERENCES `catalogues`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `reviewer_queue_counts` (
	`reviewer_id` integer NOT NULL,
	`catalogue_id` integer NOT NULL,
	`reviews` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`reviewer_id`, `catalogue_id`),
	FOREIGN KEY (`reviewer_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`catalogue_id`) REFERENCES `catalogues`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `items` ADD `queue_confidence` real;--> statement-breakpoint
ALTER TABLE `items` ADD `queue_margin` real;--> statement-breakpoint
ALTER TABLE `items` ADD `queue_class` integer;--> statement-breakpoint
CREATE INDEX `items_queue_idx` ON `items` (`catalogue_id`,`queue_confidence`,`queue_margin`,`id`) WHERE "items"."status" = 'needs_review';--> statement-breakpoint
CREATE INDEX `items_queue_class_idx` ON `items` (`catalogue_id`,`queue_class`,"queue_confidence" desc,`id`) WHERE "items"."status" = 'needs_review';