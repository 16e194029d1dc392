-- Every run of a discovery command (recon_catalog): from process creation (a renamed binary is
-- known by its OriginalFileName; net1.exe started by net.exe counts once) and from PowerShell
-- that calls it where a statement starts (a line, or after ; | { ( & =), so that the words of
-- comments and strings do not count. A bare "net" in PowerShell is not counted (too common a
-- word).
WITH named AS (
  SELECT *, replace(stem, 'net1', 'net') AS command_stem
  FROM process_creation
  WHERE NOT (stem = 'net1' AND parent_name = 'net.exe')
),
processes AS (
  SELECT n.time, n.host, n.computer, n.event_id, n.seen_in, n.source_file, n.source_sha256,
    n.record_ref, n.account, n.image, n.command_line, n.parent_image, n.parent_name,
    n.process_key, n.parent_key,
    coalesce(c2.command, c1.command) AS command,
    coalesce(c2.techniques, c1.techniques) AS techniques
  FROM named n
  LEFT JOIN recon_catalog c2 ON c2.command = n.command_stem || ' ' || n.first_arg
  LEFT JOIN recon_catalog c1 ON c1.command = n.command_stem
  WHERE coalesce(c2.command, c1.command) IS NOT NULL
),
tokens AS (
  SELECT s.*,
    replace(regexp_replace(regexp_replace(lower(t), '\.exe', ''), '\s+', ' ', 'g'),
            'net1', 'net') AS token
  FROM script_blocks s,
    unnest(regexp_extract_all(s.text,
      '(?im)(?:^[ \t]*|[;|{(&=][ \t]*)((?:net1?|reg|sc|query)(?:\.exe)?[ \t]+[a-z]+|[a-z]+)(?:\.exe)?\b',
      1)) AS u(t)
),
scripts AS (
  SELECT DISTINCT ON (t.source_sha256, t.record_ref, c.command)
    t.time, t.host, t.computer, t.event_id, t.seen_in, t.source_file, t.source_sha256,
    t.record_ref, t.account, NULL AS image, left(t.text, 300) AS command_line,
    NULL AS parent_image, NULL AS parent_name, NULL AS process_key, NULL AS parent_key,
    c.command, c.techniques
  FROM tokens t JOIN recon_catalog c ON c.command = t.token
  WHERE c.command <> 'net'
)
SELECT * FROM processes
UNION ALL BY NAME
SELECT * FROM scripts
