-- Repost clusters (issue 22): a review item remembers the SimHash cluster
-- of its ad, set when it is queued (storage.ReviewCluster). Items queued
-- before have none until their ad is queued again.
ALTER TABLE review_items ADD COLUMN cluster TEXT NOT NULL DEFAULT '';
-- Not partial: "cluster = ?" with a bound value cannot use an index
-- WHERE cluster != '', and the queue page counts each of its clusters.
CREATE INDEX IF NOT EXISTS review_cluster ON review_items(cluster, status);
