-- Text search at a million leads. `q` on the lead and contact lists is a
-- case-insensitive substring match; as `LOWER(column) LIKE '%text%'` it reads
-- every row of the organization when few match (519 ms p95 for
-- `/leads?q=cloud` on the 1M-lead data set). A trigram index answers a
-- substring of three characters or more from the index: FTS5 with the
-- trigram tokenizer (case-insensitive), holding no text of its own
-- (external content: it reads the table's row when it needs one), kept in
-- step by the triggers below. Shorter texts still scan. PostgreSQL keeps the
-- scan (a parallel sequential scan; pg_trgm is its equivalent, an extension
-- a deployment may not be allowed to create).
CREATE VIRTUAL TABLE leads_search USING fts5 (
    title, content = 'leads', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO leads_search (leads_search) VALUES ('rebuild');
CREATE TRIGGER leads_search_insert AFTER INSERT ON leads BEGIN
    INSERT INTO leads_search (rowid, title) VALUES (new.id, new.title);
END;
CREATE TRIGGER leads_search_delete AFTER DELETE ON leads BEGIN
    INSERT INTO leads_search (leads_search, rowid, title) VALUES ('delete', old.id, old.title);
END;
CREATE TRIGGER leads_search_update AFTER UPDATE OF title ON leads BEGIN
    INSERT INTO leads_search (leads_search, rowid, title) VALUES ('delete', old.id, old.title);
    INSERT INTO leads_search (rowid, title) VALUES (new.id, new.title);
END;

CREATE VIRTUAL TABLE contacts_search USING fts5 (
    first_name, last_name, email, company,
    content = 'contacts', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO contacts_search (contacts_search) VALUES ('rebuild');
CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_search (rowid, first_name, last_name, email, company)
    VALUES (new.id, new.first_name, new.last_name, new.email, new.company);
END;
CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_search (contacts_search, rowid, first_name, last_name, email, company)
    VALUES ('delete', old.id, old.first_name, old.last_name, old.email, old.company);
END;
CREATE TRIGGER contacts_search_update AFTER UPDATE OF first_name, last_name, email, company ON contacts BEGIN
    INSERT INTO contacts_search (contacts_search, rowid, first_name, last_name, email, company)
    VALUES ('delete', old.id, old.first_name, old.last_name, old.email, old.company);
    INSERT INTO contacts_search (rowid, first_name, last_name, email, company)
    VALUES (new.id, new.first_name, new.last_name, new.email, new.company);
END;
