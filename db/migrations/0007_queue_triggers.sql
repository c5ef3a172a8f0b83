-- Keeps items.queue_* (the active model's confidence, margin and class, read by the queue's
-- partial indexes), queue_counts and reviewer_queue_counts right inside every writing transaction,
-- whichever code writes: scoring, routing, decisions, undo, promotion. See db/schema/items.ts.
-- A prediction of the active model written or changed: a waiting item's queue order follows it
-- (items not waiting are left alone: their copy is read only once they enter the queue, below).
CREATE TRIGGER `predictions_queue_insert` AFTER INSERT ON `predictions`
WHEN EXISTS (SELECT 1 FROM `model_versions` WHERE `id` = new.`model_version_id` AND `status` = 'active')
BEGIN
  UPDATE `items` SET `queue_confidence` = new.`confidence`, `queue_margin` = new.`margin`, `queue_class` = new.`predicted_class`
  WHERE `id` = new.`item_id` AND `status` = 'needs_review';
END;
--> statement-breakpoint
CREATE TRIGGER `predictions_queue_update` AFTER UPDATE OF `confidence`, `margin`, `predicted_class`, `model_version_id` ON `predictions`
WHEN EXISTS (SELECT 1 FROM `model_versions` WHERE `id` = new.`model_version_id` AND `status` = 'active')
BEGIN
  UPDATE `items` SET `queue_confidence` = new.`confidence`, `queue_margin` = new.`margin`, `queue_class` = new.`predicted_class`
  WHERE `id` = new.`item_id` AND `status` = 'needs_review';
END;
--> statement-breakpoint
CREATE TRIGGER `predictions_queue_delete` AFTER DELETE ON `predictions`
WHEN EXISTS (SELECT 1 FROM `model_versions` WHERE `id` = old.`model_version_id` AND `status` = 'active')
BEGIN
  UPDATE `items` SET `queue_confidence` = NULL, `queue_margin` = NULL, `queue_class` = NULL
  WHERE `id` = old.`item_id` AND `status` = 'needs_review';
END;
--> statement-breakpoint
-- A model becomes the active one: the waiting items take its predictions (none yet: NULL, served after the scored ones).
CREATE TRIGGER `model_versions_queue_insert` AFTER INSERT ON `model_versions`
WHEN new.`status` = 'active'
BEGIN
  UPDATE `items` SET (`queue_confidence`, `queue_margin`, `queue_class`) = (
    SELECT p.`confidence`, p.`margin`, p.`predicted_class` FROM `predictions` p
    WHERE p.`item_id` = `items`.`id` AND p.`model_version_id` = new.`id`)
  WHERE `catalogue_id` = new.`catalogue_id` AND `status` = 'needs_review';
END;
--> statement-breakpoint
CREATE TRIGGER `model_versions_queue_activate` AFTER UPDATE OF `status` ON `model_versions`
WHEN new.`status` = 'active' AND old.`status` IS NOT 'active'
BEGIN
  UPDATE `items` SET (`queue_confidence`, `queue_margin`, `queue_class`) = (
    SELECT p.`confidence`, p.`margin`, p.`predicted_class` FROM `predictions` p
    WHERE p.`item_id` = `items`.`id` AND p.`model_version_id` = new.`id`)
  WHERE `catalogue_id` = new.`catalogue_id` AND `status` = 'needs_review';
END;
--> statement-breakpoint
-- An item (back) in the queue (routed, re-routed after a promotion, a decision undone) reads the active model's prediction.
CREATE TRIGGER `items_queue_enter` AFTER UPDATE OF `status` ON `items`
WHEN new.`status` = 'needs_review' AND old.`status` IS NOT 'needs_review'
BEGIN
  UPDATE `items` SET (`queue_confidence`, `queue_margin`, `queue_class`) = (
    SELECT p.`confidence`, p.`margin`, p.`predicted_class` FROM `predictions` p
    WHERE p.`item_id` = new.`id` AND p.`model_version_id` = (
      SELECT m.`id` FROM `model_versions` m WHERE m.`catalogue_id` = new.`catalogue_id` AND m.`status` = 'active'))
  WHERE `id` = new.`id`;
