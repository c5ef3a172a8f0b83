CREATE TABLE `lab_results` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` integer NOT NULL,
	`arch` text NOT NULL,
	`accuracy` real NOT NULL,
	`macro_f1` real NOT NULL,
	`ece` real NOT NULL,
	`params` integer NOT NULL,
	`train_seconds` real NOT NULL,
	`images_per_second` real NOT NULL,
	`coverage_at_1pct_error` real NOT NULL,
	`report` text NOT NULL,
	`predicted` text NOT NULL,
	`confidence` text NOT NULL,
	`model_dir` text,
	`model_version_id` integer,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`run_id`) REFERENCES `lab_runs`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`model_version_id`) REFERENCES `model_versions`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `lab_results_run_arch_uq` ON `lab_results` (`run_id`,`arch`);--> statement-breakpoint
CREATE TABLE `lab_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`catalogue_id` integer NOT NULL,
	`job_id` integer,
	`requested_by` integer,
	`archs` text NOT NULL,
	`settings` text NOT NULL,
	`source` text,
	`train_count` integer,
	`test_item_ids` text,
	`test_labels` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`catalogue_id`) REFERENCES `catalogues`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`job_id`) REFERENCES `jobs`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`requested_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `lab_runs_catalogue_created_idx` ON `lab_runs` (`catalogue_id`,`created_at`);--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`payload` text NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`max_attempts` integer DEFAULT 3 NOT NULL,
	`lease_expiries` integer DEFAULT 0 NOT NULL,
	`progress` text,
	`error` text,
	`lease_owner` text,
	`lease_expires_at` integer,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`finished_at` integer,
	CONSTRAINT "jobs_kind_check" CHECK("__new_jobs"."kind" in ('import', 'score', 'train', 'evaluate', 'lab')),
	CONSTRAINT "jobs_status_check" CHECK("__new_jobs"."status" in ('queued', 'running', 'succeeded', 'failed'))
);
--> statement-breakpoint
INSERT INTO `__new_jobs`("id", "kind", "payload", "status", "attempts", "max_attempts", "lease_expiries", "progress", "error", "lease_owner", "lease_expires_at", "created_at", "updated_at", "finished_at") SELECT "id", "kind", "payload", "status", "attempts", "max_attempts", "lease_expiries", "progress", "error", "lease_owner", "lease_expires_at", "created_at", "updated_at", "finished_at" FROM `jobs`;--> statement-breakpoint
DROP TABLE `jobs`;--> statement-breakpoint
ALTER TABLE `__new_jobs` RENAME TO `jobs`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `jobs_status_created_idx` ON `jobs` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `jobs_kind_status_idx` ON `jobs` (`kind`,`status`);