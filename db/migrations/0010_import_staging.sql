CREATE TABLE `import_rows` (
	`import_id` integer NOT NULL,
	`seq` integer NOT NULL,
	`pixels` blob NOT NULL,
	`content_hash` text NOT NULL,
	`source` text NOT NULL,
	`source_row` integer NOT NULL,
	`external_id` text,
	`label` integer,
	`eval_role` text,
	PRIMARY KEY(`import_id`, `seq`),
	FOREIGN KEY (`import_id`) REFERENCES `imports`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `imports` ADD `state` text DEFAULT 'done' NOT NULL;--> statement-breakpoint
ALTER TABLE `imports` ADD `staged_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `imports` ADD `heartbeat_at` integer;--> statement-breakpoint
CREATE INDEX `imports_unfinished_idx` ON `imports` (`catalogue_id`,`id`) WHERE "imports"."state" <> 'done';