END;
--> statement-breakpoint
-- The queue's size per catalogue.
CREATE TRIGGER `items_queue_count_insert` AFTER INSERT ON `items`
WHEN new.`status` = 'needs_review'
BEGIN
  INSERT INTO `queue_counts` (`catalogue_id`, `waiting`, `waiting_audit`)
  VALUES (new.`catalogue_id`, 1, new.`routing_reason` IS 'audit')
  ON CONFLICT (`catalogue_id`) DO UPDATE SET `waiting` = `waiting` + 1, `waiting_audit` = `waiting_audit` + excluded.`waiting_audit`;
END;
--> statement-breakpoint
CREATE TRIGGER `items_queue_count_delete` AFTER DELETE ON `items`
WHEN old.`status` = 'needs_review'
BEGIN
  UPDATE `queue_counts` SET `waiting` = `waiting` - 1, `waiting_audit` = `waiting_audit` - (old.`routing_reason` IS 'audit')
  WHERE `catalogue_id` = old.`catalogue_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `items_queue_count_leave` AFTER UPDATE OF `status`, `routing_reason`, `catalogue_id` ON `items`
WHEN old.`status` = 'needs_review'
BEGIN
  UPDATE `queue_counts` SET `waiting` = `waiting` - 1, `waiting_audit` = `waiting_audit` - (old.`routing_reason` IS 'audit')
  WHERE `catalogue_id` = old.`catalogue_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `items_queue_count_join` AFTER UPDATE OF `status`, `routing_reason`, `catalogue_id` ON `items`
WHEN new.`status` = 'needs_review'
BEGIN
  INSERT INTO `queue_counts` (`catalogue_id`, `waiting`, `waiting_audit`)
  VALUES (new.`catalogue_id`, 1, new.`routing_reason` IS 'audit')
  ON CONFLICT (`catalogue_id`) DO UPDATE SET `waiting` = `waiting` + 1, `waiting_audit` = `waiting_audit` + excluded.`waiting_audit`;
END;
--> statement-breakpoint
-- Each reviewer's reviews per catalogue (reviews are append-only; a delete is a cascade).
CREATE TRIGGER `reviews_queue_count_insert` AFTER INSERT ON `reviews`
BEGIN
  INSERT INTO `reviewer_queue_counts` (`reviewer_id`, `catalogue_id`, `reviews`)
  SELECT new.`reviewer_id`, i.`catalogue_id`, 1 FROM `items` i WHERE i.`id` = new.`item_id`
  ON CONFLICT (`reviewer_id`, `catalogue_id`) DO UPDATE SET `reviews` = `reviews` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `reviews_queue_count_delete` AFTER DELETE ON `reviews`
BEGIN
  UPDATE `reviewer_queue_counts` SET `reviews` = `reviews` - 1
  WHERE `reviewer_id` = old.`reviewer_id` AND `catalogue_id` = (SELECT `catalogue_id` FROM `items` WHERE `id` = old.`item_id`);
END;
--> statement-breakpoint
-- Backfill.
UPDATE `items` SET (`queue_confidence`, `queue_margin`, `queue_class`) = (
  SELECT p.`confidence`, p.`margin`, p.`predicted_class` FROM `predictions` p
  JOIN `model_versions` m ON m.`id` = p.`model_version_id` AND m.`status` = 'active'
  WHERE p.`item_id` = `items`.`id`)
WHERE `status` = 'needs_review';
--> statement-breakpoint
INSERT INTO `queue_counts` (`catalogue_id`, `waiting`, `waiting_audit`)
SELECT `catalogue_id`, count(*), coalesce(sum(`routing_reason` IS 'audit'), 0) FROM `items`
WHERE `status` = 'needs_review' GROUP BY `catalogue_id`;
--> statement-breakpoint
INSERT INTO `reviewer_queue_counts` (`reviewer_id`, `catalogue_id`, `reviews`)
SELECT r.`reviewer_id`, i.`catalogue_id`, count(*) FROM `reviews` r JOIN `items` i ON i.`id` = r.`item_id`
GROUP BY r.`reviewer_id`, i.`catalogue_id`;
