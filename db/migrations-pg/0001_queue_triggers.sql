-- The queue triggers of db/migrations/0007_queue_triggers.sql, in PL/pgSQL: they keep
-- items.queue_* (the active model's confidence, margin and class, read by the queue's partial
-- indexes), queue_counts and reviewer_queue_counts right inside every writing transaction,
-- whichever code writes. Written by hand; drizzle-kit does not generate triggers.
CREATE FUNCTION loupe_predictions_queue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF EXISTS (SELECT 1 FROM model_versions WHERE id = OLD.model_version_id AND status = 'active') THEN
      UPDATE items SET queue_confidence = NULL, queue_margin = NULL, queue_class = NULL
      WHERE id = OLD.item_id AND status = 'needs_review';
    END IF;
    RETURN OLD;
  END IF;
  IF EXISTS (SELECT 1 FROM model_versions WHERE id = NEW.model_version_id AND status = 'active') THEN
    UPDATE items SET queue_confidence = NEW.confidence, queue_margin = NEW.margin, queue_class = NEW.predicted_class
    WHERE id = NEW.item_id AND status = 'needs_review';
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER predictions_queue_insert AFTER INSERT ON predictions
FOR EACH ROW EXECUTE FUNCTION loupe_predictions_queue();
--> statement-breakpoint
CREATE TRIGGER predictions_queue_update AFTER UPDATE OF confidence, margin, predicted_class, model_version_id ON predictions
FOR EACH ROW EXECUTE FUNCTION loupe_predictions_queue();
--> statement-breakpoint
CREATE TRIGGER predictions_queue_delete AFTER DELETE ON predictions
FOR EACH ROW EXECUTE FUNCTION loupe_predictions_queue();
--> statement-breakpoint
-- A model becomes the active one: the waiting items take its predictions (none yet: NULL, served after the scored ones).
CREATE FUNCTION loupe_model_versions_queue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'active' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'active') THEN
    UPDATE items i SET queue_confidence = p.confidence, queue_margin = p.margin, queue_class = p.predicted_class
    FROM (SELECT it.id, pr.confidence, pr.margin, pr.predicted_class
          FROM items it LEFT JOIN predictions pr ON pr.item_id = it.id AND pr.model_version_id = NEW.id
          WHERE it.catalogue_id = NEW.catalogue_id AND it.status = 'needs_review') p
    WHERE i.id = p.id;
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER model_versions_queue_insert AFTER INSERT ON model_versions
FOR EACH ROW EXECUTE FUNCTION loupe_model_versions_queue();
--> statement-breakpoint
CREATE TRIGGER model_versions_queue_activate AFTER UPDATE OF status ON model_versions
FOR EACH ROW EXECUTE FUNCTION loupe_model_versions_queue();
--> statement-breakpoint
-- An item (back) in the queue (routed, re-routed after a promotion, a decision undone) reads the
-- active model's prediction. BEFORE, so the row is written once with its queue columns.
CREATE FUNCTION loupe_items_queue_enter() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  found record;
BEGIN
  IF NEW.status = 'needs_review' AND OLD.status IS DISTINCT FROM 'needs_review' THEN
    SELECT p.confidence, p.margin, p.predicted_class INTO found FROM predictions p
    WHERE p.item_id = NEW.id AND p.model_version_id = (
      SELECT m.id FROM model_versions m WHERE m.catalogue_id = NEW.catalogue_id AND m.status = 'active');
    NEW.queue_confidence := found.confidence;
    NEW.queue_margin := found.margin;
    NEW.queue_class := found.predicted_class;
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER items_queue_enter BEFORE UPDATE OF status ON items
FOR EACH ROW EXECUTE FUNCTION loupe_items_queue_enter();
--> statement-breakpoint
-- The queue's size per catalogue.
CREATE FUNCTION loupe_items_queue_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'needs_review' THEN
    UPDATE queue_counts SET waiting = waiting - 1,
      waiting_audit = waiting_audit - (CASE WHEN OLD.routing_reason = 'audit' THEN 1 ELSE 0 END)
    WHERE catalogue_id = OLD.catalogue_id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'needs_review' THEN
    INSERT INTO queue_counts (catalogue_id, waiting, waiting_audit)
    VALUES (NEW.catalogue_id, 1, CASE WHEN NEW.routing_reason = 'audit' THEN 1 ELSE 0 END)
    ON CONFLICT (catalogue_id) DO UPDATE SET waiting = queue_counts.waiting + 1,
      waiting_audit = queue_counts.waiting_audit + excluded.waiting_audit;
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER items_queue_count_insert AFTER INSERT ON items
FOR EACH ROW WHEN (NEW.status = 'needs_review') EXECUTE FUNCTION loupe_items_queue_count();
--> statement-breakpoint
CREATE TRIGGER items_queue_count_delete AFTER DELETE ON items
FOR EACH ROW WHEN (OLD.status = 'needs_review') EXECUTE FUNCTION loupe_items_queue_count();
--> statement-breakpoint
CREATE TRIGGER items_queue_count_update AFTER UPDATE OF status, routing_reason, catalogue_id ON items
FOR EACH ROW WHEN (OLD.status = 'needs_review' OR NEW.status = 'needs_review') EXECUTE FUNCTION loupe_items_queue_count();
--> statement-breakpoint
-- Each reviewer's reviews per catalogue (reviews are append-only; a delete is a cascade).
CREATE FUNCTION loupe_reviews_queue_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO reviewer_queue_counts (reviewer_id, catalogue_id, reviews)
    SELECT NEW.reviewer_id, i.catalogue_id, 1 FROM items i WHERE i.id = NEW.item_id
    ON CONFLICT (reviewer_id, catalogue_id) DO UPDATE SET reviews = reviewer_queue_counts.reviews + 1;
  ELSE
    UPDATE reviewer_queue_counts SET reviews = reviews - 1
    WHERE reviewer_id = OLD.reviewer_id AND catalogue_id = (SELECT catalogue_id FROM items WHERE id = OLD.item_id);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER reviews_queue_count_insert AFTER INSERT ON reviews
FOR EACH ROW EXECUTE FUNCTION loupe_reviews_queue_count();
--> statement-breakpoint
CREATE TRIGGER reviews_queue_count_delete AFTER DELETE ON reviews
FOR EACH ROW EXECUTE FUNCTION loupe_reviews_queue_count();
