-- Schema version 2: one ad per page (issue 19).
--
-- Version 1 named an ad by its source and URL, so a page found by two
-- sources (a board's listing and its RSS feed) was two ads. From version 2
-- an ad with its own page is named by its URL alone (lokerwatch.PageAdID);
-- ads stored before keep their IDs (review items, decisions and evidence
-- name them), and ad_urls sends later sightings of their URL to them: of
-- the ads that share a URL, the one with a decided review item, then one
-- with any review item, then the first seen. The others stay as they
-- were; nothing is deleted.

ALTER TABLE ads ADD COLUMN own_page INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ads ADD COLUMN removed_at INTEGER NOT NULL DEFAULT 0;
UPDATE ads SET own_page = 1
	WHERE COALESCE(json_extract(data, '$.page_url'), '') IN ('', COALESCE(json_extract(data, '$.url'), ''));

-- Every source that found an ad, with when.
CREATE TABLE ad_sources (
	ad_id      TEXT NOT NULL REFERENCES ads(id) ON DELETE CASCADE,
	source     TEXT NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	PRIMARY KEY (ad_id, source)
) WITHOUT ROWID;
INSERT INTO ad_sources (ad_id, source, first_seen, last_seen) SELECT id, source, first_seen, last_seen FROM ads;

-- URLs of ads stored under a version-1 ID.
CREATE TABLE ad_urls (
	url   TEXT PRIMARY KEY,
	ad_id TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO ad_urls (url, ad_id)
	SELECT url, id FROM (
		SELECT json_extract(a.data, '$.url') AS url, a.id AS id,
			ROW_NUMBER() OVER (PARTITION BY json_extract(a.data, '$.url')
				ORDER BY (r.id IS NULL), (COALESCE(r.status, '') != 'decided'), a.first_seen, a.id) AS n
		FROM ads a LEFT JOIN review_items r ON r.ad_id = a.id
		WHERE COALESCE(json_extract(a.data, '$.url'), '') != '' AND instr(json_extract(a.data, '$.url'), '#') = 0
	) WHERE n = 1;

-- Links crawls left out by a crawl limit, per source and reason (status).
CREATE TABLE dropped_links (
	source TEXT NOT NULL,
	reason TEXT NOT NULL,
	n      INTEGER NOT NULL,
	PRIMARY KEY (source, reason)
) WITHOUT ROWID;
