CREATE TABLE `catalogues` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`slug` text NOT NULL,
	`name` text NOT NULL,
	`class_names` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `catalogues_slug_unique` ON `catalogues` (`slug`);--> statement-breakpoint
CREATE TABLE `imports` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`catalogue_id` integer NOT NULL,
	`kind` text NOT NULL,
	`source` text NOT NULL,
	`file_hash` text,
	`item_count` integer NOT NULL,
	`inserted_count` integer DEFAULT 0 NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`catalogue_id`) REFERENCES `catalogues`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "imports_kind_check" CHECK("imports"."kind" in ('idx', 'csv', 'images'))
);
--> statement-breakpoint
CREATE INDEX `imports_catalogue_created_idx` ON `imports` (`catalogue_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `settings` (
	`catalogue_id` integer PRIMARY KEY NOT NULL,
	`threshold` real DEFAULT 0.9 NOT NULL,
	`per_class_thresholds` text DEFAULT '{}' NOT NULL,
	`audit_rate` real DEFAULT 0.02 NOT NULL,
	`retrain_policy` text DEFAULT '{"minNewLabels":200,"enabled":true}' NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_by` integer,
	FOREIGN KEY (`catalogue_id`) REFERENCES `catalogues`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`updated_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `settings_changes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`catalogue_id` integer NOT NULL,
	`user_id` integer,
	`field` text NOT NULL,
	`old_value` text,
	`new_value` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`catalogue_id`) REFERENCES `catalogues`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `settings_changes_catalogue_created_idx` ON `settings_changes` (`catalogue_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `items` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`catalogue_id` integer NOT NULL,
	`pixels` blob NOT NULL,
	`content_hash` text NOT NULL,
	`source` text NOT NULL,
	`source_row` integer NOT NULL,
	`external_id` text,
	`import_label` integer,
	`current_label` integer,
	`label_source` text,
	`status` text DEFAULT 'unscored' NOT NULL,
	`eval_role` text,
	`import_id` integer,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`catalogue_id`) REFERENCES `catalogues`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`import_id`) REFERENCES `imports`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "items_pixels_length_check" CHECK(length("items"."pixels") = 784),
	CONSTRAINT "items_import_label_check" CHECK("items"."import_label" is null or "items"."import_label" >= 0),
	CONSTRAINT "items_current_label_check" CHECK("items"."current_label" is null or "items"."current_label" >= 0),
	CONSTRAINT "items_status_check" CHECK("items"."status" in ('unscored', 'auto_accepted', 'needs_review', 'reviewed')),
	CONSTRAINT "items_label_source_check" CHECK("items"."label_source" is null or "items"."label_source" in ('model', 'human', 'import')),
	CONSTRAINT "items_eval_role_check" CHECK("items"."eval_role" is null or "items"."eval_role" in ('holdout', 'gold'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `items_catalogue_source_row_uq` ON `items` (`catalogue_id`,`source`,`source_row`);--> statement-breakpoint
CREATE INDEX `items_catalogue_status_idx` ON `items` (`catalogue_id`,`status`,`id`);--> statement-breakpoint
CREATE INDEX `items_catalogue_label_idx` ON `items` (`catalogue_id`,`current_label`,`id`);--> statement-breakpoint
CREATE INDEX `items_catalogue_eval_role_idx` ON `items` (`catalogue_id`,`eval_role`) WHERE "items"."eval_role" is not null;--> statement-breakpoint
CREATE INDEX `items_catalogue_content_hash_idx` ON `items` (`catalogue_id`,`content_hash`);--> statement-breakpoint
CREATE INDEX `items_import_idx` ON `items` (`import_id`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`payload` text NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`max_attempts` integer DEFAULT 3 NOT NULL,
	`progress` text,
	`error` text,
	`lease_owner` text,
	`lease_expires_at` integer,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`finished_at` integer,
	CONSTRAINT "jobs_kind_check" CHECK("jobs"."kind" in ('import', 'score', 'train', 'evaluate')),
	CONSTRAINT "jobs_status_check" CHECK("jobs"."status" in ('queued', 'running', 'succeeded', 'failed'))
);
--> statement-breakpoint
CREATE INDEX `jobs_status_created_idx` ON `jobs` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `jobs_kind_status_idx` ON `jobs` (`kind`,`status`);--> statement-breakpoint
CREATE TABLE `model_versions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`catalogue_id` integer NOT NULL,
	`name` text NOT NULL,
	`arch` text NOT NULL,
	`parent_id` integer,
	`weights_path` text NOT NULL,
	`temperature` real DEFAULT 1 NOT NULL,
	`metrics` text,
	`status` text DEFAULT 'candidate' NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`promoted_at` integer,
	FOREIGN KEY (`catalogue_id`) REFERENCES `catalogues`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`parent_id`) REFERENCES `model_versions`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "model_versions_status_check" CHECK("model_versions"."status" in ('candidate', 'active', 'rejected', 'retired'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `model_versions_catalogue_name_uq` ON `model_versions` (`catalogue_id`,`name`);--> statement-breakpoint
CREATE INDEX `model_versions_catalogue_status_idx` ON `model_versions` (`catalogue_id`,`status`);--> statement-breakpoint
CREATE UNIQUE INDEX `model_versions_one_active_uq` ON `model_versions` (`catalogue_id`) WHERE "model_versions"."status" = 'active';--> statement-breakpoint
CREATE TABLE `predictions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`item_id` integer NOT NULL,
	`model_version_id` integer NOT NULL,
	`probs` text NOT NULL,
	`predicted_class` integer NOT NULL,
	`confidence` real NOT NULL,
	`margin` real NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`item_id`) REFERENCES `items`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`model_version_id`) REFERENCES `model_versions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `predictions_item_model_uq` ON `predictions` (`item_id`,`model_version_id`);--> statement-breakpoint
CREATE INDEX `predictions_model_confidence_idx` ON `predictions` (`model_version_id`,`confidence`);--> statement-breakpoint
CREATE TABLE `leases` (
	`item_id` integer PRIMARY KEY NOT NULL,
	`reviewer_id` integer NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`item_id`) REFERENCES `items`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`reviewer_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `leases_reviewer_idx` ON `leases` (`reviewer_id`);--> statement-breakpoint
CREATE INDEX `leases_expires_idx` ON `leases` (`expires_at`);--> statement-breakpoint
CREATE TABLE `reviews` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`item_id` integer NOT NULL,
	`reviewer_id` integer NOT NULL,
	`model_version_id` integer,
	`model_label` integer,
	`chosen_label` integer,
	`action` text NOT NULL,
	`duration_ms` integer NOT NULL,
	`client_id` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`item_id`) REFERENCES `items`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`reviewer_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`model_version_id`) REFERENCES `model_versions`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "reviews_action_check" CHECK("reviews"."action" in ('confirm', 'correct', 'skip', 'unsure')),
	CONSTRAINT "reviews_duration_check" CHECK("reviews"."duration_ms" >= 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `reviews_client_id_unique` ON `reviews` (`client_id`);--> statement-breakpoint
CREATE INDEX `reviews_item_created_idx` ON `reviews` (`item_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `reviews_reviewer_created_idx` ON `reviews` (`reviewer_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `reviews_created_idx` ON `reviews` (`created_at`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`email` text NOT NULL,
	`name` text NOT NULL,
	`password_hash` text NOT NULL,
	`role` text DEFAULT 'reviewer' NOT NULL,
	`disabled` integer DEFAULT false NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	CONSTRAINT "users_role_check" CHECK("users"."role" in ('reviewer', 'admin', 'ops'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_email_unique` ON `users` (`email`);