-- Edited by hand after drizzle-kit generate: the generated copy selected the new reverts_review_id column from the old table, which lacks it.
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_reviews` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`item_id` integer NOT NULL,
	`reviewer_id` integer NOT NULL,
	`model_version_id` integer,
	`model_label` integer,
	`chosen_label` integer,
	`action` text NOT NULL,
	`duration_ms` integer NOT NULL,
	`client_id` text NOT NULL,
	`reverts_review_id` integer,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`item_id`) REFERENCES `items`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`reviewer_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`model_version_id`) REFERENCES `model_versions`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`reverts_review_id`) REFERENCES `reviews`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "reviews_action_check" CHECK("__new_reviews"."action" in ('confirm', 'correct', 'skip', 'unsure', 'undo')),
	CONSTRAINT "reviews_undo_target_check" CHECK(("__new_reviews"."action" = 'undo') = ("__new_reviews"."reverts_review_id" is not null)),
	CONSTRAINT "reviews_duration_check" CHECK("__new_reviews"."duration_ms" >= 0)
);
--> statement-breakpoint
INSERT INTO `__new_reviews`("id", "item_id", "reviewer_id", "model_version_id", "model_label", "chosen_label", "action", "duration_ms", "client_id", "created_at") SELECT "id", "item_id", "reviewer_id", "model_version_id", "model_label", "chosen_label", "action", "duration_ms", "client_id", "created_at" FROM `reviews`;--> statement-breakpoint
DROP TABLE `reviews`;--> statement-breakpoint
ALTER TABLE `__new_reviews` RENAME TO `reviews`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `reviews_client_id_unique` ON `reviews` (`client_id`);--> statement-breakpoint
CREATE INDEX `reviews_item_created_idx` ON `reviews` (`item_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `reviews_reviewer_created_idx` ON `reviews` (`reviewer_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `reviews_created_idx` ON `reviews` (`created_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `reviews_reverts_review_uq` ON `reviews` (`reverts_review_id`);